/**
 * The random operations, at a fixed total rate (open loop: one operation every 1/rate s, whatever
 * the previous ones do, up to a cap of calls in flight): trainer adds, updates and removes at a
 * hub; booking requests from one hub for another hub's trainer (and retries of earlier requests,
 * which must be recognised as the same request); availability queries. Every call's outcome is
 * classified:
 *
 * - ok: acknowledged — the model records the write;
 * - refused: an answer the soak expects in the situation (listed in `EXPECTED_REFUSALS`), never a
 *   failure;
 * - interrupted: the call's hub was SIGKILLed while it was in flight (UNAVAILABLE, CANCELLED,
 *   DEADLINE_EXCEEDED or UNKNOWN after the kill): not an error, but the write's outcome is unknown
 *   and the checks accept either;
 * - error: anything else (a failure of the run).
 */
import type { Random } from "../lib/random.js";
import { zipf } from "../lib/random.js";
import type { Cluster, Member } from "./cluster.js";
import { describeError, isServiceError } from "../../node/api/index.js";
import { findRequest, importMessages } from "../lib/api.js";
import {
  BOOKING_DAYS,
  BOOKING_START,
  DAY,
  iso,
  LANGUAGES,
  LEVELS,
  countryOf,
  makeState,
  toMessage,
  type ModelTrainer,
  type SentRequest,
  type TrainerState,
} from "./model.js";

export const OP_KINDS = [
  "trainer.add",
  "trainer.update",
  "trainer.remove",
  "booking.request",
  "booking.retry",
  "query",
] as const;
export type OpKind = (typeof OP_KINDS)[number];

/** Relative weights of the operation kinds. */
export const MIX: ReadonlyArray<readonly [OpKind, number]> = [
  ["query", 35],
  ["booking.request", 25],
  ["booking.retry", 4],
  ["trainer.update", 18],
  ["trainer.add", 11],
  ["trainer.remove", 7],
];

/** What the soak accepts as an answer other than OK, and why. */
export const EXPECTED_REFUSALS = {
  "trainer-not-known-yet":
    "booking.request INVALID_ARGUMENT on trainer_id ('no trainer … is known here') for a trainer its home hub acknowledged and has not removed: the requester checks against its index of verified views, which may not have caught up yet (the age of each such refusal — since the add's acknowledgement — is reported; that the trainer does reach every hub is checked by the convergence)",
  "trainer-removed-meanwhile":
    "booking.request INVALID_ARGUMENT on trainer_id ('no trainer … is known here'): the trainer's home hub removed it (or was removing it) when the refusal came back",
  "retry-after-trainer-removed":
    "booking.retry (the same request id and content again) INVALID_ARGUMENT on trainer_id: the trainer was removed after the request was acknowledged. The node checks the trainer before it looks the request id up, so such a retry is refused although the request exists (and is answered 'unknown-trainer'): not idempotent, reported as a finding, not counted as an error",
} as const;
export type RefusalReason = keyof typeof EXPECTED_REFUSALS;

export interface KindStats {
  issued: number;
  ok: number;
  refused: Partial<Record<RefusalReason, number>>;
  interrupted: number;
  errors: number;
  /** Not issued: no eligible trainer or hub at that moment (counted, then another kind is tried). */
  skipped: number;
  latenciesMs: number[];
}

export interface ErrorRecord {
  at: number;
  kind: OpKind;
  hub: string;
  subject: string;
  error: string;
}

export interface WorkloadOptions {
  rate: number;
  durationMs: number;
  maxInFlight: number;
  /** A trainer is a booking target only this long after its add was acknowledged. */
  targetAfterMs: number;
  /** Fewer trainers than this at a hub: no removes there. */
  minTrainersPerHub: number;
}

const TRANSPORT_CODES = new Set([1, 2, 4, 14]); // CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, UNAVAILABLE

