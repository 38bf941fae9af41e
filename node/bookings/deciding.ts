import type { Logger } from "pino";
import type { VerifiedViews } from "../authority/index.js";
import { withAncestors } from "../core/index.js";
import type { Credentials, JsonObject } from "../credentials/index.js";
import {
  DocumentType,
  documentTypeOf,
  type DocumentEdit,
  type OwnedDocuments,
  type OwnedDocumentSpec,
} from "../documents/index.js";
import { failedPrecondition } from "../errors.js";
import type { Membership } from "../federation/index.js";
import type { Startable } from "../lifecycle.js";
import type { Availability } from "../query/index.js";
import type { Roster } from "../roster/index.js";
import type { TrainerPublic } from "../roster/index.js";
import { SerialQueue } from "../serial-queue.js";
import type { Booking, BookingLedger, Problem } from "./ledger.js";
import {
  bookingKey,
  checkNote,
  decodeCancellation,
  decodeEngagement,
  decodeRequest,
  encodeEngagement,
  ENGAGEMENTS_KEY,
  holdsTime,
  OUTBOX_KEY,
  overlaps,
  type BookingPolicy,
  type BookingRequest,
  type Cancellation,
  type DeclineReason,
  type Engagement,
  type OutboxDoc,
} from "./model.js";

export function engagementsSpec(): OwnedDocumentSpec {
  return { key: ENGAGEMENTS_KEY, type: DocumentType.Engagements, replicated: true, initial: { decisions: {} } };
}

const COMPETENCY_URN = "urn:concordat:competency:";
const POLICY = "policy";

/**
 * The deciding side of booking, at the trainer's home hub (ARCHITECTURE.md, "Single writers for
 * shared facts"): it reads requests for this hub's trainers only from verified views of the
 * requesters' outboxes (so only what the requester signed) and this hub's own outbox, and answers
 * them in its own engagements document, by policy or by an operator's decision. Every engagement
 * write runs inside one OwnedDocuments transaction whose plan re-reads the engagements as committed,
 * and transactions run one at a time: the overlap check and the write cannot interleave with another
 * decision, also across a crash (a decision is persisted before it is published, and a request
 * already answered is never answered again).
 */
export class BookingDecisions implements Startable {
  readonly #self: string;
  readonly #policy: BookingPolicy;
  readonly #sweepMs: number;
  readonly #documents: OwnedDocuments;
  readonly #views: VerifiedViews;
  readonly #membership: Membership;
  readonly #roster: Roster;
  readonly #availability: Availability;
  readonly #credentials: Credentials;
  readonly #ledger: BookingLedger;
  readonly #log: Logger;
  readonly #queue = new SerialQueue();
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #unsubscribeCharter: (() => void) | undefined;
  #unsubscribeCommits: (() => void) | undefined;
  #started = false;
  #stopped = false;

  constructor(
    init: { hubId: string; policy: BookingPolicy; sweepMs?: number },
    components: {
      documents: OwnedDocuments;
      views: VerifiedViews;
      membership: Membership;
      roster: Roster;
      availability: Availability;
      credentials: Credentials;
      ledger: BookingLedger;
      logger: Logger;
    },
  ) {
    this.#self = init.hubId;
    this.#policy = init.policy;
    this.#sweepMs = init.sweepMs ?? 60_000;
    this.#documents = components.documents;
    this.#views = components.views;
    this.#membership = components.membership;
    this.#roster = components.roster;
    this.#availability = components.availability;
    this.#credentials = components.credentials;
    this.#ledger = components.ledger;
    this.#log = components.logger;
  }

  get policy(): BookingPolicy {
    return this.#policy;
  }

