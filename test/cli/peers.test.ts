import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { peersCommand } from "../../cli/commands/peers.js";
import { directoryIdOf } from "../../node/federation/index.js";
import { statusCommand } from "../../cli/commands/status.js";
import {
  draft,
  startFederation,
  stopFederation,
  waitForForeignTrainer,
  type FederationNode,
} from "../helpers/federation.js";
import { memoryIo } from "../helpers/io.js";

describe("concordat peers and status on a two-hub federation", () => {
  let nodes: FederationNode[] = [];
  beforeAll(async () => {
    nodes = await startFederation(["a", "b"], [["b", "a"]]);
    await nodes[0]?.node.running.roster.add(draft("P-1"), "op");
    await waitForForeignTrainer(nodes[1] as FederationNode, nodes[0] as FederationNode, "P-1");
  });
  afterAll(async () => {
    await stopFederation(nodes);
  });

  it("peers lists the other hub with its transport, and --documents the sync state", async () => {
    const b = (nodes[1] as FederationNode).node;
    const people = memoryIo(false);
    await peersCommand({ data: b.dataDir, documents: true }, people);
    expect(people.out()).toMatch(/hub-a .*libp2p/);
    // The documents table names a's directory among the documents shared with a.
    expect(people.out()).toContain(directoryIdOf((nodes[0] as FederationNode).peerId));
    const json = memoryIo(true);
    await peersCommand({ data: b.dataDir }, json);
    const parsed = JSON.parse(json.out()) as { peers: Array<{ hub: string; transport: string }> };
    expect(parsed.peers).toEqual([expect.objectContaining({ hub: "hub-a", transport: "libp2p" })]);
  });

  it("status shows the directory, the libp2p address and the peer count", async () => {
    const a = (nodes[0] as FederationNode).node;
    const io = memoryIo(false);
    await statusCommand({ data: a.dataDir }, io);
    expect(io.out()).toMatch(/directory\s+\S+/);
    expect(io.out()).toMatch(/libp2p\s+\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooW/);
    expect(io.out()).toMatch(/peers\s+1 connected/);
  });
});
