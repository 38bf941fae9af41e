import "@automerge/automerge";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { runNetworkAdapterTests } from "@automerge/automerge-repo/helpers/tests/network-adapter-tests.js";
import { pino } from "pino";
import { describe } from "vitest";
import { Libp2pNetworkAdapter } from "../../node/network/libp2p-adapter.js";
import { createLibp2pNode, type ConcordatLibp2p } from "../../node/network/libp2p-node.js";

const logger = pino({ level: "silent" });

/** Three libp2p nodes on 127.0.0.1, each adapter dialling the other two. */
async function setup(): Promise<{
  adapters: [Libp2pNetworkAdapter, Libp2pNetworkAdapter, Libp2pNetworkAdapter];
  teardown: () => void;
}> {
  const nodes: ConcordatLibp2p[] = [];
  for (let i = 0; i < 3; i += 1) {
    nodes.push(
      await createLibp2pNode(
        { privateKey: await generateKeyPair("Ed25519"), listen: ["/ip4/127.0.0.1/tcp/0"] },
        logger,
      ),
    );
  }
  const targets = nodes.map((n) => ({
    peerId: n.peerId.toString(),
    addrs: n.getMultiaddrs().map((a) => a.decapsulateCode(421).toString()),
  }));
  const adapters = nodes.map(
    (libp2p, i) =>
      new Libp2pNetworkAdapter(
        // The suite names its repos "alice", "bob", …: bind permissively, still one sender per channel.
        { policy: "permissive", dial: targets.filter((_, j) => j !== i), backoff: { initialMs: 20, maxMs: 200 } },
        { libp2p, logger },
      ),
  ) as [Libp2pNetworkAdapter, Libp2pNetworkAdapter, Libp2pNetworkAdapter];
  return {
    adapters,
    teardown: () => {
      for (const a of adapters) a.disconnect();
      for (const n of nodes) void n.stop();
    },
  };
}

describe("libp2p adapter", () => {
  runNetworkAdapterTests(setup, "Libp2pNetworkAdapter over TCP on 127.0.0.1");
});
