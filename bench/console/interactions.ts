/**
 * The web console's interactions against a real node holding 50 hubs × 1,000 foreign trainers (the
 * shared target T of availability/target.ts; `--quick`: 5 × 200): each call a console screen makes,
 * timed through the console's gRPC-Web endpoint (Connect's gRPC-Web client over HTTP/1.1, as a
 * browser speaks it, with the page's headers) and, as the baseline in the same rounds, straight to
 * the node's gRPC API (the node's own client, as the CLI calls it). Every answer through the console
 * must equal the direct answer given just before or after it, or the benchmark fails.
 */
import { isDeepStrictEqual } from "node:util";
import { type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { FindAvailableTrainersResponse } from "../../node/api/generated/concordat/v1/availability.js";
import { ListBookingsResponse } from "../../node/api/generated/concordat/v1/bookings.js";
import { ShowCurriculumResponse } from "../../node/api/generated/concordat/v1/core.js";
import { ListMembersResponse } from "../../node/api/generated/concordat/v1/federation.js";
import { GetStatusResponse, ListPeersResponse } from "../../node/api/generated/concordat/v1/node.js";
import { CoverageReportResponse } from "../../node/api/generated/concordat/v1/reports.js";
import { ListTrainersResponse } from "../../node/api/generated/concordat/v1/trainers.js";
import { dataPaths } from "../../node/paths.js";
import { readRuntimeFile } from "../../node/runtime-file.js";
import {
  AvailabilityService,
  type FindAvailableTrainersRequest as FindRequestShape,
  FindAvailableTrainersResponseSchema,
} from "../../web/generated/concordat/v1/availability_pb.js";
import { BookingService, ListBookingsResponseSchema } from "../../web/generated/concordat/v1/bookings_pb.js";
import { CoreService, ShowCurriculumResponseSchema } from "../../web/generated/concordat/v1/core_pb.js";
import { FederationService, ListMembersResponseSchema } from "../../web/generated/concordat/v1/federation_pb.js";
import {
  GetStatusResponseSchema,
  ListPeersResponseSchema,
  NodeService,
} from "../../web/generated/concordat/v1/node_pb.js";
import { CoverageReportResponseSchema, ReportService } from "../../web/generated/concordat/v1/reports_pb.js";
import { ListTrainersResponseSchema, TrainerService } from "../../web/generated/concordat/v1/trainers_pb.js";
import { PROBE, makeHubs, profiles, YEAR_START } from "../availability/generate.js";
import {
  FREE_PORTS_ENV,
  FULL_TARGET,
  SEED,
  startNode,
  TARGET_HUB,
  TARGET_SETUP,
  targetSetup,
  toTrainerMessage,
  untilComplete,
} from "../availability/target.js";
import { adminToken, importMessages, type NodeClient } from "../lib/api.js";
import { liveNodes } from "../lib/nodes.js";
import { median, percentile, round } from "../lib/stats.js";
import { figure, type Benchmark, type BenchmarkContext, type BenchmarkOutcome, type Figure } from "../lib/types.js";
import { allowance, waitUntil } from "../lib/wait.js";

/** What the console must answer within, at p99, for every interaction. */
const TARGET_MS = 200;
const ROUNDS = 30;
const WARM_UP = 5;
/** Outgoing booking requests T makes before the measurement, so that ListBookings lists some. */
const BOOKINGS = { full: 20, quick: 5 };
const DAY_MS = 86_400_000;

const iso = (ms: number) => new Date(ms).toISOString();

/** One interaction, measured both ways: `direct` over the node's gRPC API, `viaConsole` through the console. */
interface Interaction {
  name: string;
  /** The console screen that makes the call. */
  screen: string;
  direct(): Promise<unknown>;
  viaConsole(): Promise<unknown>;
  /** Where the two answers differ (after `normalize`), or undefined when they are equal. */
  difference(direct: unknown, viaConsole: unknown): string | undefined;
  /** How big the answer was, for the notes. */
  size(direct: unknown): string;
}

/** The first path at which `a` and `b` differ. */
function firstDifference(a: unknown, b: unknown, path = "response"): string | undefined {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      const found = firstDifference(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
      if (found) return found;
    }
  }
  return `${path}: direct ${JSON.stringify(a)?.slice(0, 200)}, through the console ${JSON.stringify(b)?.slice(0, 200)}`;
}

/**
 * An interaction whose direct answer is a ts-proto message `D` and whose console answer is the same
 * message as protobuf-es decoded it: that one is encoded again and decoded by ts-proto, so that both
 * are compared as the same kind of object, every field, after `normalize` clears what changes with
 * time alone (e.g. seconds since a checkpoint).
 */
