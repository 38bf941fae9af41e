import { z } from "zod";

/** Hub ids are short, stable, URL- and file-safe names such as `nairobi` or `hub-ke-01`. */
export const HUB_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const tlsSchema = z
  .object({
    cert: z.string().min(1).describe("PEM certificate chain file"),
    key: z.string().min(1).describe("PEM private key file"),
  })
  .strict();

/**
 * The node's configuration. Every key has a documented default (README, "Configuration"), so a
 * config file needs only what differs. Unknown keys are errors: a typo must not pass silently.
 */
export const configSchema = z
  .object({
    hub: z
      .object({
        id: z.string().regex(HUB_ID_PATTERN, "must be 2-63 characters of a-z, 0-9 and '-', starting with a letter or digit"),
        name: z.string().trim().min(1, "must not be empty").max(200),
        role: z.enum(["hub", "secretariat"]).default("hub"),
        region: z.string().trim().max(100).default(""),
      })
      .strict(),
    federation: z
      .object({
        id: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,62}$/, "must be 2-63 characters of a-z, 0-9, '.' and '-'").default("concordat-dev"),
      })
      .strict()
      .default({ id: "concordat-dev" }),
    api: z
      .object({
        host: z.string().min(1).default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(7400),
        tls: tlsSchema.optional(),
      })
      .strict()
      .default({ host: "127.0.0.1", port: 7400 }),
    storage: z
      .object({
        sync: z.boolean().default(false),
      })
      .strict()
      .default({ sync: false }),
    roster: z
      .object({
        shards: z.number().int().min(1).max(256).default(4),
        maxPerShard: z.number().int().min(10).max(100_000).default(2000),
      })
      .strict()
      .default({ shards: 4, maxPerShard: 2000 }),
    log: z
      .object({
        level: z.enum(LOG_LEVELS).default("info"),
        pretty: z.union([z.boolean(), z.literal("auto")]).default("auto"),
      })
      .strict()
      .default({ level: "info", pretty: "auto" }),
  })
  .strict();

export type NodeConfig = z.infer<typeof configSchema>;
export type NodeConfigInput = z.input<typeof configSchema>;
