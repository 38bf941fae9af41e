/**
 * admission.fuzz: does a node keep answering while a member floods it with malformed sync frames?
 * Three node processes on loopback (the secretariat, the hub under test with a roster, and a member
 * whose key the charter admits but that runs no node: the fuzzer holds its key). A probe calls the
 * hub's GetStatus every 20 ms, open loop (bench/bulk/probe.ts), while the fuzzer sends FRAMES
 * malformed frames of every kind (malformed.ts) over libp2p, then over gRPC, as fast as the
 * transport takes them, opening a new channel each time the hub drops one. The baseline is the same
 * probe with the hub idle, in the same run. After each flood, a write at the secretariat must still
 * reach the hub (honest replication goes on).
 */
import { join } from "node:path";
import { loadIdentityFile } from "../../node/identity/index.js";
import { charterIdOf } from "../../node/federation/index.js";
import { Probe } from "../bulk/probe.js";
import { probeStats, type Window } from "../bulk/stalls.js";
import { adminToken, type NodeClient } from "../lib/api.js";
import { lineDials, ProcessFederation, rosterDocumentOf, trainerMessage, type Hub } from "../lib/federation-nodes.js";
import { liveNodes } from "../lib/nodes.js";
import { waitUntil } from "../lib/wait.js";
import { figure, type Benchmark, type BenchmarkContext, type BenchmarkOutcome, type Figure } from "../lib/types.js";
import { malformedFrames } from "./malformed.js";
import { grpcSender, libp2pSender, type RawSender } from "./senders.js";

const FULL = { frames: 10_000, trainers: 1_000, idleMs: 5_000 };
const QUICK = { frames: 2_000, trainers: 200, idleMs: 2_000 };
const P99_TARGET_MS = 100;
const epoch = () => performance.timeOrigin + performance.now();

interface Flood {
  transport: "libp2p" | "grpc";
  window: Window;
  frames: number;
  channels: number;
  kinds: Record<string, number>;
  replicatedMs: number;
}

