/**
 * `replication.adapters`: our two automerge-repo network adapters (libp2p, gRPC) against the stock
 * WebSocket adapters of automerge-repo, at the Repo level (each peer one Repo in its own worker
 * thread, in-memory storage, nothing else of a node), and against the floor: the same sync done in
 * memory with Automerge's sync functions. All on 127.0.0.1, in one run:
 *
 * 1. initial sync of a 10,000-trainer roster (sharded and encoded as the node does) from a peer
 *    that has it to a fresh one, through a counting TCP proxy: time, bytes each way, the largest
 *    event-loop stall on each side;
 * 2. propagation of a one-field change over a line of 5 peers (4 hops): p50/p99;
 * 3. replicated changes per second along a line of 3: N changes as fast as the first peer makes them.
 */
import { round, summarize, type Summary } from "../lib/stats.js";
import {
  figure,
  type Benchmark,
  type BenchmarkContext,
  type BenchmarkOutcome,
  type Conditions,
  type Figure,
} from "../lib/types.js";
import * as A from "@automerge/automerge";
import { countingProxy, startPeers, type PeerThread } from "./adapters-net.js";
import { floorInitialSync, floorPropagation, floorThroughput, type FloorSync } from "./adapters-floor.js";
import { now, type Transport } from "./adapters-protocol.js";
import { makeRoster, rosterDefaults, type Counter, type Roster } from "./adapters-roster.js";

const SEED = 11;
const TRAINERS = 10_000;
const LINE = 5;
const THROUGHPUT_LINE = 3;
/** Changes are spaced at least this far apart: automerge-repo forwards a change at most every 100 ms per document and peer. */
const SPACING_MS = 110;
/** Unrecorded warm-ups in each peer thread before the measured runs: a small roster's sync, a short burst. */
const WARM_UP_TRAINERS = 300;
const WARM_UP_BURST = 200;
/** Peer threads per transport: the longest line. */
const POOL = LINE;
/** The stock stack first: it is every figure's baseline. */
const TRANSPORTS: readonly Transport[] = ["websocket", "libp2p", "grpc"];
const OURS: ReadonlyArray<Exclude<Transport, "websocket">> = ["libp2p", "grpc"];
const LABEL: Readonly<Record<Transport, string>> = {
  websocket: "WebSocket (automerge-repo)",
  libp2p: "libp2p",
  grpc: "gRPC",
};
const BASELINE = "automerge-repo WebSocket";
/** Reference target: our initial sync of the 10k roster within 0.8 × the stock stack's time (baseline / ours ≥ 1 / 0.8). */
const SYNC_TARGET_RATIO = 1.25;
/** Reference target: the bytes to the fresh peer within 1.1 × the sync messages' bytes in memory (each shard sent once). */
const BYTES_TARGET_VS_FLOOR = 1.1;

interface Plan {
  /** Trainers in the roster synced to a fresh peer. */
  trainers: number;
  syncRuns: number;
  changes: number;
  burst: number;
  burstRuns: number;
}

const FULL: Plan = { trainers: TRAINERS, syncRuns: 3, changes: 200, burst: 5000, burstRuns: 3 };
const QUICK: Plan = { trainers: 2_000, syncRuns: 1, changes: 30, burst: 1000, burstRuns: 1 };

interface SyncRun {
  ms: number;
  connectMs: number;
  /** Bytes from the peer that has the roster to the fresh one, and back, as the proxy counted them. */
  down: number;
  up: number;
  connections: number;
  stallSourceMs: number;
  stallFreshMs: number;
}

interface PropagationRun {
  samples: number[];
  summary: Summary;
}

interface BurstRun {
  ms: number;
  producerMs: number;
  perSecond: number;
}

const median = (values: readonly number[]): number => summarize(values).p50;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * `count` peers of a pool, each with a new Repo and transport for one measurement, closed after it
 * (also when it fails). `accepts(i)`: whether peer i will be dialled.
 */
async function withPeers<T>(
  pool: readonly PeerThread[],
  count: number,
  body: (peers: PeerThread[]) => Promise<T>,
  accepts: (i: number) => boolean = () => true,
): Promise<T> {
  const peers = pool.slice(0, count);
  if (peers.length < count) throw new Error(`${count} peers asked of a pool of ${pool.length}`);
  try {
    await Promise.all(peers.map((p, i) => p.open(accepts(i))));
    return await body(peers);
  } finally {
    await Promise.all(peers.map((p) => p.close().catch(() => undefined)));
  }
}

