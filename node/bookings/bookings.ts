import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { VerifiedView, VerifiedViews } from "../authority/index.js";
import type { Credentials, JsonObject } from "../credentials/index.js";
import {
  DocumentType,
  documentTypeOf,
  type DocumentEdit,
  type OwnedDocuments,
  type OwnedDocumentSpec,
} from "../documents/index.js";
import { alreadyExists, failedPrecondition, invalidArgument, notFound } from "../errors.js";
import { ownedDocumentId, type Membership } from "../federation/index.js";
import { withAncestors } from "../core/index.js";
import { quote } from "../text.js";
import type { Availability } from "../query/availability.js";
import type { Roster } from "../roster/index.js";
import type { TrainerPublic } from "../roster/trainer.js";
import {
  bookingKey,
  checkDraft,
  checkNote,
  decodeCancellation,
  decodeEngagement,
  decodeRequest,
  encodeCancellation,
  encodeEngagement,
  encodeRequest,
  ENGAGEMENTS_KEY,
  holdsTime,
  OUTBOX_KEY,
  overlaps,
  type BookingPolicy,
  type BookingRequest,
  type BookingState,
  type Cancellation,
  type DeclineReason,
  type Engagement,
  type EngagementsDoc,
  type OutboxDoc,
  type RequestDraft,
} from "./model.js";
import { SerialQueue } from "../serial-queue.js";

export function outboxSpec(): OwnedDocumentSpec {
  return { key: OUTBOX_KEY, type: DocumentType.Outbox, replicated: true, initial: { requests: {}, cancelled: {} } };
}

export function engagementsSpec(): OwnedDocumentSpec {
  return { key: ENGAGEMENTS_KEY, type: DocumentType.Engagements, replicated: true, initial: { decisions: {} } };
}

/** One booking as this hub sees it: the request, the requester's cancellation, and the home hub's answer. */
export interface Booking {
  key: string;
  request: BookingRequest;
  cancellation?: Cancellation;
  state: BookingState;
  engagement?: Engagement;
  /** `outgoing`: this hub asked; `incoming`: for one of this hub's trainers; `both`: its own trainer. */
  direction: "outgoing" | "incoming" | "both";
  /** The checkpoints the request and the answer were read at (0 for this hub's own documents: live). */
  requestSeq: number;
  answerSeq: number;
}

export interface BookingFilter {
  direction?: "outgoing" | "incoming";
  state?: BookingState;
  trainer?: string;
}

interface Problem {
  reason: DeclineReason;
  detail: string;
}

const COMPETENCY_URN = "urn:concordat:competency:";
const POLICY = "policy";

/**
 * Bookings across hubs (docs/architecture.md, "Single writers for shared facts"). A request is written
 * into this hub's outbox and acknowledged once persisted; the trainer's home hub reads it only from
 * a verified view of the requester's outbox (so only what the requester signed), and decides it in
 * its own engagements document. Every engagement write runs inside one OwnedDocuments transaction
 * whose plan re-reads the engagements as committed, and transactions run one at a time: the overlap
 * check and the write cannot interleave with another decision, also across a crash (a decision is
 * persisted before it is published, and a request already answered is never answered again).
 */
export class Bookings {
  readonly #self: string;
  readonly #policy: BookingPolicy;
  readonly #ttlMs: number;
  readonly #documents: OwnedDocuments;
  readonly #views: VerifiedViews;
  readonly #membership: Membership;
  readonly #roster: Roster;
  readonly #availability: Availability;
  readonly #credentials: Credentials;
  readonly #log: Logger;
  /** Requests in others' outboxes that are not for this hub's trainers (never decoded twice). */
  readonly #notMine = new Set<string>();
  readonly #queue = new SerialQueue();
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #unsubscribeCharter: (() => void) | undefined;
  #unsubscribeCommits: (() => void) | undefined;
  #stopped = false;

  constructor(
    init: { hubId: string; policy: BookingPolicy; requestTtlMs: number; sweepMs?: number },
    components: {
      documents: OwnedDocuments;
      views: VerifiedViews;
      membership: Membership;
      roster: Roster;
      availability: Availability;
      credentials: Credentials;
      logger: Logger;
    },
  ) {
    this.#self = init.hubId;
    this.#policy = init.policy;
    this.#ttlMs = init.requestTtlMs;
    this.#sweepMs = init.sweepMs ?? 60_000;
    this.#documents = components.documents;
    this.#views = components.views;
    this.#membership = components.membership;
    this.#roster = components.roster;
    this.#availability = components.availability;
    this.#credentials = components.credentials;
    this.#log = components.logger;
  }

  readonly #sweepMs: number;

