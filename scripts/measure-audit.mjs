// `npm run measure:audit`: the size of an audit bundle and the time to verify it offline, for a
// federation of a secretariat and 10 hubs of 1,000 trainers each (star topology on 127.0.0.1,
// all in this process). Prints the figures; takes a minute or two.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { encodeBundle, decodeBundle } from "../dist/node/audit/bundle.js";
import { buildAuditBundle } from "../dist/node/audit/export.js";
import { verifyBundle } from "../dist/node/audit/verify.js";
import { ConcordatNode } from "../dist/node/node.js";
import { initDataDir } from "../dist/node/setup.js";

const HUBS = Number(process.env.HUBS ?? 10);
const TRAINERS = Number(process.env.TRAINERS ?? 1000);
const root = fileURLToPath(new URL("..", import.meta.url));

async function freePorts(count) {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise((resolve) => {
          const s = createServer();
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function until(what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const work = await mkdtemp(join(tmpdir(), "concordat-measure-audit-"));
const nodes = [];
try {
  const base = await readFile(join(root, "config/default.yaml"), "utf8");
  const ports = await freePorts((HUBS + 1) * 2);
  const prepared = [];
  for (let i = 0; i <= HUBS; i += 1) {
    const hub = i === 0 ? "secretariat" : `hub-${String(i).padStart(2, "0")}`;
    const dataDir = join(work, hub);
    const init = await initDataDir({
      dataDir,
      hubId: hub,
      name: hub,
      secretariat: i === 0,
      ...(i > 0 ? { anchor: prepared[0].peerId } : {}),
      baseConfig: base,
      baseConfigSource: "default",
    });
    prepared.push({ hub, dataDir, peerId: init.peerId, libp2p: ports[2 * i], api: ports[2 * i + 1] });
  }
  const [sec, ...hubs] = prepared;
  for (const me of prepared) {
    const path = join(me.dataDir, "config.yaml");
    const config = parse(await readFile(path, "utf8"));
    config.api.port = me.api;
    config.log = { level: "warn", pretty: false };
    config.network = {
      listen: [`/ip4/127.0.0.1/tcp/${me.libp2p}`],
      grpc: false,
      peers:
        me === sec
          ? hubs.map((h) => ({ peerId: h.peerId, libp2p: [] }))
          : [{ peerId: sec.peerId, libp2p: [`/ip4/127.0.0.1/tcp/${sec.libp2p}`] }],
    };
    await writeFile(path, stringify(config));
  }
  const start = async (p) => {
    const node = new ConcordatNode({ dataDir: p.dataDir, logDestination: process.stderr });
    const running = await node.start();
    nodes.push(node);
    return running;
  };
  const s = await start(sec);
  await s.charter.create("measure", [`/ip4/127.0.0.1/tcp/${sec.libp2p}`]);
  for (const h of hubs) await s.charter.admit("measure", { hub: h.hub, peerId: h.peerId });
  const item = (identifier, text) => ({
    identifier,
    code: identifier.toUpperCase(),
    statement: { en: text },
    type: "Competency",
    language: "en",
    roleLevels: [],
    themes: [],
    lastChangeDateTime: new Date().toISOString(),
    extra: {},
  });
  await s.coreAuthoring.put(
    "measure",
    "item",
    Array.from({ length: 50 }, (_, i) => item(`c-${i}`, `Competency ${i}`)),
  );
  await s.coreAuthoring.release("measure", "1.0.0", "measure");
  const running = [];
  for (const h of hubs) running.push(await start(h));
  console.log(`${HUBS} hubs started; importing ${TRAINERS} trainers each…`);
  await Promise.all(
    running.map((r, k) =>
      r.roster.import(
        Array.from({ length: TRAINERS }, (_, i) => ({
          line: i + 2,
          trainer: {
            id: `T-${k}-${i}`,
            displayName: `Trainer ${i} of ${r.config.hub.id}`,
            languages: [
              { tag: "en", level: "C1" },
              { tag: "fr", level: "B2" },
            ],
            regions: ["KE"],
            accreditations: [],
            availability: [{ start: "2027-01-01T00:00:00Z", end: "2027-03-31T00:00:00Z" }],
            blackouts: [],
          },
        })),
        { skipInvalid: false, dryRun: false, upsert: false },
        "measure",
      ),
    ),
  );
  await Promise.all(running.map((r) => r.checkpointer.flush()));
  // The auditor's source: the first hub, once it holds a verified view of every other hub's documents.
  const reader = running[0];
  const expected = running.slice(1).flatMap((r) =>
    r.documents
      .describe()
      .filter((d) => d.replicated && !d.releaseOnly && d.header.type !== "directory")
      .map((d) => ({ id: d.id, seq: r.checkpointer.latest(d.id)?.checkpoint.seq })),
  );
  const t0 = performance.now();
  await until(
    "the first hub to verify every other hub's documents",
    () => expected.every((e) => reader.views.view(e.id)?.checkpoint.seq === e.seq),
    300_000,
  );
  console.log(`replicated and verified at the first hub in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const tb = performance.now();
  const bundle = await buildAuditBundle({
    hubId: reader.config.hub.id,
    peerId: reader.identity.peerId,
    federationId: reader.config.federation.id,
    documents: reader.documents,
    checkpointer: reader.checkpointer,
    views: reader.views,
    repo: reader.repo,
    membership: reader.membership,
    coreSource: reader.coreSource,
  });
  const bytes = encodeBundle(bundle);
  const buildMs = performance.now() - tb;
  const json = Buffer.byteLength(JSON.stringify(bundle));
  const tv = performance.now();
  const report = await verifyBundle(decodeBundle(bytes), sec.peerId);
  const verifyMs = performance.now() - tv;
  const figures = {
    hubs: HUBS,
    trainersPerHub: TRAINERS,
    documents: report.documents,
    changes: report.changes,
    checkpoints: report.checkpoints,
    bundleBytesGzip: bytes.byteLength,
    bundleBytesJson: json,
    exportMs: Math.round(buildMs),
    verifyMs: Math.round(verifyMs),
    verified: report.ok,
    failures: report.failures.slice(0, 5),
  };
  console.log(JSON.stringify(figures, null, 2));
  if (!report.ok) process.exitCode = 1;
} finally {
  for (const node of nodes.reverse()) await node.stop().catch(() => undefined);
  await rm(work, { recursive: true, force: true });
}