export class Workload {
  readonly trainers = new Map<string, ModelTrainer>();
  readonly requests = new Map<string, SentRequest>();
  readonly stats = Object.fromEntries(
    OP_KINDS.map((k): [OpKind, KindStats] => [
      k,
      { issued: 0, ok: 0, refused: {}, interrupted: 0, errors: 0, skipped: 0, latenciesMs: [] },
    ]),
  ) as Record<OpKind, KindStats>;
  readonly errors: ErrorRecord[] = [];
  /** Client-side latencies per hub: queries apart from everything else (writes). */
  readonly perHub = new Map<string, { query: number[]; other: number[] }>();
  /** For each "trainer-not-known-yet" refusal: ms since the trainer's add was acknowledged. */
  readonly unknownTrainerAgesMs: number[] = [];
  /** Calls in flight per hub right now. */
  readonly inFlightAt = new Map<string, number>();
  /** Operations not started because `maxInFlight` calls were already in flight. */
  backpressureSkips = 0;
  /** Per hub: how many times it was killed (a call that sees this change while in flight was cut by a kill). */
  readonly killEpoch = new Map<string, number>();
  #inFlight = new Set<Promise<void>>();
  #nextTrainer = new Map<string, number>();
  #nextRequest = 0;
  #versions = new Map<string, number>();
  readonly #t0 = performance.now();

  constructor(
    readonly cluster: Cluster,
    readonly rng: Random,
    readonly options: WorkloadOptions,
  ) {}

  static key(hub: string, id: string): string {
    return `${hub}/${id}`;
  }

  /** Seconds since the workload object was made, for error records. */
  #now(): number {
    return Math.round(performance.now() - this.#t0);
  }

