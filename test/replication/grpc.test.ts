import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  draft,
  startFederation,
  stopFederation,
  waitForForeignTrainer,
  type FederationNode,
} from "../helpers/federation.js";

/** Three real nodes in a line over the gRPC Replicate stream only (no libp2p): c dials b, b dials a. */
describe("replication along a line of three nodes (gRPC)", () => {
  let nodes: FederationNode[] = [];
  const byName = (n: string) => nodes.find((x) => x.name === n) as FederationNode;

  beforeAll(async () => {
    nodes = await startFederation(
      ["a", "b", "c"],
      [
        ["b", "a"],
        ["c", "b"],
      ],
      "grpc",
    );
  });
  afterAll(async () => {
    await stopFederation(nodes);
  });

  it("runs without libp2p, each node connected to its neighbours only", () => {
    for (const n of nodes) {
      expect(n.node.running.network.libp2p).toBeUndefined();
      expect(n.node.running.network.grpc).toBeDefined();
    }
  });

  it("a trainer added at one end reaches the other end through the middle node", async () => {
    const started = performance.now();
    await byName("a").node.running.roster.add(draft("GRPC-1"), "op");
    await waitForForeignTrainer(byName("c"), byName("a"), "GRPC-1");
    console.log(`[figure] gRPC line of 3, a -> c: ${(performance.now() - started).toFixed(0)} ms`);
    expect(
      byName("a")
        .node.running.network.peers()
        .map((p) => [p.hub, p.transport]),
    ).toEqual([["hub-b", "grpc"]]);
    expect(
      byName("c")
        .node.running.network.peers()
        .map((p) => [p.hub, p.transport]),
    ).toEqual([["hub-b", "grpc"]]);
    expect(
      byName("b")
        .node.running.network.peers()
        .map((p) => p.hub)
        .sort(),
    ).toEqual(["hub-a", "hub-c"]);
  });

  it("an update at the owner replaces the record at the far end, and a write at the far end comes back", async () => {
    await byName("a").node.running.roster.update(
      { ...draft("GRPC-1"), displayName: "Renamed at a" },
      ["display_name"],
      "op",
    );
    await byName("c").node.running.roster.add(draft("GRPC-2"), "op");
    await Promise.all([
      waitForForeignTrainer(byName("c"), byName("a"), "GRPC-1", (name) => name === "Renamed at a"),
      waitForForeignTrainer(byName("a"), byName("c"), "GRPC-2"),
      waitForForeignTrainer(byName("b"), byName("c"), "GRPC-2"),
    ]);
  });
});