  /** Decides what is waiting (also what arrived while the node was down), then follows outboxes. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#unsubscribeCommits = this.#documents.onCommit((keys) => {
      if (!this.#stopped && keys.includes(OUTBOX_KEY))
        void this.#enqueue(() => this.#consider(this.#self, this.#ledger.ownOutbox(), 0));
    });
    this.#unsubscribe = this.#views.onApplied((view) => {
      if (!this.#stopped && documentTypeOf(view.doc) === DocumentType.Outbox) {
        void this.#enqueue(() => this.#consider(view.hub, view.doc as OutboxDoc, view.checkpoint.seq));
      }
    });
    // A charter that removes a member ends the requests waiting between it and this hub.
    this.#unsubscribeCharter = this.#membership.onChange(() => {
      if (!this.#stopped) void this.#enqueue(() => this.#sweep());
    });
    await this.#enqueue(() => this.#sweep());
    // Requests waiting for an operator expire: answer them when they do.
    this.#timer = setInterval(() => void this.#enqueue(() => this.#sweep()), this.#sweepMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#unsubscribeCharter?.();
    this.#unsubscribeCommits?.();
    this.#unsubscribe = this.#unsubscribeCharter = this.#unsubscribeCommits = undefined;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.idle();
  }

  /** Waits until every request seen so far has been considered. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** Runs `job` after every job queued before it; its error goes to the caller (an operator's command). */
  #serial<T>(job: () => Promise<T>): Promise<T> {
    return this.#queue.run(job);
  }

  /** Queues the node's own work: an error is logged (the request stays unanswered and is retried at the next sweep). */
  #enqueue(job: () => Promise<void>): Promise<void> {
    return this.#serial(job).catch((error: unknown) =>
      this.#log.error({ err: error }, "deciding booking requests failed"),
    );
  }

  async #sweep(): Promise<void> {
    await this.#consider(this.#self, this.#ledger.ownOutbox(), 0);
    for (const { hub, doc, seq } of this.#ledger.foreignOutboxes()) await this.#consider(hub, doc, seq);
  }

  // -------------------------------------------------------------------------------------------
  // the home hub: deciding

  /** Decides every request of `requester`'s outbox that is for this hub's trainers and not answered yet. */
  async #consider(requester: string, outbox: OutboxDoc, seq: number): Promise<void> {
    for (const [id, stored] of Object.entries(outbox.requests ?? {})) {
      if (this.#stopped) return;
      const key = bookingKey(requester, id);
      if (this.#ledger.ignored(key)) continue;
      const cancellation = decodeCancellation(outbox.cancelled?.[id]);
      const answered = decodeEngagement(this.#ledger.engagements()[key]);
      if (answered && !(cancellation && holdsTime(answered.state))) continue;
      const request = decodeRequest(stored);
      if (!request || request.id !== id || request.requester !== requester || request.trainer.hub !== this.#self) {
        // Not for this hub, or not a request its outbox's owner may make (a hub asks only in its own name).
        if (request && request.trainer.hub === this.#self)
          this.#log.warn({ requester, request: id, seq }, "ignored a booking request that names another requester");
        this.#ledger.ignore(key);
        continue;
      }
      await this.#decide(request, cancellation);
    }
  }

  async #decide(request: BookingRequest, cancellation: Cancellation | undefined): Promise<void> {
    const key = bookingKey(request.requester, request.id);
    const gone = this.#ledger.removal(request);
    if (gone) {
      // The federation no longer includes one side: the request ends here rather than waiting forever.
      await this.#write("booking.member-removed", key, (current) =>
        current ? undefined : this.#answer(request, "declined", POLICY, { reason: gone.reason, detail: gone.detail }),
      );
      return;
    }
    if (cancellation) {
      await this.#write("booking.cancelled-by-requester", key, (current) =>
        current && !holdsTime(current.state)
          ? undefined
          : this.#answer(request, "cancelled", POLICY, { reason: "cancelled-by-requester", detail: cancellation.note }),
      );
      return;
    }
    const problem = await this.#problem(request, Date.now());
    if (problem) {
      await this.#write("booking.decline", key, (current) =>
        current ? undefined : this.#answer(request, "declined", POLICY, problem),
      );
      return;
    }
    const state = this.#policy === "confirm" ? "confirmed" : this.#policy === "tentative" ? "tentative" : undefined;
    await this.#write(
      `booking.${state === "confirmed" ? "confirm" : state === "tentative" ? "hold" : "decline"}`,
      key,
      (current) => {
        if (current) return undefined;
        const clash = this.#clash(request, key);
        if (clash) return this.#answer(request, "declined", POLICY, clash);
        // Policy manual: a request that can be honoured waits for an operator (or its expiry).
        return state ? this.#answer(request, state, POLICY, { reason: "", detail: "" }) : undefined;
      },
    );
  }

  /** The trainer's engagements that hold time over the request's period (other than `key` itself). */
  #clash(request: { trainer: { id: string }; start: string; end: string }, key: string): Problem | undefined {
    for (const [other, stored] of Object.entries(this.#ledger.engagements())) {
      if (other === key) continue;
      const e = decodeEngagement(stored);
      if (e && e.trainer === request.trainer.id && holdsTime(e.state) && overlaps(e, request)) {
        return {
          reason: "overlap",
          detail: `the trainer is already ${e.state === "confirmed" ? "booked" : "held"} from ${e.start} to ${e.end}`,
        };
      }
    }
    return undefined;
  }

  /**
   * Writes one answer in a transaction whose plan sees every answer committed before it: `build`
   * gets the current answer (if any) and returns the new one, or undefined to write nothing.
   */
  async #write(
    action: string,
    key: string,
    build: (current: Engagement | undefined) => Engagement | undefined,
    operatorId = "system",
  ): Promise<Engagement | undefined> {
    return this.#documents.transact({ operatorId, action, subjects: [key] }, () => {
      const next = build(decodeEngagement(this.#ledger.engagements()[key]));
      const edits: DocumentEdit[] = next
        ? [
            {
              key: ENGAGEMENTS_KEY,
              subject: key,
              change: (doc) => ((doc.decisions as Record<string, unknown>)[key] = encodeEngagement(next)),
            },
          ]
        : [];
      return { edits, result: next };
    });
  }

  #answer(
    request: BookingRequest,
    state: Engagement["state"],
    decidedBy: string,
    why: { reason: DeclineReason | ""; detail: string },
  ): Engagement {
    this.#log.info(
      {
        request: request.id,
        requester: request.requester,
        trainer: request.trainer.id,
        state,
        ...(why.reason ? { reason: why.reason } : {}),
      },
      "booking answered",
    );
    return {
      request: { requester: request.requester, id: request.id },
      trainer: request.trainer.id,
      start: request.start,
      end: request.end,
      state,
      reason: why.reason,
      detail: why.detail,
      decidedAt: new Date().toISOString(),
      decidedBy,
    };
  }

  /** Why the request cannot be honoured, apart from overlaps (checked in the writing transaction). */
  async #problem(request: BookingRequest, now: number): Promise<Problem | undefined> {
    if (Date.parse(request.expiresAt) < now)
      return {
        reason: "request-expired",
        detail: `the request expired at ${request.expiresAt}, before this hub answered it`,
      };
    let trainer: TrainerPublic;
    try {
      trainer = this.#roster.get(request.trainer.id, false);
    } catch {
      return {
        reason: "unknown-trainer",
        detail: `trainer '${request.trainer.id}' is not in the roster of hub '${this.#self}'`,
      };
    }
    if (trainer.movedTo)
      return {
        reason: "unknown-trainer",
        detail: `trainer '${request.trainer.id}' moved to hub '${trainer.movedTo.hub}' on ${trainer.movedTo.on}: ask that hub`,
      };
    const blackout = trainer.blackouts.find((b) => overlaps(b, request));
    if (blackout)
      return { reason: "blackout", detail: `the trainer is unavailable from ${blackout.start} to ${blackout.end}` };
    const start = Date.parse(request.start);
    const end = Date.parse(request.end);
    if (!covered(trainer.availability, start, end))
      return { reason: "unavailable", detail: "the trainer has not declared availability for the whole period" };
    if (request.competency !== "") return this.#credentialProblem(trainer.id, request.competency, start, end);
    return undefined;
  }

  /** The trainer must hold a verified, active accreditation for the competency (or a broader one) over the whole period. */
  async #credentialProblem(
    trainerId: string,
    competency: string,
    start: number,
    end: number,
  ): Promise<Problem | undefined> {
    const acceptable = withAncestors(this.#availability.competencyTree(), competency);
    const held = this.#credentials
      .list(trainerId)
      .held.map((h) => h.credential)
      .filter((c) => alignments(c).some((a) => acceptable.has(a)));
    if (held.length === 0)
      return {
        reason: "not-accredited",
        detail: `the trainer holds no accreditation for ${competency} (or a competency it belongs to)`,
      };
    const problems: Problem[] = [];
    for (const credential of held) {
      const verification = await this.#credentials.verify(credential, {});
      const failing = verification.checks.filter((c) => !c.ok && c.check !== "validity");
      const from = Date.parse(String(credential.validFrom));
      const until =
        credential.validUntil === undefined ? Number.POSITIVE_INFINITY : Date.parse(String(credential.validUntil));
      if (failing.length === 0) {
        if (from <= start && until >= end) return undefined;
        problems.push({
          reason: "credential-expired",
          detail: `accreditation ${String(credential.id)} is valid from ${String(credential.validFrom)} to ${String(credential.validUntil ?? "no end")}, not over the whole booking`,
        });
      } else if (failing.some((c) => c.check === "status (revocation)")) {
        problems.push({ reason: "credential-revoked", detail: `accreditation ${String(credential.id)} is revoked` });
      } else if (failing.some((c) => c.check === "status (suspension)")) {
        problems.push({
          reason: "credential-suspended",
          detail: `accreditation ${String(credential.id)} is suspended`,
        });
      } else {
        problems.push({
          reason: "not-accredited",
          detail: `accreditation ${String(credential.id)} does not verify: ${verification.reasons.join("; ")}`,
        });
      }
    }
    const order: DeclineReason[] = [
      "credential-suspended",
      "credential-expired",
      "credential-revoked",
      "not-accredited",
    ];
    return problems.sort((a, b) => order.indexOf(a.reason) - order.indexOf(b.reason))[0];
  }

  /** An operator confirms a pending or tentative request; pending requests it now overlaps are declined with it. */
  async confirm(operatorId: string, ref: string): Promise<Booking> {
    const booking = this.#incoming(ref);
    await this.#serial(async () => {
      const problem = await this.#problem(booking.request, Date.now());
      if (problem && !(problem.reason === "request-expired" && booking.state === "tentative")) {
        throw failedPrecondition(
          `cannot confirm ${booking.key}: ${problem.detail} (${problem.reason}); decline it instead`,
        );
      }
      await this.#documents.transact({ operatorId, action: "booking.confirm", subjects: [booking.key] }, () => {
        const current = decodeEngagement(this.#ledger.engagements()[booking.key]);
        if (current && current.state !== "tentative")
          throw failedPrecondition(`cannot confirm ${booking.key}: it is already ${current.state}`);
        const clash = this.#clash(booking.request, booking.key);
        if (clash)
          throw failedPrecondition(`cannot confirm ${booking.key}: ${clash.detail} (overlap); decline it instead`);
        const confirmed = this.#answer(booking.request, "confirmed", operatorId, { reason: "", detail: "" });
        const edits: DocumentEdit[] = [
          {
            key: ENGAGEMENTS_KEY,
            subject: booking.key,
            change: (doc) => ((doc.decisions as Record<string, unknown>)[booking.key] = encodeEngagement(confirmed)),
          },
        ];
        // Requests waiting for an operator that this confirmation rules out get their answer now.
        for (const other of this.#pendingFor(booking.request.trainer.id)) {
          if (other.key === booking.key || !overlaps(other.request, booking.request)) continue;
          const declined = this.#answer(other.request, "declined", operatorId, {
            reason: "overlap",
            detail: `the trainer was booked from ${booking.request.start} to ${booking.request.end}`,
          });
          edits.push({
            key: ENGAGEMENTS_KEY,
            subject: other.key,
            change: (doc) => ((doc.decisions as Record<string, unknown>)[other.key] = encodeEngagement(declined)),
          });
        }
        return { edits, result: undefined };
      });
    });
    return this.#ledger.show(booking.key);
  }

  async decline(operatorId: string, ref: string, note: string): Promise<Booking> {
    checkNote(note);
    const booking = this.#incoming(ref);
    await this.#serial(async () => {
      await this.#write(
        "booking.decline",
        booking.key,
        (current) => {
          if (current && current.state !== "tentative")
            throw failedPrecondition(
              `cannot decline ${booking.key}: it is already ${current.state}${current.state === "confirmed" ? " (cancel it instead)" : ""}`,
            );
          return this.#answer(booking.request, "declined", operatorId, {
            reason: "declined-by-operator",
            detail: note,
          });
        },
        operatorId,
      );
    });
    return this.#ledger.show(booking.key);
  }

  /** Cancels an engagement of this hub's trainer (answered here at once). */
  async cancel(operatorId: string, booking: Booking, note: string): Promise<Booking> {
    checkNote(note);
    if (booking.request.trainer.hub !== this.#self)
      throw failedPrecondition(`booking ${booking.key} is neither this hub's request nor for its trainer`);
    await this.#serial(async () => {
      await this.#write(
        "booking.cancel",
        booking.key,
        (current) => {
          if (!current || !holdsTime(current.state))
            throw failedPrecondition(
              `cannot cancel ${booking.key}: it is ${current?.state ?? "pending"} (decline a pending request instead)`,
            );
          return {
            ...current,
            state: "cancelled",
            reason: "cancelled-by-home-hub",
            detail: note,
            decidedAt: new Date().toISOString(),
            decidedBy: operatorId,
          };
        },
        operatorId,
      );
    });
    return this.#ledger.show(booking.key);
  }

  /**
   * Requests for this hub's trainers that wait for an operator to confirm or decline them: pending
   * (policy manual) or held tentatively (policy tentative), and not cancelled by their requester.
   */
  awaitingDecision(): number {
    return this.#ledger
      .list({ direction: "incoming" })
      .filter(
        (b) =>
          b.request.trainer.hub === this.#self && !b.cancellation && (b.state === "pending" || b.state === "tentative"),
      ).length;
  }

  #incoming(ref: string): Booking {
    const booking = this.#ledger.show(ref);
    if (booking.request.trainer.hub !== this.#self)
      throw failedPrecondition(
        `booking ${booking.key} is for a trainer of hub '${booking.request.trainer.hub}': only that hub decides it`,
      );
    if (booking.cancellation) throw failedPrecondition(`booking ${booking.key} was cancelled by its requester`);
    return booking;
  }

  #pendingFor(trainerId: string): Booking[] {
    return this.#ledger.list({ direction: "incoming", state: "pending", trainer: trainerId });
  }
}

function alignments(credential: JsonObject): string[] {
  const achievement = (credential.credentialSubject as JsonObject | undefined)?.achievement as JsonObject | undefined;
  return ((achievement?.alignment ?? []) as JsonObject[])
    .map((a) => String(a.targetUrl ?? ""))
    .filter((u) => u.startsWith(COMPETENCY_URN))
    .map((u) => u.slice(COMPETENCY_URN.length));
}

/** Is [start, end) inside the union of the declared windows? */
function covered(windows: ReadonlyArray<{ start: string; end: string }>, start: number, end: number): boolean {
  const sorted = windows
    .map((w) => ({ start: Date.parse(w.start), end: Date.parse(w.end) }))
    .sort((a, b) => a.start - b.start);
  let cursor = start;
  for (const w of sorted) {
    if (w.start > cursor) break;
    cursor = Math.max(cursor, w.end);
    if (cursor >= end) return true;
  }
  return cursor >= end;
}
