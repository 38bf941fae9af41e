import * as A from "@automerge/automerge";
import { generateAutomergeUrl, parseAutomergeUrl, type DocumentId, type Message } from "@automerge/automerge-repo";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { directoryIdOf } from "../../node/federation/index.js";
import type { ChannelNetworkAdapter } from "../../node/network/index.js";
import {
  draft,
  startFederation,
  stopFederation,
  waitForForeignTrainer,
  type FederationNode,
} from "../helpers/federation.js";

/**
 * A peer naming a document id the node does not share gets nothing, and creates nothing there:
 * the share policy's `access` answers before automerge-repo makes a handle for the id.
 */
describe.each(["libp2p", "grpc"] as const)("requests for documents a node does not share (%s)", (transport) => {
  let nodes: FederationNode[] = [];
  const byName = (n: string) => nodes.find((x) => x.name === n) as FederationNode;

  beforeAll(async () => {
    nodes = await startFederation(["a", "b"], [["b", "a"]], transport);
    await byName("a").node.running.roster.add(draft("U-1"), "op");
    await waitForForeignTrainer(byName("b"), byName("a"), "U-1");
  });
  afterAll(async () => {
    await stopFederation(nodes);
  });

  it("raw requests for an unknown id and for a private document's id create no handle", async () => {
    const a = byName("a");
    const b = byName("b");
    const adapter = (
      transport === "libp2p" ? b.node.running.network.libp2pAdapter : b.node.running.network.grpc
    ) as ChannelNetworkAdapter;
    const unknown = parseAutomergeUrl(generateAutomergeUrl()).documentId;
    const privateIds = a.node.running.documents
      .describe()
      .filter((d) => !d.replicated)
      .map((d) => d.id);
    const request = (documentId: DocumentId): Message => ({
      type: "request",
      senderId: b.peerId,
      targetId: a.peerId,
      documentId,
      data: A.encodeSyncMessage(
        A.decodeSyncMessage(A.generateSyncMessage(A.init(), A.initSyncState())[1] as Uint8Array),
      ),
    });
    for (const id of [unknown, ...privateIds]) adapter.send(request(id));
    // A sentinel request for a document a does share: its answer proves a has read the others.
    const directory = directoryIdOf(a.peerId);
    const answered = new Promise<void>((resolve) => {
      const listener = (message: Message) => {
        if (message.documentId === directory && message.senderId === a.peerId) {
          adapter.off("message", listener);
          resolve();
        }
      };
      adapter.on("message", listener);
    });
    adapter.send(request(directory));
    await answered;
    const handles = await a.node.running.replica.documentIds();
    for (const id of [unknown, ...privateIds]) expect(handles).not.toContain(id);
  });
});