/** Peer i lets in and dials peer i + 1: a line, neighbours only. */
async function connectLine(peers: readonly PeerThread[]): Promise<void> {
  await Promise.all(
    peers.map((p, i) =>
      p.call({ type: "allow", peers: [peers[i - 1], peers[i + 1]].flatMap((q) => (q ? [q.peerId] : [])) }),
    ),
  );
  await Promise.all(
    peers.slice(0, -1).map((p, i) =>
      p.call(
        {
          type: "dial",
          targets: [{ peerId: (peers[i + 1] as PeerThread).peerId, port: (peers[i + 1] as PeerThread).port }],
          timeoutMs: 20_000,
        },
        25_000,
      ),
    ),
  );
}

/**
 * The counter document, on every peer of the line before they connect (the same history under the
 * same id), so that what is measured is changes, not who finds the document first.
 */
async function shareCounter(peers: readonly PeerThread[]): Promise<string> {
  const first = peers[0] as PeerThread;
  const origin = A.change(A.init<Counter>(), (d) => {
    d.value = 0;
  });
  const saved = A.save(origin);
  const { ids } = await first.call({ type: "import", docs: [saved] });
  const id = ids[0] as string;
  await Promise.all(peers.slice(1).map((p) => p.call({ type: "import", docs: [saved], ids: [id] })));
  return id;
}

async function initialSync(context: BenchmarkContext, pool: readonly PeerThread[], roster: Roster): Promise<SyncRun> {
  const transport = (pool[0] as PeerThread).transport;
  return withPeers(
    pool,
    2,
    async ([source, fresh]) => {
      if (!source || !fresh) throw new Error("two peers expected");
      await source.call({ type: "allow", peers: [fresh.peerId] });
      await fresh.call({ type: "allow", peers: [source.peerId] });
      const { ids } = await source.call({ type: "import", docs: roster.saved }, 120_000);
      const proxy = await countingProxy(source.port);
      context.cleanup.add(`close the proxy to ${transport} source`, () => proxy.close());
      try {
        await Promise.all([source.call({ type: "monitor" }), fresh.call({ type: "monitor" })]);
        // libp2p checks the remote's key, not its address: dialling the proxy still proves it is the source.
        const r = await fresh.call(
          {
            type: "sync",
            targets: [{ peerId: source.peerId, port: proxy.port }],
            ids,
            heads: roster.heads,
            timeoutMs: 180_000,
          },
          190_000,
        );
        // The last replies (the fresh peer's acknowledgements) are still in flight: let them land.
        await sleep(300);
        const [stallSource, stallFresh] = await Promise.all([
          source.call({ type: "stall" }),
          fresh.call({ type: "stall" }),
        ]);
        if (proxy.connections === 0) throw new Error(`${transport}: nothing went through the proxy`);
        return {
          ms: r.doneAt - r.startedAt,
          connectMs: r.connectedAt - r.startedAt,
          down: proxy.down,
          up: proxy.up,
          connections: proxy.connections,
          stallSourceMs: stallSource.maxMs,
          stallFreshMs: stallFresh.maxMs,
        };
      } finally {
        await proxy.close();
      }
    },
    (i) => i === 0,
  );
}

async function propagation(pool: readonly PeerThread[], changes: number): Promise<PropagationRun> {
  return withPeers(pool, LINE, async (peers) => {
    const id = await shareCounter(peers);
    await connectLine(peers);
    const first = peers[0] as PeerThread;
    const last = peers.at(-1) as PeerThread;
    const samples: number[] = [];
    const warmUp = 5;
    await sleep(SPACING_MS);
    for (let k = 1; k <= warmUp + changes; k += 1) {
      await last.call({ type: "expect", id, value: k });
      const changed = await first.call({ type: "change", id, value: k });
      const seen = await last.call({ type: "seen", timeoutMs: 10_000 }, 12_000);
      if (k > warmUp) samples.push(seen.at - changed.at);
      await sleep(changed.at + SPACING_MS - now());
    }
    return { samples, summary: summarize(samples) };
  });
}