/** `promise`, or an error naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
}

async function flood(
  transport: Flood["transport"],
  sender: RawSender,
  frames: Iterable<{ kind: string; payload: Uint8Array; closesChannel: boolean }>,
  log: (message: string) => void,
): Promise<Omit<Flood, "replicatedMs" | "transport">> {
  const kinds: Record<string, number> = {};
  let count = 0;
  const from = epoch();
  for (const frame of frames) {
    kinds[frame.kind] = (kinds[frame.kind] ?? 0) + 1;
    await within(
      sender.send(frame.payload),
      30_000,
      `${transport}: the hub to take frame ${count + 1} ('${frame.kind}')`,
    );
    if ((count + 1) % 1000 === 0) log(`    ${count + 1} frames, ${sender.channels} channel(s)`);
    // A frame the hub drops the channel for: the next goes on a new channel, once it is dropped.
    if (frame.closesChannel && !(await sender.awaitDrop(10_000)))
      throw new Error(`${transport}: the hub did not drop the channel after a '${frame.kind}' frame`);
    count += 1;
  }
  return { window: { from, to: epoch() }, frames: count, channels: sender.channels, kinds };
}

async function run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
  const plan = context.quick ? QUICK : FULL;
  const work = await context.tempDir("concordat-bench-fuzz-");
  const live = liveNodes(context.cleanup);
  // Hub 2 is admitted but never started: the fuzzer speaks with its key.
  const federation = await ProcessFederation.create({
    work,
    hubs: 3,
    dials: lineDials(2),
    later: [2],
    prefix: "fuzz",
    live,
    log: context.log,
    perHub: plan.trainers,
    grpc: true,
  });
  const [secretariat, target, member] = federation.hubs as [Hub, Hub, Hub];
  const identity = await loadIdentityFile(join(member.dataDir, "identity.key"));
  const address = (await (target.proc as NonNullable<Hub["proc"]>).started).address;
  const probe = new Probe(address, await adminToken(target.dataDir));
  context.cleanup.add("the probe", () => probe.close());
  await probe.warmUp();
  probe.start();

  const documents = [target.directoryId, charterIdOf(secretariat.peerId)];
  const floods: Flood[] = [];
  for (const transport of ["libp2p", "grpc"] as const) {
    context.log(`  ${transport}: ${plan.frames} malformed frames from ${member.hubId}`);
    const sender =
      transport === "libp2p"
        ? await libp2pSender(
            identity.privateKey,
            identity.peerId,
            `/ip4/127.0.0.1/tcp/${target.libp2pPort}/p2p/${target.peerId}`,
          )
        : await grpcSender((data) => identity.signSync(data), identity.peerId, "concordat-dev", address);
    try {
      // Made before the flood: making them (an inflation bomb deflates 64 MiB) would stall this
      // process, and the probe with it.
      const frames = [
        ...malformedFrames(
          { sender: identity.peerId, target: target.peerId, documents },
          plan.frames,
          transport === "libp2p" ? 1 : 2,
        ),
      ];
      const done = await flood(transport, sender, frames, context.log);
      // Honest replication goes on: a trainer added at the secretariat reaches the hub.
      const id = `FUZZ-${transport}`;
      const wrote = Date.now();
      await (secretariat.api as NodeClient).trainers.addTrainer({
        trainer: trainerMessage(id, `After the ${transport} flood`),
      });
      const document = rosterDocumentOf(secretariat, id);
      const applied = await waitUntil(
        `${target.hubId} to verify ${id}`,
        (see) => {
          const latest = target.log?.refresh().latest(document);
          see(
            latest
              ? `its view of ${document} is at seq ${latest.seq}, from before the write`
              : `no verified view of ${document}`,
          );
          return target.log?.firstAbove(document, wrote * 1000);
        },
        60_000,
        20,
      );
      floods.push({ transport, ...done, replicatedMs: applied.time - wrote });
    } finally {
      await sender.close();
    }
  }
  // The baseline: the same probe, the hub idle (after the floods and the writes that followed them).
  const idle: Window = { from: epoch(), to: 0 };
  await new Promise((resolve) => setTimeout(resolve, plan.idleMs));
  idle.to = epoch();
  await probe.stop();
  const idleStats = probeStats(probe.samples, idle);
  const figures: Figure[] = [];
  const details: Record<string, unknown> = { idle: idleStats };
  for (const f of floods) {
    const stats = probeStats(probe.samples, f.window, idleStats.p50);
    const ownLateMs = Math.max(
      0,
      ...probe.ownLag.filter(([at]) => at >= f.window.from && at <= f.window.to).map(([, late]) => late),
    );
    details[f.transport] = { ...f, probe: stats, benchProcessMostLateMs: Math.round(ownLateMs) };
    const conditions = {
      transport: f.transport,
      frames: f.frames,
      channels: f.channels,
      seconds: Math.round((f.window.to - f.window.from) / 100) / 10,
      trainers: plan.trainers,
    };
    figures.push(
      figure({
        name: `API probe p99 during ${f.frames} malformed frames (${f.transport})`,
        unit: "ms",
        ours: stats.p99,
        baseline: { name: "the same probe, idle", value: idleStats.p99 },
        targets: [{ on: "ours", op: "<=", value: P99_TARGET_MS }],
        conditions,
      }),
    );
    figures.push(
      figure({
        name: `API probe max during the flood (${f.transport})`,
        unit: "ms",
        ours: stats.max,
        baseline: { name: "idle max", value: idleStats.max },
        conditions,
      }),
    );
    figures.push(
      figure({
        name: `malformed frames taken per second (${f.transport})`,
        unit: "frames/s",
        ours: Math.round(f.frames / ((f.window.to - f.window.from) / 1000)),
        conditions,
      }),
    );
    figures.push(
      figure({
        name: `a write at the secretariat reaching the hub after the flood (${f.transport})`,
        unit: "ms",
        ours: f.replicatedMs,
        conditions,
      }),
    );
  }
  return {
    conditions: { hubs: 2, members: 3, probeIntervalMs: 20 },
    figures,
    details,
    notes: [
      `Frames of ${Object.keys(floods[0]?.kinds ?? {}).length} kinds (bench/admission/malformed.ts); the hub drops the channel for the few that break the channel protocol, and the fuzzer opens a new one.`,
      ...(context.quick
        ? [
            `--quick: ${plan.frames} frames per transport and ${plan.trainers} trainers instead of ${FULL.frames} and ${FULL.trainers}.`,
          ]
        : []),
    ],
  };
}

export const admissionFuzz: Benchmark = {
  name: "admission.fuzz",
  title: "API latency while a member floods a hub with malformed sync frames (libp2p, gRPC)",
  run,
};
