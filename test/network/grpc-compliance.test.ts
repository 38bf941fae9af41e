import "@automerge/automerge";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { runNetworkAdapterTests } from "@automerge/automerge-repo/helpers/tests/network-adapter-tests.js";
import { pino } from "pino";
import { describe } from "vitest";
import {
  GRPC_MAX_MESSAGE_BYTES,
  GrpcNetworkAdapter,
  ReplicationServiceService,
} from "../../node/network/grpc-adapter.js";

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

async function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(`127.0.0.1:${port}`),
    ),
  );
}

/** Three nodes, each serving Replicate on its own gRPC server on 127.0.0.1 and dialling the others. */
async function setup(): Promise<{
  adapters: [GrpcNetworkAdapter, GrpcNetworkAdapter, GrpcNetworkAdapter];
  teardown: () => void;
}> {
  const nodes = await Promise.all(
    [0, 1, 2].map(async () => {
      const key = await generateKeyPair("Ed25519");
      const server = new Server({ "grpc.max_receive_message_length": GRPC_MAX_MESSAGE_BYTES });
      const address = await listen(server);
      return { key, peerId: peerIdFromPrivateKey(key).toString(), server, address };
    }),
  );
  const adapters = nodes.map((node, i) => {
    const adapter = new GrpcNetworkAdapter(
      {
        policy: "permissive",
        federationId: "compliance",
        dial: nodes.filter((_, j) => j !== i).map((n) => ({ peerId: n.peerId, address: n.address })),
        backoff: { initialMs: 20, maxMs: 200 },
      },
      { identity: { peerId: node.peerId, sign: async (data) => node.key.sign(data) }, logger },
    );
    node.server.addService(ReplicationServiceService, adapter.service());
    return adapter;
  }) as [GrpcNetworkAdapter, GrpcNetworkAdapter, GrpcNetworkAdapter];
  return {
    adapters,
    teardown: () => {
      for (const a of adapters) a.disconnect();
      for (const n of nodes) n.server.forceShutdown();
    },
  };
}

describe("gRPC adapter", () => {
  runNetworkAdapterTests(setup, "GrpcNetworkAdapter over HTTP/2 on 127.0.0.1");
});