async function throughput(pool: readonly PeerThread[], plan: Plan): Promise<BurstRun[]> {
  return withPeers(pool, THROUGHPUT_LINE, async (peers) => {
    const id = await shareCounter(peers);
    await connectLine(peers);
    const first = peers[0] as PeerThread;
    const last = peers.at(-1) as PeerThread;
    // A warm-up burst first (not recorded): the threads' code paths compiled, as in a running hub.
    const runs: BurstRun[] = [];
    let value = 0;
    for (let r = -1; r < plan.burstRuns; r += 1) {
      await sleep(SPACING_MS);
      const from = value + 1;
      const to = value + (r < 0 ? WARM_UP_BURST : plan.burst);
      value = to;
      await last.call({ type: "expect", id, value: to });
      const burst = await first.call({ type: "burst", id, from, to }, 120_000);
      const seen = await last.call({ type: "seen", timeoutMs: 120_000 }, 125_000);
      const ms = seen.at - burst.startedAt;
      if (r >= 0) runs.push({ ms, producerMs: burst.endedAt - burst.startedAt, perSecond: (plan.burst / ms) * 1000 });
    }
    return runs;
  });
}

const pick = (s: Summary) => ({
  samples: s.samples,
  p50: round(s.p50, 3),
  p99: round(s.p99, 3),
  mean: round(s.mean, 3),
  min: round(s.min, 3),
  max: round(s.max, 3),
});

