import { randomUUID } from "node:crypto";
import { DocumentType, type OwnedDocuments, type OwnedDocumentSpec } from "../documents/index.js";
import { alreadyExists, failedPrecondition, invalidArgument } from "../errors.js";
import type { Membership } from "../federation/index.js";
import type { Availability } from "../query/index.js";
import type { Roster } from "../roster/index.js";
import { quote } from "../text.js";
import type { Booking, BookingLedger } from "./ledger.js";
import {
  bookingKey,
  checkDraft,
  checkNote,
  decodeRequest,
  encodeCancellation,
  encodeRequest,
  OUTBOX_KEY,
  type BookingRequest,
  type RequestDraft,
} from "./model.js";

export function outboxSpec(): OwnedDocumentSpec {
  return { key: OUTBOX_KEY, type: DocumentType.Outbox, replicated: true, initial: { requests: {}, cancelled: {} } };
}

/**
 * The requesting side of booking: this hub asks for another hub's trainer (or its own). A request is
 * a signed, idempotent entry in this hub's outbox, acknowledged once persisted; the trainer's home
 * hub answers in its own engagements document, which the ledger follows (ledger.ts) until answered.
 * A cancellation is an entry beside the request: the home hub then frees the time.
 */
export class BookingRequests {
  readonly #self: string;
  readonly #ttlMs: number;
  readonly #documents: OwnedDocuments;
  readonly #membership: Membership;
  readonly #roster: Roster;
  readonly #availability: Availability;
  readonly #ledger: BookingLedger;
  readonly #settled: () => Promise<void>;

  constructor(
    init: { hubId: string; requestTtlMs: number },
    components: {
      documents: OwnedDocuments;
      membership: Membership;
      roster: Roster;
      availability: Availability;
      ledger: BookingLedger;
      /** Resolves once the deciding side has considered every request seen so far (this hub's own trainers). */
      settled: () => Promise<void>;
    },
  ) {
    this.#self = init.hubId;
    this.#ttlMs = init.requestTtlMs;
    this.#documents = components.documents;
    this.#membership = components.membership;
    this.#roster = components.roster;
    this.#availability = components.availability;
    this.#ledger = components.ledger;
    this.#settled = components.settled;
  }

  /**
   * Writes a request into this hub's outbox. Idempotent by request id: the same request again returns
   * the one already written (`created: false`); the same id with other content is refused.
   */
  async request(operatorId: string, draft: RequestDraft): Promise<{ booking: Booking; created: boolean }> {
    // A retry of a request already written is answered as such before anything is checked again:
    // by now its trainer may have left the index or its start may have passed, and a retry must
    // still say "already made", not refuse what was acknowledged.
    const written = draft.id ? decodeRequest(this.#ledger.ownOutbox().requests?.[draft.id]) : undefined;
    if (written && sameRequest(written, draft))
      return { booking: this.#ledger.show(bookingKey(this.#self, written.id)), created: false };
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
      const existing = decodeRequest(this.#ledger.ownOutbox().requests?.[id]);
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
    if (request.trainer.hub === this.#self) await this.#settled();
    return { booking: this.#ledger.show(bookingKey(this.#self, id)), created };
  }

  /** Cancels this hub's own request: the cancellation goes into its outbox and the home hub frees the time. */
  async cancel(operatorId: string, booking: Booking, note: string): Promise<Booking> {
    checkNote(note);
    if (booking.request.requester !== this.#self)
      throw failedPrecondition(`booking ${booking.key} is not this hub's request`);
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
    await this.#settled();
    return this.#ledger.show(booking.key);
  }
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
