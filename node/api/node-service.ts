import type { BackupHeader } from "../storage/index.js";
import { writeBackup } from "../storage/index.js";
import type { NodeStore } from "../storage/index.js";
import type { OwnedDocuments } from "../documents/index.js";
import type { Roster } from "../roster/index.js";
import type { Bookings } from "../bookings/index.js";
import type { DocumentId } from "@automerge/automerge-repo";
import type { Replica } from "../replica/index.js";
import type { VerifiedViews } from "../authority/index.js";
import type { Federation } from "../federation/index.js";
import type { NodeNetwork } from "../network/index.js";
import { documentSync } from "../network/index.js";
import type { EventHub } from "../events/index.js";
import { unauthenticated } from "../errors.js";
import { operatorToMessage } from "./convert.js";
import { NodeServiceService, type GetStatusResponse, type NodeServiceServer } from "./generated/concordat/v1/node.js";
import { serverStream, unary, type HandlerComponents } from "./handlers.js";

export { NodeServiceService };

export interface NodeInfo {
  hubId: string;
  hubName: string;
  role: string;
  peerId: string;
  federationId: string;
  version: string;
  startedAt: string;
}

export interface NodeServiceComponents extends HandlerComponents {
  info: NodeInfo;
  /** The node's network and federation, for peers and sync state. */
  network: NodeNetwork;
  federation: Federation;
  replica: Replica;
  views: VerifiedViews;
  roster: Roster;
  documents: OwnedDocuments;
  store: NodeStore;
  /** For the status line on bookings: the policy and how many requests wait for an operator. */
  bookings: Pick<Bookings, "policy" | "awaitingDecision">;
  /** Everything but the database that a backup must carry (config text, identity key). */
  backupHeader: () => Promise<Omit<BackupHeader, "createdAt">>;
  /** The live event stream. */
  events: Pick<EventHub, "watch">;
}

export function nodeService(components: NodeServiceComponents): NodeServiceServer {
  const { info, roster, documents, store, network, federation, replica, views, bookings } = components;
  return {
    getStatus: unary(
      components,
      "GetStatus",
      "viewer",
      (_req, ctx): GetStatusResponse => ({
        ...info,
        trainerCount: roster.count(),
        documents: documents.describe().map((d) => ({
          id: d.id,
          type: d.header.type,
          owner: d.header.owner,
          schemaVersion: d.header.schemaVersion,
          heads: d.heads,
          replicated: d.replicated,
        })),
        caller: operatorToMessage(ctx.operator),
        libp2pAddresses: network.libp2pAddresses(),
        directoryId: federation.self.directoryId,
        anchor: federation.membership.anchor ?? "",
        charterSource: federation.membership.source?.kind ?? "none",
        charterSeq: federation.membership.source?.seq ?? 0,
        bookingsPolicy: bookings.policy,
        bookingsAwaitingDecision: bookings.awaitingDecision(),
        removedAt: federation.membership.member(info.hubId)?.removedAt ?? "",
        connectedPeers: network.peers().length,
        members: views.freshness().map((m) => ({
          hub: m.hub,
          peerId: m.peerId,
          verifiedSeq: m.latest?.seq ?? 0,
          verifiedTime: m.latest?.time ?? "",
          ageSeconds: m.ageSeconds ?? -1,
          stale: m.stale,
          rejected: m.rejected,
          lastRejection: m.lastRejection ?? "",
          removedAt: m.removedAt ?? "",
        })),
      }),
    ),
    listPeers: unary(components, "ListPeers", "viewer", async (req) => {
      const peers = network.peers();
      const rtts = await Promise.all(
        peers.map((p) => (p.transport === "libp2p" ? network.rtt(p.peerId) : Promise.resolve(undefined))),
      );
      const iso = (ms: number | undefined) => (ms === undefined ? "" : new Date(ms).toISOString());
      const own = req.includeDocuments
        ? new Map(documents.describe().map((d) => [d.id, { type: d.header.type, owner: d.header.owner }]))
        : new Map<DocumentId, { type: string; owner: string }>();
      const describe = (id: DocumentId) => own.get(id) ?? federation.describeForeign(id) ?? { type: "?", owner: "?" };
      return {
        peers: peers.map((p, i) => ({
          peerId: p.peerId,
          hub: p.hub,
          transport: p.transport,
          address: p.remoteAddress,
          direction: p.direction,
          connectedAt: iso(p.connectedAt),
          lastReceivedAt: iso(p.lastReceivedAt),
          bytesIn: p.bytesIn,
          bytesOut: p.bytesOut,
          rttMs: rtts[i] ?? -1,
        })),
        documents: req.includeDocuments
          ? (await documentSync(replica, peers, (id) => federation.shares(id))).map((d) => ({
              ...describe(d.documentId),
              documentId: d.documentId,
              peerId: d.peerId,
              hub: d.hub,
              inSync: d.inSync,
              lastSyncedAt: iso(d.lastSyncedAt),
              heads: d.heads,
            }))
          : [],
      };
    }),
    backup: serverStream(components, "Backup", "admin", async function* (_req, ctx) {
      const header = { ...(await components.backupHeader()), createdAt: new Date().toISOString() };
      let bytes = 0;
      for await (const chunk of writeBackup(store.db, header)) {
        bytes += chunk.byteLength;
        yield { data: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) };
      }
      ctx.log.info({ bytes }, "backup streamed");
    }),
    // Until the caller cancels, the node stops, or the caller's credential is revoked: then at once
    // UNAUTHENTICATED (docs/events.md).
    watchEvents: serverStream(components, "WatchEvents", "viewer", async function* (_req, ctx) {
      const { operators } = components;
      const watcher = components.events.watch();
      const operatorId = ctx.operator.id;
      const revoked = (revokedAt: string | undefined) =>
        watcher.close(unauthenticated(`credential of operator '${operatorId}' was revoked at ${revokedAt}`));
      const stopListening = operators.onRevoked((operator) => {
        if (operator.id === operatorId) revoked(operator.revokedAt);
      });
      // Revoked between the call's authentication and the subscription above.
      const now = operators.list().find((o) => o.id === operatorId);
      if (now?.revokedAt) revoked(now.revokedAt);
      const cancelled = () => watcher.close();
      ctx.signal.addEventListener("abort", cancelled, { once: true });
      ctx.log.debug("event stream opened");
      try {
        yield* watcher;
      } finally {
        stopListening();
        ctx.signal.removeEventListener("abort", cancelled);
        watcher.close();
        ctx.log.debug("event stream ended");
      }
    }),
  };
}