  newTrainerId(m: Member): string {
    const n = (this.#nextTrainer.get(m.hub) ?? 0) + 1;
    this.#nextTrainer.set(m.hub, n);
    return `T-${String(m.index).padStart(2, "0")}-${String(n).padStart(4, "0")}`;
  }

  nextState(m: Member, id: string): TrainerState {
    const key = Workload.key(m.hub, id);
    const version = (this.#versions.get(key) ?? 0) + 1;
    this.#versions.set(key, version);
    return makeState(this.rng, m.index, id, version);
  }

  /** The initial roster of a hub, through ImportTrainers (one acknowledged batch). */
  async seed(m: Member, count: number): Promise<void> {
    const rows: Array<{ id: string; state: TrainerState }> = [];
    for (let i = 0; i < count; i += 1) {
      const id = this.newTrainerId(m);
      rows.push({ id, state: this.nextState(m, id) });
    }
    const result = await m.client.trainers.importTrainers(
      importMessages(
        rows.map((r) => toMessage(r.id, r.state)),
        Math.max(1, count),
      ),
      { deadlineMs: 120_000 },
    );
    if (!result.committed || result.imported !== count)
      throw new Error(
        `${m.hub}: imported ${result.imported} of ${count}: ${JSON.stringify(result.errors.slice(0, 3))}`,
      );
    const at = performance.now();
    for (const r of rows)
      this.trainers.set(Workload.key(m.hub, r.id), {
        hub: m.hub,
        id: r.id,
        state: r.state,
        addedAt: at,
        busy: false,
        ackedWrites: 1,
        unknownWrites: 0,
      });
  }

  #eligible(hub: string): ModelTrainer[] {
    const out: ModelTrainer[] = [];
    for (const t of this.trainers.values()) if (t.hub === hub && t.state && !t.busy && !t.possible) out.push(t);
    return out;
  }

  #record(
    kind: OpKind,
    m: Member,
    subject: string,
    started: number,
    epoch: number,
    outcome: { ok: true } | { error: unknown; refusal?: RefusalReason },
  ): "ok" | "refused" | "interrupted" | "error" {
    const s = this.stats[kind];
    const ms = performance.now() - started;
    s.latenciesMs.push(ms);
    const hub = this.perHub.get(m.hub) ?? { query: [], other: [] };
    (kind === "query" ? hub.query : hub.other).push(ms);
    this.perHub.set(m.hub, hub);
    if ("ok" in outcome) {
      s.ok += 1;
      return "ok";
    }
    if (outcome.refusal) {
      s.refused[outcome.refusal] = (s.refused[outcome.refusal] ?? 0) + 1;
      return "refused";
    }
    const error = outcome.error;
    const killed = (this.killEpoch.get(m.hub) ?? 0) !== epoch || !m.up;
    if (killed && isServiceError(error) && TRANSPORT_CODES.has(error.code)) {
      s.interrupted += 1;
      return "interrupted";
    }
    s.errors += 1;
    this.errors.push({ at: this.#now(), kind, hub: m.hub, subject, error: describeError(error) });
    return "error";
  }

  /** Runs one operation of `kind` from a random hub that is up; false if none could be made. */
  #launch(kind: OpKind): boolean {
    const up = this.cluster.hubs.filter((m) => m.up);
    if (up.length === 0) return false;
    const m = this.rng.pick(up);
    const run = this.#operation(kind, m);
    if (!run) {
      this.stats[kind].skipped += 1;
      return false;
    }
    this.stats[kind].issued += 1;
    this.inFlightAt.set(m.hub, (this.inFlightAt.get(m.hub) ?? 0) + 1);
    const p = run().finally(() => {
      this.#inFlight.delete(p);
      this.inFlightAt.set(m.hub, (this.inFlightAt.get(m.hub) ?? 1) - 1);
    });
    this.#inFlight.add(p);
    return true;
  }

  #operation(kind: OpKind, m: Member): (() => Promise<void>) | undefined {
    const epoch = this.killEpoch.get(m.hub) ?? 0;
    const started = performance.now();
    switch (kind) {
      case "trainer.add": {
        const id = this.newTrainerId(m);
        const state = this.nextState(m, id);
        const t: ModelTrainer = {
          hub: m.hub,
          id,
          state: undefined,
          addedAt: Number.POSITIVE_INFINITY,
          busy: true,
          ackedWrites: 0,
          unknownWrites: 0,
        };
        this.trainers.set(Workload.key(m.hub, id), t);
        return async () => {
          try {
            await m.client.trainers.addTrainer({ trainer: toMessage(id, state) });
            this.#record(kind, m, id, started, epoch, { ok: true });
            t.state = state;
            t.addedAt = performance.now();
            t.ackedWrites += 1;
          } catch (error) {
            this.#record(kind, m, id, started, epoch, { error });
            t.unknownWrites += 1;
            t.possible = [undefined, state];
          } finally {
            t.busy = false;
          }
        };
      }
      case "trainer.update": {
        const candidates = this.#eligible(m.hub);
        if (candidates.length === 0) return undefined;
        const t = this.rng.pick(candidates);
        const before = t.state as TrainerState;
        const state = this.nextState(m, t.id);
        t.busy = true;
        return async () => {
          try {
            await m.client.trainers.updateTrainer({
              trainer: toMessage(t.id, state),
              updateMask: ["display_name", "languages", "regions", "blackouts"],
            });
            this.#record(kind, m, t.id, started, epoch, { ok: true });
            t.state = state;
            t.ackedWrites += 1;
          } catch (error) {
            this.#record(kind, m, t.id, started, epoch, { error });
            t.unknownWrites += 1;
            t.possible = [before, state];
          } finally {
            t.busy = false;
          }
        };
      }
      case "trainer.remove": {
        const candidates = this.#eligible(m.hub);
        if (candidates.length <= this.options.minTrainersPerHub) return undefined;
        const t = this.rng.pick(candidates);
        const before = t.state as TrainerState;
        t.busy = true;
        t.removing = true;
        return async () => {
          try {
            await m.client.trainers.removeTrainer({ id: t.id });
            this.#record(kind, m, t.id, started, epoch, { ok: true });
            t.state = undefined;
            t.removedAt = performance.now();
          } catch (error) {
            this.#record(kind, m, t.id, started, epoch, { error });
            t.unknownWrites += 1;
            t.possible = [before, undefined];
          } finally {
            t.busy = false;
          }
        };
      }
      case "booking.request": {
        const owners = this.cluster.hubs.filter((o) => o !== m);
        const owner = this.rng.pick(owners);
        const now = performance.now();
        // Bookable: added long enough ago, not removed, outcome of every write known. Sorted by id and
        // chosen Zipf-like, so a few trainers of each hub get most requests (and overlaps).
        const candidates = [...this.trainers.values()]
          .filter((t) => t.hub === owner.hub && t.state && !t.possible && now - t.addedAt >= this.options.targetAfterMs)
          .sort((a, b) => (a.id < b.id ? -1 : 1));
        if (candidates.length === 0) return undefined;
        const t = this.rng.weighted(zipf(candidates, 1.1));
        const start = BOOKING_START + this.rng.int(0, BOOKING_DAYS) * DAY;
        this.#nextRequest += 1;
        const id = `soak-${String(this.#nextRequest).padStart(5, "0")}`;
        const r: SentRequest = {
          key: Workload.key(m.hub, id),
          requester: m.hub,
          id,
          trainerHub: owner.hub,
          trainerId: t.id,
          from: iso(start),
          to: iso(start + this.rng.int(1, 4) * DAY),
          ack: "unknown",
          retries: 0,
          at: now,
        };
        const addedAt = t.addedAt;
        return async () => {
          try {
            const answer = await m.client.bookings.requestBooking({
              requestId: id,
              trainerHub: r.trainerHub,
              trainerId: r.trainerId,
              from: r.from,
              to: r.to,
              competency: "",
              course: "soak",
              note: "",
              expiresAt: "",
            });
            this.#record(kind, m, r.key, started, epoch, { ok: true });
            r.ack = "acked";
            this.requests.set(r.key, r);
            if (!answer.created)
              this.#error(kind, m, r.key, "RequestBooking of a new request id answered created = false");
          } catch (error) {
            const unknownTrainer =
              isServiceError(error) &&
              error.code === 3 &&
              /trainer_id/.test(error.details) &&
              /known here/.test(error.details);
            const removing = !t.state || t.removing === true;
            if (unknownTrainer) {
              if (!removing) this.unknownTrainerAgesMs.push(performance.now() - addedAt);
              this.#record(kind, m, r.key, started, epoch, {
                error,
                refusal: removing ? "trainer-removed-meanwhile" : "trainer-not-known-yet",
              });
              return;
            }
            const outcome = this.#record(kind, m, r.key, started, epoch, { error });
            // Cut by the kill, or failed: the request may exist; the checks accept either.
            if (outcome === "interrupted" || outcome === "error") this.requests.set(r.key, r);
          }
        };
      }
      case "booking.retry": {
        const mine = [...this.requests.values()].filter((r) => r.requester === m.hub && r.ack === "acked");
        if (mine.length === 0) return undefined;
        const r = this.rng.pick(mine);
        return async () => {
          try {
            const answer = await m.client.bookings.requestBooking({
              requestId: r.id,
              trainerHub: r.trainerHub,
              trainerId: r.trainerId,
              from: r.from,
              to: r.to,
              competency: "",
              course: "soak",
              note: "",
              expiresAt: "",
            });
            this.#record(kind, m, r.key, started, epoch, { ok: true });
            r.retries += 1;
            if (answer.created)
              this.#error(
                kind,
                m,
                r.key,
                "a retry of an acknowledged request answered created = true (a second request was written)",
              );
          } catch (error) {
            const t = this.trainers.get(Workload.key(r.trainerHub, r.trainerId));
            const unknownTrainer =
              isServiceError(error) &&
              error.code === 3 &&
              /trainer_id/.test(error.details) &&
              /known here/.test(error.details);
            if (unknownTrainer && t && (!t.state || t.removing === true))
              this.#record(kind, m, r.key, started, epoch, { error, refusal: "retry-after-trainer-removed" });
            else this.#record(kind, m, r.key, started, epoch, { error });
          }
        };
      }
      case "query": {
        const from = BOOKING_START + this.rng.int(0, BOOKING_DAYS) * DAY;
        const to = from + this.rng.int(1, 14) * DAY;
        const shape = this.rng.int(0, 3);
        const request = {
          from: iso(from),
          to: iso(to),
          pageSize: 50,
          ...(shape === 0 ? { language: this.rng.pick(LANGUAGES), minLevel: this.rng.pick(LEVELS) } : {}),
          ...(shape === 1 ? { region: countryOf(this.rng.int(1, this.cluster.hubs.length)) } : {}),
          ...(shape === 2 ? { hub: this.rng.pick(this.cluster.hubs).hub } : {}),
          ...(shape === 3 ? { minConsecutiveDays: this.rng.int(1, 3) } : {}),
        };
        return async () => {
          try {
            const answer = await m.client.availability.findAvailableTrainers(findRequest(request));
            this.#record(kind, m, JSON.stringify(request), started, epoch, { ok: true });
            if (answer.trainers.length > answer.total)
              this.#error(kind, m, "", `an answer of ${answer.trainers.length} trainers says total ${answer.total}`);
          } catch (error) {
            this.#record(kind, m, JSON.stringify(request), started, epoch, { error });
          }
        };
      }
    }
  }

  /** An acknowledged call whose answer is wrong: counted as an error of its kind. */
  #error(kind: OpKind, m: Member, subject: string, error: string): void {
    this.stats[kind].errors += 1;
    this.errors.push({ at: this.#now(), kind, hub: m.hub, subject, error });
  }

  /**
   * Operations at `rate` per second for `durationMs`; `midpoint` runs once, half-way, concurrently
   * (the kill and restart). Resolves when every call has returned (each has a deadline).
   */
  async run(
    midpoint: () => Promise<void>,
    progress: (message: string) => void,
  ): Promise<{ elapsedMs: number; midpoint: Promise<void> }> {
    const interval = 1000 / this.options.rate;
    const total = Math.round((this.options.durationMs / 1000) * this.options.rate);
    const start = performance.now();
    let mid: Promise<void> | undefined;
    let lastReport = start;
    for (let i = 0; i < total; i += 1) {
      const due = start + i * interval;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      if (!mid && performance.now() - start >= this.options.durationMs / 2) {
        mid = midpoint();
        mid.catch(() => undefined);
      }
      if (this.#inFlight.size >= this.options.maxInFlight) {
        this.backpressureSkips += 1;
        continue;
      }
      // The kind drawn, else (no eligible trainer for it) a query: the rate stays what was asked.
      const kind = this.rng.weighted(MIX);
      if (!this.#launch(kind)) this.#launch("query");
      if (performance.now() - lastReport > 15_000) {
        lastReport = performance.now();
        const done = OP_KINDS.reduce((n, k) => n + this.stats[k].issued, 0);
        const errs = OP_KINDS.reduce((n, k) => n + this.stats[k].errors, 0);
        progress(
          `  ${Math.round((lastReport - start) / 1000)} s: ${done} operations, ${this.#inFlight.size} in flight, ${errs} errors`,
        );
      }
    }
    mid ??= midpoint();
    const elapsedMs = performance.now() - start;
    // Every call has a deadline; this only waits for them to come back.
    await Promise.allSettled([...this.#inFlight]);
    return { elapsedMs, midpoint: mid };
  }

  inFlight(): number {
    return this.#inFlight.size;
  }
}