  get policy(): BookingPolicy {
    return this.#policy;
  }

  /** Decides what is waiting (also what arrived while the node was down), then follows outboxes. */
  async start(): Promise<void> {
    this.#unsubscribeCommits = this.#documents.onCommit((keys) => {
      if (!this.#stopped && keys.includes(OUTBOX_KEY))
        void this.#enqueue(() => this.#consider(this.#self, this.#ownOutbox(), 0));
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
    if (this.#timer) clearInterval(this.#timer);
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
    await this.#consider(this.#self, this.#ownOutbox(), 0);
    for (const { hub, doc, seq } of this.#foreignOutboxes()) await this.#consider(hub, doc, seq);
  }

  #ownOutbox(): OutboxDoc {
    return this.#documents.get<OutboxDoc>(OUTBOX_KEY);
  }

  #engagements(): Record<string, unknown> {
    return this.#documents.get<EngagementsDoc>(ENGAGEMENTS_KEY).decisions ?? {};
  }

  /** Every other member's outbox, as of its latest verified checkpoint. */
  #foreignOutboxes(): Array<{ hub: string; doc: OutboxDoc; seq: number }> {
    return this.#foreignDocs(OUTBOX_KEY).map(({ hub, view }) => ({
      hub,
      doc: view.doc as OutboxDoc,
      seq: view.checkpoint.seq,
    }));
  }

  #foreignDocs(key: string): Array<{ hub: string; view: VerifiedView }> {
    const out: Array<{ hub: string; view: VerifiedView }> = [];
    for (const member of this.#membership.members()) {
      if (member.hub === this.#self) continue;
      const view = this.#views.view(ownedDocumentId(member.directoryId, key));
      if (view) out.push({ hub: member.hub, view });
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // the home hub: deciding

  /** Decides every request of `requester`'s outbox that is for this hub's trainers and not answered yet. */
  async #consider(requester: string, outbox: OutboxDoc, seq: number): Promise<void> {
    for (const [id, stored] of Object.entries(outbox.requests ?? {})) {
      if (this.#stopped) return;
      const key = bookingKey(requester, id);
      if (this.#notMine.has(key)) continue;
      const cancellation = decodeCancellation(outbox.cancelled?.[id]);
      const answered = decodeEngagement(this.#engagements()[key]);
      if (answered && !(cancellation && holdsTime(answered.state))) continue;
      const request = decodeRequest(stored);
      if (!request || request.id !== id || request.requester !== requester || request.trainer.hub !== this.#self) {
        // Not for this hub, or not a request its outbox's owner may make (a hub asks only in its own name).
        if (request && request.trainer.hub === this.#self)
          this.#log.warn({ requester, request: id, seq }, "ignored a booking request that names another requester");
        this.#notMine.add(key);
        continue;
      }
      await this.#decide(request, cancellation);
    }
  }

  async #decide(request: BookingRequest, cancellation: Cancellation | undefined): Promise<void> {
    const key = bookingKey(request.requester, request.id);
    const gone = this.#removal(request);
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

  /** When the charter removed this hub, the requester or the trainer's home hub: why the request ends. */
  #removal(request: BookingRequest): (Problem & { removedAt: string }) | undefined {
    for (const [hub, side] of [
      [this.#self, "this hub"],
      [request.requester, "the requesting hub"],
      [request.trainer.hub, "the trainer's home hub"],
    ] as const) {
      const removedAt = this.#membership.member(hub)?.removedAt;
      if (removedAt)
        return {
          reason: "member-removed",
          detail: `${side} '${hub}' was removed from the federation at ${removedAt}`,
          removedAt,
        };
    }
    return undefined;
  }

  /** The trainer's engagements that hold time over the request's period (other than `key` itself). */
  #clash(request: { trainer: { id: string }; start: string; end: string }, key: string): Problem | undefined {
    for (const [other, stored] of Object.entries(this.#engagements())) {
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
      const next = build(decodeEngagement(this.#engagements()[key]));
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
        const current = decodeEngagement(this.#engagements()[booking.key]);
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
    return this.show(booking.key);
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
    return this.show(booking.key);
  }

  /**
   * Cancels a booking: this hub's own request (the cancellation goes into its outbox and the home hub
   * frees the time), or an engagement of this hub's trainer (answered here at once).
   */
  async cancel(operatorId: string, ref: string, note: string): Promise<Booking> {
    checkNote(note);
    const booking = this.show(ref);
    if (booking.request.requester === this.#self) {
      if (booking.cancellation) return booking;
      if (booking.state === "declined" || booking.state === "cancelled")
        throw failedPrecondition(`cannot cancel ${booking.key}: it is already ${booking.state}`);
      const id = booking.request.id;
      await this.#documents.transact({ operatorId, action: "booking.cancel", subjects: [id] }, () => ({
        edits: [
          {
            key: OUTBOX_KEY,
            subject: id,
            change: (doc) =>
              ((doc.cancelled as Record<string, unknown>)[id] = encodeCancellation({
                at: new Date().toISOString(),
                by: operatorId,
                note,
              })),
          },
        ],
        result: undefined,
      }));
      await this.idle();
      return this.show(booking.key);
    }
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
    return this.show(booking.key);
  }

  // -------------------------------------------------------------------------------------------
  // the requester

  /**
   * Writes a request into this hub's outbox. Idempotent by request id: the same request again returns
   * the one already written (`created: false`); the same id with other content is refused.
   */
  async request(operatorId: string, draft: RequestDraft): Promise<{ booking: Booking; created: boolean }> {
    // A retry of a request already written is answered as such before anything is checked again:
    // by now its trainer may have left the index or its start may have passed, and a retry must
    // still say "already made", not refuse what was acknowledged.
    const written = draft.id ? decodeRequest(this.#ownOutbox().requests?.[draft.id]) : undefined;
    if (written && sameRequest(written, draft))
      return { booking: this.show(bookingKey(this.#self, written.id)), created: false };
    const now = Date.now();
    const checked = checkDraft(draft, now, this.#ttlMs);
    const violations = checked.violations;
    if (draft.trainerHub !== "" && draft.trainerId !== "") {
      if (draft.trainerHub !== this.#self && !this.#membership.member(draft.trainerHub))
        violations.push({
          field: "trainer_hub",
          description: `${quote(draft.trainerHub)} is not a member of this federation`,
        });
      else if (
        !(draft.trainerHub === this.#self
          ? this.#roster.has(draft.trainerId)
          : this.#availability.indexed(draft.trainerHub, draft.trainerId))
      )
        violations.push({
          field: "trainer_id",
          description: `no trainer ${quote(draft.trainerId)} of hub ${quote(draft.trainerHub)} is known here (as of its latest verified checkpoint)`,
        });
    }
    if (violations.length > 0) throw invalidArgument(violations);
    const id = draft.id || randomUUID();
    const request: BookingRequest = {
      id,
      requester: this.#self,
      trainer: { hub: draft.trainerHub, id: draft.trainerId },
      start: new Date(checked.start).toISOString(),
      end: new Date(checked.end).toISOString(),
      competency: draft.competency,
      course: draft.course,
      note: draft.note,
      expiresAt: new Date(checked.expiresAt).toISOString(),
      createdAt: new Date(now).toISOString(),
      createdBy: operatorId,
    };
    const created = await this.#documents.transact({ operatorId, action: "booking.request", subjects: [id] }, () => {
      const existing = decodeRequest(this.#ownOutbox().requests?.[id]);
      if (existing) {
        const differs = (
          [
            "trainer",
            "start",
            "end",
            "competency",
            "course",
            "note",
            ...(draft.expiresAt ? (["expiresAt"] as const) : []),
          ] as const
        ).filter((f) => JSON.stringify(existing[f]) !== JSON.stringify(request[f]));
        if (differs.length > 0)
          throw alreadyExists(
            `request '${id}' already exists with a different ${differs.join(", ")}; use another request id`,
          );
        return { edits: [], result: false };
      }
      return {
        edits: [
          {
            key: OUTBOX_KEY,
            subject: id,
            change: (doc) => ((doc.requests as Record<string, unknown>)[id] = encodeRequest(request)),
          },
        ],
        result: true,
      };
    });
    if (request.trainer.hub === this.#self) await this.idle();
    return { booking: this.show(bookingKey(this.#self, id)), created };
  }

  // -------------------------------------------------------------------------------------------
  // reading

  /** Every booking this hub takes part in: its requests, and requests for its trainers. */
  list(filter: BookingFilter = {}): Booking[] {
    const out: Booking[] = [];
    const own = this.#ownOutbox();
    for (const [id, stored] of Object.entries(own.requests ?? {})) {
      const request = decodeRequest(stored);
      if (request) out.push(this.#booking(request, decodeCancellation(own.cancelled?.[id]), 0));
    }
    for (const { hub, doc, seq } of this.#foreignOutboxes()) {
      for (const [id, stored] of Object.entries(doc.requests ?? {})) {
        if (this.#notMine.has(bookingKey(hub, id))) continue;
        const request = decodeRequest(stored);
        if (request && request.requester === hub && request.trainer.hub === this.#self)
          out.push(this.#booking(request, decodeCancellation(doc.cancelled?.[id]), seq));
      }
    }
    return out
      .filter(
        (b) =>
          (filter.direction === undefined || b.direction === filter.direction || b.direction === "both") &&
          (filter.state === undefined || b.state === filter.state) &&
          (filter.trainer === undefined || b.request.trainer.id === filter.trainer),
      )
      .sort((a, b) =>
        a.request.start < b.request.start
          ? -1
          : a.request.start > b.request.start
            ? 1
            : a.key < b.key
              ? -1
              : a.key > b.key
                ? 1
                : 0,
      );
  }

  /**
   * Requests for this hub's trainers that wait for an operator to confirm or decline them: pending
   * (policy manual) or held tentatively (policy tentative), and not cancelled by their requester.
   */
  awaitingDecision(): number {
    return this.list({ direction: "incoming" }).filter(
      (b) =>
        b.request.trainer.hub === this.#self && !b.cancellation && (b.state === "pending" || b.state === "tentative"),
    ).length;
  }

  /** One booking, by `requester/id` or by a request id alone (when only one hub used it). */
  show(ref: string): Booking {
    const matches = this.list().filter((b) => b.key === ref || b.request.id === ref);
    if (matches.length === 0)
      throw notFound(`no booking ${quote(ref)} here (give requester/id or a request id this hub made or received)`);
    if (matches.length > 1)
      throw invalidArgument([
        {
          field: "booking",
          description: `${quote(ref)} names ${matches.length} bookings: ${matches.map((m) => m.key).join(", ")}; give requester/id`,
        },
      ]);
    return matches[0] as Booking;
  }

  #incoming(ref: string): Booking {
    const booking = this.show(ref);
    if (booking.request.trainer.hub !== this.#self)
      throw failedPrecondition(
        `booking ${booking.key} is for a trainer of hub '${booking.request.trainer.hub}': only that hub decides it`,
      );
    if (booking.cancellation) throw failedPrecondition(`booking ${booking.key} was cancelled by its requester`);
    return booking;
  }

  #pendingFor(trainerId: string): Booking[] {
    return this.list({ direction: "incoming", state: "pending", trainer: trainerId });
  }

  #booking(request: BookingRequest, cancellation: Cancellation | undefined, requestSeq: number): Booking {
    const key = bookingKey(request.requester, request.id);
    let engagement: Engagement | undefined;
    let answerSeq = 0;
    if (request.trainer.hub === this.#self) engagement = decodeEngagement(this.#engagements()[key]);
    else {
      const member = this.#membership.member(request.trainer.hub);
      const view = member ? this.#views.view(ownedDocumentId(member.directoryId, ENGAGEMENTS_KEY)) : undefined;
      engagement = decodeEngagement((view?.doc as EngagementsDoc | undefined)?.decisions?.[key]);
      if (view && engagement) answerSeq = view.checkpoint.seq;
    }
    // An answer counts only for the request it answers (same trainer and dates).
    if (
      engagement &&
      (engagement.trainer !== request.trainer.id ||
        engagement.start !== request.start ||
        engagement.end !== request.end)
    )
      engagement = undefined;
    // No answer, and one side is no longer in the federation: no answer will ever count, so the
    // request ends (read from the charter; the home hub also writes this answer when it can).
    const gone = engagement ? undefined : this.#removal(request);
    if (gone) {
      engagement = {
        request: { requester: request.requester, id: request.id },
        trainer: request.trainer.id,
        start: request.start,
        end: request.end,
        state: "declined",
        reason: gone.reason,
        detail: gone.detail,
        decidedAt: gone.removedAt,
        decidedBy: "charter",
      };
    }
    const mine = request.requester === this.#self;
    const forMe = request.trainer.hub === this.#self;
    return {
      key,
      request,
      ...(cancellation ? { cancellation } : {}),
      state: engagement?.state ?? "pending",
      ...(engagement ? { engagement } : {}),
      direction: mine && forMe ? "both" : mine ? "outgoing" : "incoming",
      requestSeq,
      answerSeq,
    };
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

/** Whether a draft asks for exactly what a written request holds (its times compared as instants). */
function sameRequest(written: BookingRequest, draft: RequestDraft): boolean {
  const instant = (iso: string) => {
    const t = Date.parse(iso);
    return Number.isNaN(t) ? iso : new Date(t).toISOString();
  };
  return (
    written.trainer.hub === draft.trainerHub &&
    written.trainer.id === draft.trainerId &&
    written.start === instant(draft.start) &&
    written.end === instant(draft.end) &&
    written.competency === draft.competency &&
    written.course === draft.course &&
    written.note === draft.note &&
    (!draft.expiresAt || written.expiresAt === instant(draft.expiresAt))
  );
}
