import type { BackupHeader } from "../storage/backup.js";
import { writeBackup } from "../storage/backup.js";
import type { NodeStore } from "../storage/node-store.js";
import type { OwnedDocuments } from "../documents/index.js";
import type { Roster } from "../roster/index.js";
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
  roster: Roster;
  documents: OwnedDocuments;
  store: NodeStore;
  /** Everything but the database that a backup must carry (config text, identity key). */
  backupHeader: () => Promise<Omit<BackupHeader, "createdAt">>;
}

export function nodeService(components: NodeServiceComponents): NodeServiceServer {
  const { info, roster, documents, store } = components;
  return {
    getStatus: unary(components, "GetStatus", "viewer", (_req, ctx): GetStatusResponse => ({
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
    })),
    backup: serverStream(components, "Backup", "admin", async function* (_req, ctx) {
      const header = { ...(await components.backupHeader()), createdAt: new Date().toISOString() };
      let bytes = 0;
      for await (const chunk of writeBackup(store.db, header)) {
        bytes += chunk.byteLength;
        yield { data: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) };
      }
      ctx.log.info({ bytes }, "backup streamed");
    }),
  };
}
