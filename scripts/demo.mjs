// `npm run demo`: a secretariat and four hubs on loopback, each a separate `concordat start` process.
// The secretariat creates the charter and admits the hubs; the hubs form a ring over libp2p (each
// dials the next, the first also dials the secretariat), so most documents travel through relays.
// Each hub gets a sample roster; then a trainer is added at one hub and the demo prints how long the
// change took to reach each of the others. Ctrl-C stops them all.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { credentials, Metadata } from "@grpc/grpc-js";
import { parse, stringify } from "yaml";
import { NodeServiceClient } from "../dist/node/api/generated/concordat/v1/node.js";
import { TrainerServiceClient, Trainer } from "../dist/node/api/generated/concordat/v1/trainers.js";
import { FederationServiceClient } from "../dist/node/api/generated/concordat/v1/federation.js";
import { initDataDir } from "../dist/node/setup.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "dist/cli/main.js");
const SECRETARIAT = { hub: "ssr-secretariat", name: "SSR Standards Secretariat", lang: "en", region: "Global" };
const HUBS = [
  { hub: "nairobi-ptc", name: "Nairobi Peace Support Training Centre", lang: "en", region: "KE" },
  { hub: "dakar-ecole", name: "École de maintien de la paix, Dakar", lang: "fr", region: "SN" },
  { hub: "amman-academy", name: "Amman Police Academy", lang: "ar", region: "JO" },
  { hub: "kyiv-border", name: "Border Guard Academy, Kyiv", lang: "uk", region: "UA" },
];

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

const unary = (client, method, request, md) =>
  new Promise((resolve, reject) =>
    client[method](request, md, { deadline: new Date(Date.now() + 30_000) }, (e, r) => (e ? reject(e) : resolve(r))),
  );

const children = [];
let stopping = false;
async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  console.log("\nstopping the hubs…");
  for (const c of children) c.kill("SIGTERM");
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.once("exit", r)))));
  if (workDir) await rm(workDir, { recursive: true, force: true });
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