export const replicationAdapters: Benchmark = {
  name: "replication.adapters",
  title: "Replication adapters: libp2p and gRPC vs automerge-repo's WebSocket, and the in-memory floor",
  async run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
    const plan = context.quick ? QUICK : FULL;
    const rosterStart = now();
    const roster = makeRoster(SEED, plan.trainers);
    const savedBytes = roster.saved.reduce((sum, b) => sum + b.byteLength, 0);
    context.log(
      `  roster: ${roster.trainers.toLocaleString("en")} trainers in ${roster.shards} shards (${roster.perShard.join(", ")}), ` +
        `records ${round(roster.recordBytes / 2 ** 20, 2)} MiB, saved ${round(savedBytes / 2 ** 20, 2)} MiB (built in ${Math.round(now() - rosterStart)} ms)`,
    );

    // Peer threads, kept for the whole benchmark (each measurement opens new Repos in them).
    const poolStart = now();
    const pools = new Map<Transport, PeerThread[]>();
    for (const t of TRANSPORTS) {
      pools.set(
        t,
        await startPeers(
          t,
          Array.from({ length: POOL }, (_, i) => `${t} p${i}`),
          (what, stop) => context.cleanup.add(what, stop),
        ),
      );
    }
    const pool = (t: Transport) => pools.get(t) as PeerThread[];
    const warmUp = makeRoster(SEED + 1, WARM_UP_TRAINERS);
    for (const t of TRANSPORTS) await initialSync(context, pool(t), warmUp);
    context.log(
      `  ${TRANSPORTS.length} × ${POOL} peer threads started and warmed up (a ${WARM_UP_TRAINERS}-trainer sync each) in ${Math.round(now() - poolStart)} ms`,
    );

    // 1. Initial sync: the transports interleaved run by run, so that noise from other work spreads over all.
    const syncs = new Map<Transport, SyncRun[]>(TRANSPORTS.map((t) => [t, []]));
    const floors: FloorSync[] = [];
    for (let run = 1; run <= plan.syncRuns; run += 1) {
      for (const t of TRANSPORTS) {
        const r = await initialSync(context, pool(t), roster);
        syncs.get(t)?.push(r);
        context.log(
          `  initial sync ${run}/${plan.syncRuns}, ${LABEL[t]}: ${Math.round(r.ms)} ms (connected after ${Math.round(r.connectMs)} ms), ` +
            `${round(r.down / 2 ** 20, 2)} MiB down, ${round(r.up / 1024, 1)} KiB up, stalls ${Math.round(r.stallSourceMs)} / ${Math.round(r.stallFreshMs)} ms`,
        );
      }
      floors.push(floorInitialSync(roster.saved, roster.heads));
    }
    const floor = floors.at(-1) as FloorSync;
    const floorMs = median(floors.map((f) => f.ms));
    context.log(
      `  initial sync, in-memory floor: ${Math.round(floorMs)} ms, ${round(floor.down / 2 ** 20, 2)} MiB down, ${round(floor.up / 1024, 1)} KiB up, ${floor.messages} messages`,
    );
    for (const t of TRANSPORTS) {
      for (const r of syncs.get(t) ?? []) {
        // Whatever a transport adds, it carries at least the sync messages: less means the proxy was bypassed.
        if (r.down < floor.down)
          throw new Error(
            `${LABEL[t]}: the proxy counted ${r.down} bytes to the fresh peer, fewer than the sync messages' ${floor.down}`,
          );
      }
    }

    // 2. Propagation over a line of 5.
    const propagations = new Map<Transport, PropagationRun>();
    for (const t of TRANSPORTS) {
      const p = await propagation(pool(t), plan.changes);
      propagations.set(t, p);
      context.log(
        `  propagation over ${LINE - 1} hops, ${LABEL[t]}: p50 ${round(p.summary.p50, 2)} ms, p99 ${round(p.summary.p99, 2)} ms`,
      );
    }
    const floorProp = summarize(floorPropagation(LINE, plan.changes + 5).slice(5));
    context.log(`  propagation, in-memory floor: p50 ${round(floorProp.p50, 3)} ms, p99 ${round(floorProp.p99, 3)} ms`);

    // 3. Changes per second along a line of 3.
    const bursts = new Map<Transport, BurstRun[]>();
    for (const t of TRANSPORTS) {
      const runs = await throughput(pool(t), plan);
      bursts.set(t, runs);
      context.log(
        `  ${plan.burst.toLocaleString("en")} changes over ${THROUGHPUT_LINE - 1} hops, ${LABEL[t]}: ${runs.map((r) => `${Math.round(r.perSecond)}/s (${Math.round(r.ms)} ms)`).join(", ")}`,
      );
    }
    const floorBursts = Array.from({ length: plan.burstRuns }, () => floorThroughput(THROUGHPUT_LINE, plan.burst));
    const floorRate = median(floorBursts.map((b) => (plan.burst / b.ms) * 1000));
    context.log(`  changes per second, in-memory floor: ${Math.round(floorRate)}/s`);

    // Figures: ours (libp2p, gRPC) with the WebSocket stack as baseline.
    const shards = roster.shards;
    const syncConditions: Conditions = { peers: 2, trainers: roster.trainers, shards, runs: plan.syncRuns };
    const propConditions: Conditions = { peers: LINE, hops: LINE - 1, changes: plan.changes, runs: 1 };
    const burstConditions: Conditions = {
      peers: THROUGHPUT_LINE,
      hops: THROUGHPUT_LINE - 1,
      changes: plan.burst,
      runs: plan.burstRuns,
    };
    const of = (t: Transport, f: (r: SyncRun) => number) => median((syncs.get(t) ?? []).map(f));
    const p99Of = (t: Transport, f: (r: SyncRun) => number) => summarize((syncs.get(t) ?? []).map(f)).p99;
    const rateOf = (t: Transport) => median((bursts.get(t) ?? []).map((r) => r.perSecond));
    const prop = (t: Transport) => (propagations.get(t) as PropagationRun).summary;
    const figures: Figure[] = [];
    const base = (value: number) => ({ name: BASELINE, value });
    for (const t of OURS) {
      const label = LABEL[t];
      figures.push(
        figure({
          name: `initial sync of the roster (median), ${label}`,
          unit: "ms",
          ours: of(t, (r) => r.ms),
          baseline: base(of("websocket", (r) => r.ms)),
          targets: [{ on: "ratio", op: ">=", value: SYNC_TARGET_RATIO }],
          conditions: syncConditions,
        }),
        figure({
          name: `initial sync of the roster (p99 of runs), ${label}`,
          unit: "ms",
          ours: p99Of(t, (r) => r.ms),
          baseline: base(p99Of("websocket", (r) => r.ms)),
          conditions: syncConditions,
        }),
        figure({
          name: `initial sync: bytes to the fresh peer, ${label}`,
          unit: "bytes",
          ours: of(t, (r) => r.down),
          baseline: base(of("websocket", (r) => r.down)),
          targets: [{ on: "ours", op: "<=", value: Math.round(BYTES_TARGET_VS_FLOOR * floor.down) }],
          conditions: { ...syncConditions, measured: "counting TCP proxy" },
        }),
        figure({
          name: `initial sync: bytes from the fresh peer, ${label}`,
          unit: "bytes",
          ours: of(t, (r) => r.up),
          baseline: base(of("websocket", (r) => r.up)),
          conditions: { ...syncConditions, measured: "counting TCP proxy" },
        }),
        figure({
          name: `initial sync: largest event-loop stall, source peer, ${label}`,
          unit: "ms",
          ours: of(t, (r) => r.stallSourceMs),
          baseline: base(of("websocket", (r) => r.stallSourceMs)),
          conditions: { ...syncConditions, measured: "monitorEventLoopDelay max" },
        }),
        figure({
          name: `initial sync: largest event-loop stall, fresh peer, ${label}`,
          unit: "ms",
          ours: of(t, (r) => r.stallFreshMs),
          baseline: base(of("websocket", (r) => r.stallFreshMs)),
          conditions: { ...syncConditions, measured: "monitorEventLoopDelay max" },
        }),
        figure({
          name: `propagation over 4 hops p50, ${label}`,
          unit: "ms",
          ours: prop(t).p50,
          baseline: base(prop("websocket").p50),
          conditions: propConditions,
        }),
        figure({
          name: `propagation over 4 hops p99, ${label}`,
          unit: "ms",
          ours: prop(t).p99,
          baseline: base(prop("websocket").p99),
          conditions: propConditions,
        }),
        // Higher is better: the ratio is ours / baseline.
        figure({
          name: `replicated changes per second over 2 hops (higher is better), ${label}`,
          unit: "changes/s",
          ours: rateOf(t),
          baseline: base(rateOf("websocket")),
          ratio: rateOf(t) / rateOf("websocket"),
          conditions: burstConditions,
        }),
      );
    }
    figures.push(
      figure({
        name: "initial sync of the roster, in-memory floor (Automerge sync functions)",
        unit: "ms",
        ours: floorMs,
        conditions: { ...syncConditions, runs: floors.length },
      }),
      figure({
        name: "initial sync: sync message bytes to the fresh peer, in-memory floor",
        unit: "bytes",
        ours: floor.down,
        conditions: { ...syncConditions, runs: floors.length },
      }),
      figure({
        name: "initial sync: sync message bytes from the fresh peer, in-memory floor",
        unit: "bytes",
        ours: floor.up,
        conditions: { ...syncConditions, runs: floors.length },
      }),
      figure({
        name: "propagation over 4 hops p50, in-memory floor",
        unit: "ms",
        ours: floorProp.p50,
        conditions: propConditions,
      }),
      figure({
        name: "propagation over 4 hops p99, in-memory floor",
        unit: "ms",
        ours: floorProp.p99,
        conditions: propConditions,
      }),
      figure({
        name: "replicated changes per second over 2 hops, in-memory floor (one batch per hop)",
        unit: "changes/s",
        ours: floorRate,
        conditions: burstConditions,
      }),
    );

    // Each transport as a multiple of the floor (time ÷ floor, bytes ÷ floor; rate: floor ÷ rate).
    const vsFloor = Object.fromEntries(
      TRANSPORTS.map((t) => [
        t,
        {
          initialSyncTime: round(of(t, (r) => r.ms) / floorMs, 2),
          bytesToFresh: round(of(t, (r) => r.down) / floor.down, 3),
          bytesFromFresh: round(of(t, (r) => r.up) / Math.max(1, floor.up), 2),
          propagationP50: round(prop(t).p50 / floorProp.p50, 1),
          propagationP99: round(prop(t).p99 / floorProp.p99, 1),
          changesPerSecond: round(floorRate / rateOf(t), 2),
        },
      ]),
    );
    const x = (t: Transport, key: keyof (typeof vsFloor)[string]) => `${LABEL[t]} ${vsFloor[t]?.[key]}×`;
    const notes = [
      `Each peer is one automerge-repo Repo (2.5.6) in its own worker thread (its own event loop, as a hub has), in-memory storage, default share policy (announce to every peer), no checkpoints, no node; repo peer id = the libp2p peer id. The threads (5 per transport) live through the benchmark and were warmed up by a ${WARM_UP_TRAINERS}-trainer sync; every measurement opens new Repos and transports in them (new identities, empty storage). Ours use the strict hello binding and an allow-list of the neighbours (libp2p connection gater; gRPC allowed() with the Ed25519 challenge–response); WebSocket has neither.`,
      `Roster: ${roster.trainers.toLocaleString("en")} trainers of one hub (bench/availability/generate.ts, seed ${SEED}), validated and encoded as the node stores them (one ImmutableString of canonical JSON per trainer), in ${shards} shards: the node's default roster settings (${JSON.stringify(rosterDefaults())}) grown by its doubling rule, built as one ImportTrainers into a fresh roster writes it (a create change and an import change per shard). Records ${round(roster.recordBytes / 2 ** 20, 2)} MiB; saved documents ${round(savedBytes / 2 ** 20, 2)} MiB.`,
      `Initial sync: timed in the fresh peer from its first dial to every shard's heads equal to the source's (connecting, then Repo.find of each shard); bytes are everything both ways through a counting TCP proxy in front of the source (handshakes and framing included) up to 300 ms after; stalls are monitorEventLoopDelay's max in each peer over the same span. The fresh peer requests the shards while the source announces them: the two cross, the fresh peer (still empty) answers the announcement too, and Automerge reads its empty heads as a peer that lost its data, so the source sends the shard again: the stock WebSocket stack sends most shards twice. Our adapters hold that reply back while the request is being answered (node/network/crossed-requests.ts), so each shard crosses once. Targets: ≤ 0.8 × the stock stack's time, i.e. ratio ≥ ${SYNC_TARGET_RATIO}; bytes to the fresh peer ≤ ${BYTES_TARGET_VS_FLOOR} × the floor's sync messages (goals, not assertions).`,
      `Initial sync vs the in-memory floor (time ÷ floor; the floor does both sides' work once in one thread, the peers in two threads at once, so a transport can come under 1×): ${TRANSPORTS.map((t) => x(t, "initialSyncTime")).join(", ")}; bytes to the fresh peer ÷ the sync messages' bytes: ${TRANSPORTS.map((t) => x(t, "bytesToFresh")).join(", ")}.`,
      `Propagation: a change at one end of a line of ${LINE} (each peer connected to its neighbours only, peer i dialling i + 1), timed until the far end's Repo emits it; changes spaced ${SPACING_MS} ms apart (automerge-repo forwards a document to a peer at most every 100 ms), 5 unrecorded warm-up changes. Vs the floor (one message per hop in memory): p50 ${TRANSPORTS.map((t) => x(t, "propagationP50")).join(", ")}; p99 ${TRANSPORTS.map((t) => x(t, "propagationP99")).join(", ")}.`,
      `Changes per second: the first of a line of ${THROUGHPUT_LINE} makes ${plan.burst.toLocaleString("en")} one-field changes, yielding to its event loop after each, timed from the first change until the last peer has the last one (after an unrecorded ${WARM_UP_BURST}-change burst). The floor makes them and syncs each hop once (one batch): floor ÷ ours ${TRANSPORTS.map((t) => x(t, "changesPerSecond")).join(", ")}.`,
    ];
    if (context.quick) {
      notes.push(
        `Quick run: ${QUICK.trainers.toLocaleString("en")} trainers, ${QUICK.syncRuns} initial sync per transport, ${QUICK.changes} propagated changes, ${QUICK.burst.toLocaleString("en")} changes × ${QUICK.burstRuns} run (full: ${FULL.trainers.toLocaleString("en")}, ${FULL.syncRuns}, ${FULL.changes}, ${FULL.burst.toLocaleString("en")} × ${FULL.burstRuns}).`,
      );
    }
    return {
      conditions: {
        trainers: roster.trainers,
        shards,
        seed: SEED,
        automergeRepo: "2.5.6",
        peersIn: "worker threads",
        storage: "in-memory",
        mode: context.quick ? "quick" : "full",
      },
      figures,
      details: {
        roster: {
          trainers: roster.trainers,
          shards,
          perShard: roster.perShard,
          recordBytes: roster.recordBytes,
          savedBytes,
        },
        initialSync: Object.fromEntries(
          TRANSPORTS.map((t) => [
            t,
            (syncs.get(t) ?? []).map((r) => ({
              ...r,
              ms: round(r.ms, 1),
              connectMs: round(r.connectMs, 1),
              stallSourceMs: round(r.stallSourceMs, 1),
              stallFreshMs: round(r.stallFreshMs, 1),
            })),
          ]),
        ),
        initialSyncFloor: floors.map((f) => ({ ...f, ms: round(f.ms, 1) })),
        propagation: Object.fromEntries(TRANSPORTS.map((t) => [t, pick(prop(t))])),
        propagationFloor: pick(floorProp),
        changesPerSecond: Object.fromEntries(
          TRANSPORTS.map((t) => [
            t,
            (bursts.get(t) ?? []).map((r) => ({
              ms: round(r.ms, 1),
              producerMs: round(r.producerMs, 1),
              perSecond: Math.round(r.perSecond),
            })),
          ]),
        ),
        changesPerSecondFloor: floorBursts.map((b) => ({
          ms: round(b.ms, 1),
          changeMs: round(b.changeMs, 1),
          perSecond: Math.round((plan.burst / b.ms) * 1000),
        })),
        vsFloor,
      },
      notes,
    };
  },
};
