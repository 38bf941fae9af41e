import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { parse, stringify } from "yaml";
import { afterAll, describe, expect, test } from "vitest";
import { NodeServiceClient, type ListPeersResponse } from "../../node/api/generated/concordat/v1/node.js";
import { TrainerServiceClient } from "../../node/api/generated/concordat/v1/trainers.js";
import {
  FederationServiceClient,
  type AdmitMemberRequest,
  type CreateFederationRequest,
  type Member,
} from "../../node/api/generated/concordat/v1/federation.js";
import { directoryIdOf } from "../../node/federation/index.js";
import { initDataDir } from "../../node/setup.js";
import { freePorts } from "../helpers/federation.js";
import { DEFAULT_CONFIG_URL, importTrainers, makeClients, makeTempDir, makeTrainer } from "../helpers/harness.js";
import { startNode, type StartedNode } from "../../bench/lib/nodes.js";

interface Prepared {
  name: string;
  dataDir: string;
  peerId: string;
  token: string;
  libp2pPort: number;
  apiPort: number;
}

function client(p: Prepared): {
  node: NodeServiceClient;
  trainers: TrainerServiceClient;
  federation: FederationServiceClient;
  md: Metadata;
  close(): void;
} {
  const address = `127.0.0.1:${p.apiPort}`;
  const node = new NodeServiceClient(address, credentials.createInsecure());
  const federation = new FederationServiceClient(address, credentials.createInsecure());
  const trainers = new TrainerServiceClient(address, credentials.createInsecure(), {
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  });
  const md = new Metadata();
  md.set("authorization", `Bearer ${p.token}`);
  return {
    node,
    trainers,
    federation,
    md,
    close: () => {
      node.close();
      trainers.close();
      federation.close();
    },
  };
}

function listPeers(c: ReturnType<typeof client>): Promise<ListPeersResponse> {
  return new Promise((resolve, reject) =>
    c.node.listPeers(
      { includeDocuments: true },
      c.md,
      { deadline: new Date(Date.now() + 5000) },
      (e: ServiceError | null, r: ListPeersResponse) => (e ? reject(e) : resolve(r)),
    ),
  );
}

/** The secretariat's charter calls, awaited. */
function charterCall(
  c: ReturnType<typeof client>,
  request: { create: CreateFederationRequest } | { admit: AdmitMemberRequest },
): Promise<Member> {
  return new Promise((resolve, reject) => {
    const done = (e: ServiceError | null, r: Member) => (e ? reject(e) : resolve(r));
    if ("create" in request) c.federation.createFederation(request.create, c.md, done);
    else c.federation.admitMember(request.admit, c.md, done);
  });
}

/** Heads per document, as a node reports them for the documents it shares. */
async function headsOf(c: ReturnType<typeof client>): Promise<Map<string, string>> {
  const listed = await listPeers(c);
  return new Map(listed.documents.map((d) => [d.documentId, [...d.heads].sort().join(",")]));
}

/**
 * Three node processes started through the CLI, in a line a–b–c over libp2p. a holds a 5,000-trainer
 * roster that b already has; c starts empty and is SIGKILLed while its initial sync from b is
 * provably in flight (bytes have arrived, documents are not yet in sync), then restarted: all three
 * converge to the same heads for every one of a's documents.
 */