let workDir = "";
try {
  workDir = await mkdtemp(join(tmpdir(), "concordat-demo-"));
  const base = await readFile(join(root, "config/default.yaml"), "utf8");
  const ports = await freePorts((HUBS.length + 1) * 2);
  const everyone = [];
  for (const [i, h] of [SECRETARIAT, ...HUBS].entries()) {
    const dataDir = join(workDir, h.hub);
    const anchor = everyone[0]?.peerId;
    const init = await initDataDir({
      dataDir,
      hubId: h.hub,
      name: h.name,
      secretariat: i === 0,
      ...(anchor ? { anchor } : {}),
      baseConfig: base,
      baseConfigSource: "default",
    });
    const token = (await readFile(join(dataDir, "admin.token"), "utf8")).trim();
    everyone.push({ ...h, dataDir, peerId: init.peerId, token, libp2p: ports[2 * i], api: ports[2 * i + 1] });
  }
  const [secretariat, ...nodes] = everyone;
  // Who dials whom: the ring, and the first hub to the secretariat.
  const dials = new Set(nodes.map((me, i) => `${me.hub}>${nodes[(i + 1) % nodes.length].hub}`));
  dials.add(`${nodes[0].hub}>${secretariat.hub}`);
  for (const me of everyone) {
    const path = join(me.dataDir, "config.yaml");
    const config = parse(await readFile(path, "utf8"));
    config.api.port = me.api;
    config.log = { level: "warn", pretty: false };
    config.network = {
      listen: [`/ip4/127.0.0.1/tcp/${me.libp2p}`],
      grpc: true,
      // Neighbours only: whom it dials (with an address) and who dials it (allowed before it has
      // verified the charter).
      peers: everyone
        .filter((o) => dials.has(`${me.hub}>${o.hub}`) || dials.has(`${o.hub}>${me.hub}`))
        .map((o) => ({
          peerId: o.peerId,
          libp2p: dials.has(`${me.hub}>${o.hub}`) ? [`/ip4/127.0.0.1/tcp/${o.libp2p}`] : [],
        })),
    };
    await writeFile(path, stringify(config));
  }
  console.log(`Starting a secretariat and ${nodes.length} hubs in ${workDir} (a ring over libp2p on 127.0.0.1)…`);
  for (const n of everyone) {
    const child = spawn(process.execPath, [cli, "start", "--data", n.dataDir], { stdio: ["ignore", "ignore", "pipe"] });
    children.push(child);
    await new Promise((resolve, reject) => {
      let err = "";
      child.stderr.on("data", (d) => {
        err += d;
        if (err.includes("is serving on")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`${n.hub} exited (${code}): ${err}`)));
    });
    const md = new Metadata();
    md.set("authorization", `Bearer ${n.token}`);
    n.md = md;
    n.trainers = new TrainerServiceClient(`127.0.0.1:${n.api}`, credentials.createInsecure());
    n.node = new NodeServiceClient(`127.0.0.1:${n.api}`, credentials.createInsecure());
    console.log(`  ${n.hub.padEnd(15)} api 127.0.0.1:${n.api}  libp2p /ip4/127.0.0.1/tcp/${n.libp2p}  ${n.peerId}`);
    if (n === secretariat) {
      // The charter: the secretariat admits every hub by its peer id.
      const federation = new FederationServiceClient(`127.0.0.1:${n.api}`, credentials.createInsecure());
      await unary(federation, "createFederation", { addresses: [`/ip4/127.0.0.1/tcp/${n.libp2p}`] }, n.md);
      for (const h of nodes)
        await unary(
          federation,
          "admitMember",
          { hub: h.hub, peerId: h.peerId, addresses: [], name: h.name, region: h.region, directoryId: "" },
          n.md,
        );
      federation.close();
      console.log(`  the secretariat signed a charter admitting ${nodes.length} hubs`);
    }
  }

  // Sample rosters: 200 trainers per hub.
  for (const n of nodes) {
    for (let i = 0; i < 200; i += 1) {
      await unary(
        n.trainers,
        "addTrainer",
        {
          trainer: Trainer.fromPartial({
            id: `${n.hub}-${String(i).padStart(3, "0")}`,
            displayName: `Trainer ${i} of ${n.hub}`,
            languages: [
              { tag: n.lang, level: "C2" },
              { tag: n.lang === "en" ? "fr" : "en", level: "B2" },
            ],
            regions: [n.region],
          }),
        },
        n.md,
      );
    }
  }
  console.log("Sample rosters added (200 trainers per hub); waiting for the ring to converge…");

  const headsAt = async (n) => {
    const listed = await unary(n.node, "listPeers", { includeDocuments: true }, n.md);
    return new Map(listed.documents.map((d) => [d.documentId, [...d.heads].sort().join(",")]));
  };
  const waitSame = async (owner, reader, docs, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [ours, theirs] = await Promise.all([headsAt(owner), headsAt(reader)]);
      if (docs.every((d) => ours.get(d) !== undefined && ours.get(d) === theirs.get(d))) return;
      if (Date.now() > deadline) throw new Error(`${reader.hub} did not converge with ${owner.hub}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  for (const owner of nodes) {
    const docs = await unary(owner.node, "getStatus", {}, owner.md).then((s) =>
      s.documents.filter((d) => d.replicated).map((d) => d.id),
    );
    await Promise.all(nodes.filter((r) => r !== owner).map((r) => waitSame(owner, r, docs, 60_000)));
  }

  // The change: one trainer added at the first hub.
  const origin = nodes[0];
  const before = await headsAt(origin);
  const t0 = performance.now();
  await unary(
    origin.trainers,
    "addTrainer",
    {
      trainer: Trainer.fromPartial({
        id: "demo-new-trainer",
        displayName: "Amina Odhiambo",
        languages: [{ tag: "sw", level: "C2" }],
        regions: ["KE", "UG"],
      }),
    },
    origin.md,
  );
  const after = await headsAt(origin);
  const changed = [...after.keys()].filter((d) => after.get(d) !== before.get(d));
  console.log(`\nAdded trainer 'demo-new-trainer' at ${origin.hub}; it changed ${changed.length} document(s).`);
  await Promise.all(
    nodes.slice(1).map(async (reader) => {
      await waitSame(origin, reader, changed, 30_000);
      console.log(`  reached ${reader.hub.padEnd(14)} after ${(performance.now() - t0).toFixed(0)} ms`);
    }),
  );
  console.log("\nThe hubs keep running: try `concordat --api 127.0.0.1:<api> --token <token> peers`.");
  for (const n of everyone) console.log(`  ${n.hub.padEnd(15)} --api 127.0.0.1:${n.api} --token ${n.token}`);
  console.log("Press Ctrl-C to stop them all.");
} catch (error) {
  console.error(`demo failed: ${error.message}`);
  await stopAll(1);
}
