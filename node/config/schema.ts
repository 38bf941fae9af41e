import { isLoopback } from "../metrics.js";
import { z } from "zod";
import { HUB_ID_PATTERN, type HubId, isHubId, isPeerId, PEER_ID_PATTERN, type PeerId } from "../ids.js";
import { quote, textRule, TextKind } from "../text.js";

export { HUB_ID_PATTERN };

const PEER_ID = PEER_ID_PATTERN;
const PEER_ID_MESSAGE = "must be an Ed25519 libp2p peer id (12D3KooW…)";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const tlsSchema = z
  .object({
    cert: z.string().min(1).describe("PEM certificate chain file"),
    key: z.string().min(1).describe("PEM private key file"),
  })
  .strict();

/**
 * The node's configuration. Every key has a documented default, so a config file needs only what
 * differs. Unknown keys are errors: a typo must not pass silently. The doc comment of each key
 * is its entry in docs/configuration.md, which `npm run docs:config` generates from this file and
 * ENV_OVERRIDES (load.ts); a test fails when the committed page differs.
 */
export const configSchema = z
  .object({
    hub: z
      .object({
        /** Stable hub id: 2–63 of `a-z 0-9 -`; it cannot change once the data directory exists. */
        id: z
          .string()
          .regex(HUB_ID_PATTERN, "must be 2-63 characters of a-z, 0-9 and '-', starting with a letter or digit")
          .pipe(z.custom<HubId>(isHubId)),
        /** The hub's name, shown to people (other hubs, reports). */
        name: z.string().trim().min(1, "must not be empty").max(200).superRefine(textRule(TextKind.Line)),
        /** `hub`, or `secretariat` for the node that owns the charter and the global core. */
        role: z.enum(["hub", "secretariat"]).default("hub"),
        /** Free text, e.g. "East Africa". */
        region: z.string().trim().max(100).superRefine(textRule(TextKind.Line)).default(""),
      })
      .strict(),
    federation: z
      .object({
        /** The federation this node belongs to: the same id on every node of it. */
        id: z
          .string()
          .regex(/^[a-z0-9][a-z0-9.-]{1,62}$/, "must be 2-63 characters of a-z, 0-9, '.' and '-'")
          .default("concordat-dev"),
        /** How often idle documents get a signed heartbeat checkpoint. */
        heartbeatSeconds: z.number().int().min(5).max(86_400).default(300),
        /**
         * How long after a write this node waits before signing a checkpoint of what changed, so that
         * writes close together share one signature. Peers accept a change only once a checkpoint covers
         * it, so this is the least latency of any change across the federation.
         */
        checkpointBatchMs: z.number().int().min(0).max(60_000).default(50),
        /** A member whose newest verified checkpoint is older than this is flagged stale. */
        staleAfterSeconds: z
          .number()
          .int()
          .min(10)
          .max(30 * 86_400)
          .default(900),
        /**
         * The trust anchor: the secretariat's peer id. The charter is verified against it, and
         * membership, allow-lists and document owners all come from the charter. Unset: this node
         * belongs to no federation yet and replicates with no one (`init --secretariat` sets the
         * secretariat's own peer id).
         */
        anchor: z.string().regex(PEER_ID, PEER_ID_MESSAGE).pipe(z.custom<PeerId>(isPeerId)).optional(),
        /**
         * A rotated-out key may still connect this long (never sign), so that its hub learns of the
         * rotation; a removed hub too, for at most two minutes (docs/secretariat.md, "Removing a hub").
         */
        rotationGraceSeconds: z
          .number()
          .int()
          .min(0)
          .max(30 * 86_400)
          .default(3600),
      })
      .strict()
      .default({
        id: "concordat-dev",
        heartbeatSeconds: 300,
        checkpointBatchMs: 50,
        staleAfterSeconds: 900,
        rotationGraceSeconds: 3600,
      }),
    api: z
      .object({
        /**
         * Address the gRPC API binds. Off loopback (127.0.0.0/8, `::1`, `localhost`) only with
         * `api.tls`, else the node refuses to start.
         */
        host: z.string().min(1).default("127.0.0.1"),
        /** The API's port; 0 picks a free one (written to DATA/node.json). */
        port: z.number().int().min(0).max(65535).default(7400),
        /** PEM files; when set, the API serves TLS only. */
        tls: tlsSchema.optional(),
      })
      .strict()
      // Bearer tokens travel in every call: off this machine, only inside TLS.
      .superRefine((api, ctx) => {
        if (!api.tls && !isLoopback(api.host)) {
          ctx.addIssue({
            code: "custom",
            path: ["host"],
            message: `${quote(api.host)} is not a loopback address (127.0.0.0/8, ::1, localhost), and api.tls is not set: the API is served to other machines only over TLS (set api.tls.cert and api.tls.key), so that tokens never cross the network in clear`,
          });
        }
      })
      .default({ host: "127.0.0.1", port: 7400 }),
    console: z
      .object({
        /** Serve the web console (docs/web-console.md): a page in a browser over the same gRPC services as the CLI. */
        enabled: z.boolean().default(true),
        /** Address the console binds. Off loopback only with TLS (`console.tls`, else `api.tls`), like the API. */
        host: z.string().min(1).default("127.0.0.1"),
        /** The console's port; 0 picks a free one (printed at start, written to DATA/node.json). */
        port: z.number().int().min(0).max(65535).default(0),
        /** PEM files for HTTPS; when unset, the API's (`api.tls`) are used if it has them. */
        tls: tlsSchema.optional(),
      })
      .strict()
      .default({ enabled: true, host: "127.0.0.1", port: 0 }),
    metrics: z
      .object({
        /** Loopback only: the metrics are for a scraper on this machine (or a proxy that adds TLS and auth). */
        host: z
          .string()
          .min(1)
          .refine(
            isLoopback,
            "must be a loopback address (127.0.0.1 or ::1): metrics carry no authentication, so they are served to this machine only",
          )
          .default("127.0.0.1"),
        /** Unset: no metrics endpoint. 0 picks a free port (written to DATA/node.json). */
        port: z.number().int().min(0).max(65535).optional(),
      })
      .strict()
      .default({ host: "127.0.0.1" }),
    storage: z
      .object({
        /**
         * `fsync` every group of writes before it is acknowledged, so that an acknowledged write survives power loss
         * and not only a crash of the process (one fsync per group commit). False: faster, but a power loss may lose
         * the last acknowledged writes.
         */
        sync: z.boolean().default(true),
      })
      .strict()
      .default({ sync: true }),
    roster: z
      .object({
        /** Documents a new roster is spread over. */
        shards: z.number().int().min(1).max(256).default(4),
        /** A write that would put more trainers in one shard doubles the shard count first. */
        maxPerShard: z.number().int().min(10).max(100_000).default(2000),
      })
      .strict()
      .default({ shards: 4, maxPerShard: 2000 }),
    network: z
      .object({
        /** libp2p listen multiaddrs; empty turns libp2p off. */
        listen: z
          .array(z.string().regex(/^\/ip[46]\/[^/]+\/tcp\/\d+$/, "must be a multiaddr like /ip4/127.0.0.1/tcp/7500"))
          .default(["/ip4/127.0.0.1/tcp/7500"]),
        /** Serve the gRPC Replicate stream on the API port, for peers that only reach HTTP/2. */
        grpc: z.boolean().default(true),
        /**
         * Where to reach peers beyond what the charter says: the bootstrap peers a new hub dials
         * first (usually the secretariat), and local overrides (a CA file, a proxy address). Who may
         * connect still comes from the charter only; before one is verified, these peers may connect
         * but get nothing but the charter.
         */
        peers: z
          .array(
            z
              .object({
                /** The peer's libp2p peer id (its Ed25519 key). */
                peerId: z.string().regex(PEER_ID, PEER_ID_MESSAGE),
                /** libp2p addresses to dial (without /p2p/…). */
                libp2p: z
                  .array(
                    z.string().regex(/^\/ip[46]\/[^/]+\/tcp\/\d+$/, "must be a multiaddr like /ip4/127.0.0.1/tcp/7500"),
                  )
                  .default([]),
                /** host:port of its gRPC API, to replicate over HTTP/2 instead. */
                grpc: z
                  .string()
                  .regex(/^[^\s:]+:\d+$/, "must be host:port")
                  .optional(),
                /** PEM CA file to verify its gRPC API's TLS certificate; plaintext HTTP/2 when absent. */
                grpcCa: z.string().min(1).optional(),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .default({ listen: ["/ip4/127.0.0.1/tcp/7500"], grpc: true, peers: [] }),
    bookings: z
      .object({
        /**
         * How this hub answers requests for its trainers: `manual` (an operator confirms or declines;
         * requests that cannot be honoured are declined at once), `tentative` (held at once, an
         * operator confirms) or `confirm` (confirmed at once when the trainer is free).
         */
        policy: z.enum(["manual", "tentative", "confirm"]).default("manual"),
        /** A request this hub makes expires after this long unless it gives its own expiry. */
        requestTtlHours: z
          .number()
          .int()
          .min(1)
          .max(24 * 90)
          .default(72),
      })
      .strict()
      .default({ policy: "manual", requestTtlHours: 72 }),
    log: z
      .object({
        /** The least severe level logged. */
        level: z.enum(LOG_LEVELS).default("info"),
        /** Human-readable logs (`auto`: on a terminal, JSON lines otherwise), or `true`/`false`. */
        pretty: z.union([z.boolean(), z.literal("auto")]).default("auto"),
      })
      .strict()
      .default({ level: "info", pretty: "auto" }),
  })
  .strict()
  // The console carries the same bearer tokens as the API: off this machine, only inside TLS.
  .superRefine((config, ctx) => {
    const console = config.console;
    if (console.enabled && !console.tls && !config.api.tls && !isLoopback(console.host)) {
      ctx.addIssue({
        code: "custom",
        path: ["console", "host"],
        message: `${quote(console.host)} is not a loopback address (127.0.0.0/8, ::1, localhost), and neither console.tls nor api.tls is set: the console is served to other machines only over HTTPS, so that tokens never cross the network in clear`,
      });
    }
  });

export type NodeConfig = z.infer<typeof configSchema>;
export type NodeConfigInput = z.input<typeof configSchema>;