function interaction<D, S extends DescMessage>(spec: {
  name: string;
  screen: string;
  direct(): Promise<D>;
  viaConsole(): Promise<MessageShape<S>>;
  schema: S;
  decode(bytes: Uint8Array): D;
  normalize?(answer: D): D;
  size(answer: D): string;
}): Interaction {
  const normalize = spec.normalize ?? ((x: D) => x);
  return {
    name: spec.name,
    screen: spec.screen,
    direct: spec.direct,
    viaConsole: spec.viaConsole,
    difference: (direct, viaConsole) =>
      firstDifference(
        normalize(direct as D),
        normalize(spec.decode(toBinary(spec.schema, viaConsole as MessageShape<S>))),
      ),
    size: (direct) => spec.size(direct as D),
  };
}

/** Drops the keys that say when a report was made (it is made anew for each call). */
function withoutTimes(json: string): string {
  return JSON.stringify(JSON.parse(json), (key, value: unknown) =>
    key === "generatedAt" || key === "asOf" ? undefined : value,
  );
}

/** The console's gRPC-Web clients, with the headers a browser's same-origin call carries. */
function consoleClients(url: string, token: string) {
  const origin = url.replace(/\/$/, "");
  const browser: Interceptor = (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    request.header.set("origin", origin);
    request.header.set("sec-fetch-site", "same-origin");
    return next(request);
  };
  const transport = createGrpcWebTransport({
    baseUrl: origin,
    httpVersion: "1.1",
    useBinaryFormat: true,
    interceptors: [browser],
    defaultTimeoutMs: 30_000,
  });
  return {
    availability: createClient(AvailabilityService, transport),
    node: createClient(NodeService, transport),
    federation: createClient(FederationService, transport),
    trainers: createClient(TrainerService, transport),
    bookings: createClient(BookingService, transport),
    reports: createClient(ReportService, transport),
    core: createClient(CoreService, transport),
  };
}

interface Measured {
  name: string;
  screen: string;
  answer: string;
  direct: number[];
  viaConsole: number[];
}

async function timed<T>(call: () => Promise<T>): Promise<{ ms: number; answer: T }> {
  const start = performance.now();
  const answer = await call();
  return { ms: performance.now() - start, answer };
}

/** Warm-up rounds, then `rounds` timed ones, one call at a time; direct first on even rounds, the console first on odd ones. */
async function measure(x: Interaction, rounds: number): Promise<Measured> {
  const direct: number[] = [];
  const viaConsole: number[] = [];
  let answer = "";
  for (let round = -WARM_UP; round < rounds; round += 1) {
    let d: { ms: number; answer: unknown };
    let c: { ms: number; answer: unknown };
    if (round % 2 === 0) {
      d = await timed(x.direct);
      c = await timed(x.viaConsole);
    } else {
      c = await timed(x.viaConsole);
      d = await timed(x.direct);
    }
    const difference = x.difference(d.answer, c.answer);
    if (difference)
      throw new Error(`${x.name}: the console's answer differs from the direct one (round ${round}): ${difference}`);
    answer = x.size(d.answer);
    if (round < 0) continue;
    direct.push(d.ms);
    viaConsole.push(c.ms);
  }
  return { name: x.name, screen: x.screen, answer, direct, viaConsole };
}