describe("SIGKILL during a large sync", () => {
  const processes: StartedNode[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const p of processes) {
      await p.kill();
    }
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test("a node killed mid-sync restarts and converges, nothing lost", async () => {
    const base = await readFile(DEFAULT_CONFIG_URL, "utf8");
    const ports = await freePorts(6);
    const nodes: Prepared[] = [];
    for (const [i, name] of ["a", "b", "c"].entries()) {
      const dataDir = await makeTempDir(`concordat-kill-${name}-`);
      dirs.push(dataDir);
      // a is the secretariat: the trust anchor of b and c.
      const anchor = i === 0 ? undefined : nodes[0]?.peerId;
      const init = await initDataDir({
        dataDir,
        hubId: `hub-${name}`,
        name,
        secretariat: i === 0,
        ...(anchor ? { anchor } : {}),
        baseConfig: base,
        baseConfigSource: "default",
      });
      const token = (await readFile(join(dataDir, "admin.token"), "utf8")).trim();
      nodes.push({
        name,
        dataDir,
        peerId: init.peerId,
        token,
        libp2pPort: ports[2 * i] as number,
        apiPort: ports[2 * i + 1] as number,
      });
    }
    const [a, b, c] = nodes as [Prepared, Prepared, Prepared];
    const dials: Record<string, string | undefined> = { a: undefined, b: "a", c: "b" };
    for (const me of nodes) {
      const path = join(me.dataDir, "config.yaml");
      const config = parse(await readFile(path, "utf8")) as Record<string, unknown>;
      config.network = {
        listen: [`/ip4/127.0.0.1/tcp/${me.libp2pPort}`],
        grpc: false,
        // Neighbours only: each dials one, and knows who dials it (allowed before it has a charter).
        peers: nodes
          .filter((o) => dials[me.name] === o.name || dials[o.name] === me.name)
          .map((o) => ({
            peerId: o.peerId,
            libp2p: dials[me.name] === o.name ? [`/ip4/127.0.0.1/tcp/${o.libp2pPort}`] : [],
          })),
      };
      // Many documents, synced one after another: a wide window in which the sync is under way.
      config.roster = { shards: 32, maxPerShard: 2000 };
      await writeFile(path, stringify(config));
    }
    const start = async (p: Prepared) => {
      const proc = await startNode(p.dataDir, {
        loopback: true,
        env: {
          CONCORDAT_API_PORT: String(p.apiPort),
          CONCORDAT_CONSOLE_PORT: "0",
          CONCORDAT_NETWORK_LISTEN: `/ip4/127.0.0.1/tcp/${p.libp2pPort}`,
        },
      });
      processes.push(proc);
      return proc;
    };

    await start(a);
    const ca = client(a);
    await charterCall(ca, { create: { addresses: [] } });
    for (const p of [b, c])
      await charterCall(ca, {
        admit: { hub: `hub-${p.name}`, peerId: p.peerId, addresses: [], name: p.name, region: "", directoryId: "" },
      });
    await start(b);
    const cb = client(b);
    // A large roster at a: 5,000 trainers with many declared windows each, varied so that they do
    // not compress to nothing (automerge deflates its change columns).
    const windows = (i: number) =>
      Array.from({ length: 24 }, (_, m) => ({
        start: new Date(Date.UTC(2026, m, 1, i % 24, (i * 7 + m) % 60)).toISOString(),
        end: new Date(Date.UTC(2026, m, 20, (i + m) % 24, (i * 13) % 60)).toISOString(),
      }));
    const rows = Array.from({ length: 5000 }, (_, i) => ({
      line: i + 2,
      trainer: makeTrainer(`K-${String(i).padStart(5, "0")}`, {
        displayName: `Trainer ${i} ${Math.random().toString(36).slice(2)}`,
        availability: windows(i),
      }),
    }));
    const api = makeClients(`127.0.0.1:${a.apiPort}`, a.token);
    const imported = await importTrainers(
      api.trainers,
      {},
      [rows.slice(0, 2500), rows.slice(2500)],
      a.token,
      120_000,
    ).finally(() => api.close());
    expect(imported).toMatchObject({ imported: 5000, committed: true });

    // Wait (bounded) until b holds a's documents at a's heads.
    const converged = async (readers: Array<ReturnType<typeof client>>, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const reference = await headsOf(ca);
        const aDocs = [...reference.keys()];
        const views = await Promise.all(readers.map((r) => headsOf(r).catch(() => new Map<string, string>())));
        if (aDocs.length > 0 && views.every((v) => aDocs.every((id) => v.get(id) === reference.get(id)))) return;
        if (Date.now() > deadline) throw new Error(`not converged within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    await converged([cb], 60_000);

    // Start c and kill it while its first sync from b is in flight. c's own API may stall while it
    // applies a large sync message, so watch from b: bytes sent to c, c not yet in sync.
    const procC = await start(c);
    let killedWith: { bytesOut: number; notInSync: number } | undefined;
    const deadline = Date.now() + 30_000;
    while (!killedWith && Date.now() < deadline) {
      const listed = await listPeers(cb).catch(() => undefined);
      const toC = listed?.peers.find((p) => p.peerId === c.peerId);
      const notInSync = listed?.documents.filter((d) => d.peerId === c.peerId && !d.inSync).length ?? 0;
      // Past the first exchanges of heads: the roster itself is on its way.
      if (toC && toC.bytesOut > 0 && notInSync > 0) {
        procC.child.kill("SIGKILL");
        killedWith = { bytesOut: toC.bytesOut, notInSync };
      }
    }
    expect(killedWith, "c was never caught mid-sync").toBeDefined();
    expect((await procC.exited).signal).toBe("SIGKILL");
    console.log(
      `[figure] c killed after b had sent it ${killedWith?.bytesOut} bytes, ${killedWith?.notInSync} documents not yet in sync`,
    );

    const restarted = performance.now();
    await start(c);
    const cc2 = client(c);
    await converged([cb, cc2], 60_000);
    console.log(`[figure] c restarted and converged with a and b in ${(performance.now() - restarted).toFixed(0)} ms`);
    // c holds a's directory and every roster document a lists.
    const cHeads = await headsOf(cc2);
    expect(cHeads.has(directoryIdOf(a.peerId))).toBe(true);
    for (const x of [ca, cb, cc2]) x.close();
  }, 240_000);
});
