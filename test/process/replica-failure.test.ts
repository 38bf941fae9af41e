import type { PeerId } from "@automerge/automerge-repo";
import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { waitUntil } from "../helpers/federation.js";
import { makeClients, startTestNode, type TestNode } from "../helpers/harness.js";
import { TestTransport } from "../helpers/replica.js";

/**
 * The replica worker holds every replicated copy: a node whose worker died would answer from stale
 * views while nothing replicates. It stops instead, and says why (a node that owns its process then
 * exits with code 1, for its service manager to start it again).
 */
describe("a node whose replica worker dies", () => {
  let node: TestNode | undefined;
  afterEach(async () => {
    await node?.cleanup();
    node = undefined;
  });

  it("stops itself, says why, and its API no longer answers", async () => {
    const failures: Error[] = [];
    node = await startTestNode({ onFatal: (error) => failures.push(error) });
    const { replica } = node.running;
    const address = node.address;
    await node
      .clients(node.adminToken)
      .trainers.getTrainer({ id: "none" })
      .catch(() => undefined);
    // A share policy that throws (a bug): the worker's Repo does not catch it, and the worker ends.
    replica.sharePolicy = () => {
      throw new Error("a broken share policy");
    };
    const transport = new TestTransport();
    replica.addNetworkAdapter(transport);
    transport.emit("peer-candidate", { peerId: "hub-peer" as PeerId, peerMetadata: { isEphemeral: true } });
    await waitUntil("the node to report its failure", () => failures.length > 0, 15_000);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.message).toMatch(/the replica worker (failed|exited)/);
    expect(() => node?.node.running).toThrow(/not started/);
    // Its API is closed: a call is refused (the port is free), not answered from stale views.
    const client = makeClients(address, node.adminToken);
    try {
      await expect(client.trainers.getTrainer({ id: "none" })).rejects.toMatchObject({ code: status.UNAVAILABLE });
    } finally {
      client.close();
    }
    expect(
      node.logs.some((l) => l.includes('"level":60') && l.includes("the node cannot go on without this part")),
    ).toBe(true);
  });
});