function quantiles(samples: readonly number[]): { p50: number; p95: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

export const consoleInteractions: Benchmark = {
  name: "console.interactions",
  title: "Web console: each screen's calls through gRPC-Web against direct gRPC, 50 hubs × 1,000 trainers",
  shares: [TARGET_SETUP],
  async run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
    const { cleanup, log } = context;
    const setup = await targetSetup(context);
    const { plan, label } = setup;
    const live = liveNodes(cleanup);

    // The secretariat (holding the same documents) and T both run, so that T has a peer in sync.
    const [secretariat, target] = await Promise.all([
      startNode(setup.secretariat.dataDir, { ...FREE_PORTS_ENV }, live),
      startNode(setup.target.dataDir, setup.target.env, live),
    ]);
    cleanup.add("close the clients", () => {
      secretariat.api.close();
      target.api.close();
    });
    await Promise.all([
      untilComplete(target.api, setup.expected),
      untilComplete(secretariat.api, setup.expected, "the secretariat"),
    ]);

    // T's own roster, as a hub has one (its index answers for it live), and a few outgoing requests.
    const own = makeHubs(plan.hubs + 1).at(-1);
    if (!own) throw new Error("no hub to generate T's roster from");
    const ownTrainers = [
      ...profiles(SEED, setup.framework, [{ ...own, id: "hub-00" }], plan.perHub, { probeWindow: true }),
    ].map(toTrainerMessage);
    const imported = await target.api.trainers.importTrainers(importMessages(ownTrainers), { deadlineMs: 300_000 });
    if (!imported.committed || imported.imported !== plan.perHub)
      throw new Error(`T imported ${imported.imported} of ${plan.perHub} trainers: ${JSON.stringify(imported.errors)}`);
    const total = setup.expected + plan.perHub;
    await untilComplete(target.api, total);
    const foreign = await target.api.availability.findAvailableTrainers({
      ...PROBE_FIND,
      hub: setup.hubs[0]?.id ?? "",
      pageSize: 50,
    });
    const bookings = context.quick ? BOOKINGS.quick : BOOKINGS.full;
    for (let i = 0; i < bookings; i += 1) {
      const trainer = foreign.trainers[i];
      if (!trainer) throw new Error(`only ${foreign.trainers.length} trainers of ${setup.hubs[0]?.id} to book`);
      await target.api.bookings.requestBooking({
        requestId: `bench-console-${i + 1}`,
        trainerHub: trainer.hub,
        trainerId: trainer.trainerId,
        from: PROBE_FIND.from,
        to: PROBE_FIND.to,
        competency: "",
        course: "Bench course",
        note: "",
        expiresAt: "",
      });
    }

    // Every shared document in sync with the secretariat before anything is timed.
    const synced = await waitUntil(
      "the target and the secretariat to hold the same heads of every shared document",
      async (see) => {
        const peers = await target.api.node.listPeers({ includeDocuments: true }).catch(() => undefined);
        if (!peers) {
          see("no answer to ListPeers");
          return false;
        }
        const behind = peers.documents.filter((d) => !d.inSync).length;
        see(`${peers.peers.length} peers, ${peers.documents.length} documents, ${behind} not in sync`);
        return peers.peers.length === 1 && peers.documents.length > 0 && behind === 0 ? peers : false;
      },
      allowance(60_000, 20, total),
      250,
    );
    log(
      `  ${label}: T holds its own ${plan.perHub.toLocaleString("en")} trainers and ${bookings} requests, ${synced.documents.length} documents in sync with the secretariat`,
    );

    // The console's address as T wrote it for this machine (node.json), and a browser's client of it.
    const runtime = await readRuntimeFile(dataPaths(setup.target.dataDir).runtime);
    const url = runtime.kind === "found" && runtime.runtime.state === "running" ? runtime.runtime.console : undefined;
    if (!url) throw new Error(`T's node.json names no console: ${JSON.stringify(runtime)}`);
    const web = consoleClients(url, await adminToken(setup.target.dataDir));
    const api: NodeClient = target.api;

    const first = setup.hubs[0];
    if (!first) throw new Error("no source hub");
    const competency = setup.framework.byDepth[1][0] ?? "";
    const week = { from: iso(YEAR_START + 60 * DAY_MS), to: iso(YEAR_START + 67 * DAY_MS) };
    const finds: Array<{ name: string; request: Partial<FindRequestShape> }> = [
      { name: "competency and a week", request: { competency, ...week } },
      {
        name: "language at B2 and country, a week",
        request: { language: first.language, minLevel: "B2", region: first.country, ...week },
      },
      { name: "dates only (every trainer free)", request: { ...PROBE_FIND } },
      {
        name: "5 consecutive free days within 4 weeks",
        request: { from: iso(YEAR_START + 120 * DAY_MS), to: iso(YEAR_START + 148 * DAY_MS), minConsecutiveDays: 5 },
      },
    ];
    const coverage = { from: "2027-01-01", to: "2027-12-31", publicOnly: false };
    const interactions: Interaction[] = [
      ...finds.map(({ name, request }) => {
        const full = { ...EMPTY_FIND, ...request, pageSize: 50 };
        return interaction({
          name: `FindAvailableTrainers, ${name}, first page`,
          screen: "find",
          direct: () => api.availability.findAvailableTrainers(full),
          viaConsole: () => web.availability.findAvailableTrainers(full),
          schema: FindAvailableTrainersResponseSchema,
          decode: (bytes) => FindAvailableTrainersResponse.decode(bytes),
          // This hub answers live: its "checkpoint" time is the time of the answer.
          normalize: (x) => ({
            ...x,
            hubs: x.hubs.map((h) => (h.hub === TARGET_HUB ? { ...h, checkpointTime: "" } : h)),
          }),
          size: (x) => `${x.trainers.length} of ${x.total.toLocaleString("en")}, ${x.hubs.length} hubs`,
        });
      }),
      interaction({
        name: "GetStatus",
        screen: "sign-in and every page load",
        direct: () => api.node.getStatus({}),
        viaConsole: () => web.node.getStatus({}),
        schema: GetStatusResponseSchema,
        decode: (bytes) => GetStatusResponse.decode(bytes),
        // Seconds since each member's checkpoint move with the clock.
        normalize: (x) => ({ ...x, members: x.members.map((m) => ({ ...m, ageSeconds: 0 })) }),
        size: (x) => `${x.members.length} members, ${x.documents.length} documents`,
      }),
      interaction({
        name: "ListPeers with documents",
        screen: "federation",
        direct: () => api.node.listPeers({ includeDocuments: true }),
        viaConsole: () => web.node.listPeers({ includeDocuments: true }),
        schema: ListPeersResponseSchema,
        decode: (bytes) => ListPeersResponse.decode(bytes),
        // Traffic counters, the last message's time and the ping move between two calls.
        normalize: (x) => ({
          ...x,
          peers: x.peers.map((p) => ({ ...p, bytesIn: 0, bytesOut: 0, lastReceivedAt: "", rttMs: 0 })),
          documents: x.documents.map((d) => ({ ...d, lastSyncedAt: "" })),
        }),
        size: (x) => `${x.peers.length} peer, ${x.documents.length} documents`,
      }),
      interaction({
        name: "ListMembers",
        screen: "federation",
        direct: () => api.federation.listMembers({}),
        viaConsole: () => web.federation.listMembers({}),
        schema: ListMembersResponseSchema,
        decode: (bytes) => ListMembersResponse.decode(bytes),
        size: (x) => `${x.members.length} members`,
      }),
      interaction({
        name: "ListTrainers, first page",
        screen: "roster",
        direct: () => api.trainers.listTrainers({ pageSize: 0, pageToken: "" }),
        viaConsole: () => web.trainers.listTrainers({}),
        schema: ListTrainersResponseSchema,
        decode: (bytes) => ListTrainersResponse.decode(bytes),
        size: (x) => `${x.trainers.length} of ${x.total.toLocaleString("en")}`,
      }),
      interaction({
        name: "ListBookings",
        screen: "requests",
        direct: () => api.bookings.listBookings({ direction: "", state: "", trainerId: "" }),
        viaConsole: () => web.bookings.listBookings({}),
        schema: ListBookingsResponseSchema,
        decode: (bytes) => ListBookingsResponse.decode(bytes),
        size: (x) => `${x.bookings.length} bookings`,
      }),
      interaction({
        name: "CoverageReport, a year",
        screen: "reports",
        direct: () => api.reports.coverageReport(coverage),
        viaConsole: () => web.reports.coverageReport(coverage),
        schema: CoverageReportResponseSchema,
        decode: (bytes) => CoverageReportResponse.decode(bytes),
        normalize: (x) => ({ json: withoutTimes(x.json) }),
        size: (x) => `${x.json.length.toLocaleString("en")} characters of JSON`,
      }),
      interaction({
        name: "ShowCurriculum",
        screen: "curriculum",
        direct: () => api.core.showCurriculum({}),
        viaConsole: () => web.core.showCurriculum({}),
        schema: ShowCurriculumResponseSchema,
        decode: (bytes) => ShowCurriculumResponse.decode(bytes),
        size: (x) => `${x.json.length.toLocaleString("en")} characters of JSON`,
      }),
    ];

    const measured: Measured[] = [];
    for (const x of interactions) {
      const m = await measure(x, ROUNDS);
      measured.push(m);
      const c = quantiles(m.viaConsole);
      const d = quantiles(m.direct);
      log(
        `  ${x.name} (${m.answer}): console p50/p99 ${round(c.p50, 1)}/${round(c.p99, 1)} ms, direct ${round(d.p50, 1)}/${round(d.p99, 1)} ms`,
      );
    }

    const conditions = { hubs: plan.hubs, trainers: total, rounds: ROUNDS };
    const rows = measured.map((m) => {
      const c = quantiles(m.viaConsole);
      const d = quantiles(m.direct);
      return { ...m, c, d, overhead: c.p50 / d.p50 };
    });
    const figures: Figure[] = rows.map((r) =>
      figure({
        name: `${r.name}, p99 through the console (gRPC-Web)`,
        unit: "ms",
        ours: r.c.p99,
        baseline: { name: "direct gRPC p99", value: r.d.p99 },
        targets: [{ on: "ours", op: "<=", value: TARGET_MS }],
        conditions,
      }),
    );
    const worst = rows.reduce((a, b) => (b.c.p99 > a.c.p99 ? b : a));
    figures.push(
      figure({
        name: `slowest interaction's p99 through the console (${worst.name})`,
        unit: "ms",
        ours: worst.c.p99,
        baseline: { name: "its direct gRPC p99", value: worst.d.p99 },
        targets: [{ on: "ours", op: "<=", value: TARGET_MS }],
        conditions,
      }),
      figure({
        name: `bridge overhead: console p50 ÷ direct p50, median of the ${rows.length} interactions`,
        unit: "×",
        ours: median(rows.map((r) => r.overhead)),
        conditions,
      }),
      figure({
        name: "bridge overhead: console p50 − direct p50, median of the interactions",
        unit: "ms",
        ours: median(rows.map((r) => r.c.p50 - r.d.p50)),
        conditions,
      }),
    );

    const notes = [
      `Each interaction is one call as a console screen makes it, ${WARM_UP} warm-up rounds then ${ROUNDS} timed ones, one call at a time: through the console (Connect's gRPC-Web client from @connectrpc/connect-node over HTTP/1.1 with binary messages, the page's authorization, origin and sec-fetch-site headers, to the URL in T's node.json) and straight to T's gRPC API (the node's own grpc-js client) as the baseline, the two alternating which goes first. The ratio column is direct ÷ console (below 1: the console is slower); the bridge's overhead is console ÷ direct.`,
      "Every console answer is compared with the direct answer of the same round, every field (the protobuf-es message encoded again and decoded by the node's ts-proto code); only what moves with the clock alone is cleared first: FindAvailableTrainers' time of T's own hub (it answers live, as of now), GetStatus's seconds since each member's checkpoint, ListPeers' byte counters, last message time, ping and last sync time, the coverage report's generatedAt and asOf. Any other difference fails the benchmark.",
      `T (setup shared with availability.restart) holds ${label} foreign trainers, verified and indexed, plus its own roster of ${plan.perHub.toLocaleString("en")} and ${bookings} outgoing booking requests made here; the secretariat runs with the same documents, so that ListPeers lists ${synced.documents.length} shared documents in sync with one peer. Roster accreditations are claims without credentials, so a competency query matches none and counts them as claimed.`,
      ...rows.map(
        (r) =>
          `${r.name} (${r.screen}${r.screen.includes(" ") ? "" : " screen"}; ${r.answer}): console p50/p95/p99 ${round(r.c.p50, 1)}/${round(r.c.p95, 1)}/${round(r.c.p99, 1)} ms, direct ${round(r.d.p50, 1)}/${round(r.d.p95, 1)}/${round(r.d.p99, 1)} ms, overhead ×${round(r.overhead, 2)} at p50.`,
      ),
    ];
    if (context.quick)
      notes.push(`Quick run: ${label} (full: ${FULL_TARGET.hubs} hubs × ${FULL_TARGET.perHub.toLocaleString("en")}).`);
    return {
      conditions: {
        hubs: plan.hubs,
        trainersPerHub: plan.perHub,
        trainers: total,
        rounds: ROUNDS,
        warmUp: WARM_UP,
        consoleTransport: "gRPC-Web over HTTP/1.1 on 127.0.0.1",
        baselineTransport: "gRPC over HTTP/2 on 127.0.0.1",
        mode: context.quick ? "quick" : "full",
      },
      figures,
      details: {
        interactions: rows.map((r) => ({
          name: r.name,
          screen: r.screen,
          answer: r.answer,
          console: {
            p50: round(r.c.p50),
            p95: round(r.c.p95),
            p99: round(r.c.p99),
            samples: r.viaConsole.map((x) => round(x)),
          },
          direct: {
            p50: round(r.d.p50),
            p95: round(r.d.p95),
            p99: round(r.d.p99),
            samples: r.direct.map((x) => round(x)),
          },
          overheadP50: round(r.overhead),
        })),
        sharedDocuments: synced.documents.length,
      },
      notes,
    };
  },
};

/** Every field of a FindAvailableTrainers request empty (the console sends what its form holds). */
const EMPTY_FIND = {
  competency: "",
  moduleCompetencies: [] as string[],
  language: "",
  minLevel: "",
  region: "",
  hub: "",
  from: "",
  to: "",
  minConsecutiveDays: 0,
  pageSize: 0,
  pageToken: "",
};

/** Two days every generated trainer declares free. */
const PROBE_FIND = { ...EMPTY_FIND, from: iso(PROBE.start), to: iso(PROBE.end) };
