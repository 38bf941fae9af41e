import type { VerifiedView, VerifiedViews } from "../authority/index.js";
import type { OwnedDocuments } from "../documents/index.js";
import { invalidArgument, notFound } from "../errors.js";
import { ownedDocumentId, type Membership } from "../federation/index.js";
import { quote } from "../text.js";
import {
  bookingKey,
  decodeCancellation,
  decodeEngagement,
  decodeRequest,
  ENGAGEMENTS_KEY,
  OUTBOX_KEY,
  type BookingRequest,
  type BookingState,
  type Cancellation,
  type DeclineReason,
  type Engagement,
  type EngagementsDoc,
  type OutboxDoc,
} from "./model.js";

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

/** Why a request cannot be honoured. */
export interface Problem {
  reason: DeclineReason;
  detail: string;
}

/**
 * What both sides of booking read: this hub's outbox and engagements (live), other members' outboxes
 * and engagements (as of their latest verified checkpoints), and every booking this hub takes part
 * in. It writes nothing; the requesting side (requesting.ts) writes the outbox, the deciding side
 * (deciding.ts) the engagements.
 */
export class BookingLedger {
  readonly self: string;
  readonly #documents: OwnedDocuments;
  readonly #views: VerifiedViews;
  readonly #membership: Membership;
  /** Requests in others' outboxes that are not for this hub's trainers (never decoded twice). */
  readonly #notMine = new Set<string>();

  constructor(
    init: { hubId: string },
    components: { documents: OwnedDocuments; views: VerifiedViews; membership: Membership },
  ) {
    this.self = init.hubId;
    this.#documents = components.documents;
    this.#views = components.views;
    this.#membership = components.membership;
  }

  /** Marks a request of another hub's outbox as none of this hub's business (the deciding side found so). */
  ignore(key: string): void {
    this.#notMine.add(key);
  }

  ignored(key: string): boolean {
    return this.#notMine.has(key);
  }

  ownOutbox(): OutboxDoc {
    return this.#documents.get<OutboxDoc>(OUTBOX_KEY);
  }

  engagements(): Record<string, unknown> {
    return this.#documents.get<EngagementsDoc>(ENGAGEMENTS_KEY).decisions ?? {};
  }

  /** Every other member's outbox, as of its latest verified checkpoint. */
  foreignOutboxes(): Array<{ hub: string; doc: OutboxDoc; seq: number }> {
    return this.#foreignDocs(OUTBOX_KEY).map(({ hub, view }) => ({
      hub,
      doc: view.doc as OutboxDoc,
      seq: view.checkpoint.seq,
    }));
  }

  #foreignDocs(key: string): Array<{ hub: string; view: VerifiedView }> {
    const out: Array<{ hub: string; view: VerifiedView }> = [];
    for (const member of this.#membership.members()) {
      if (member.hub === this.self) continue;
      const view = this.#views.view(ownedDocumentId(member.directoryId, key));
      if (view) out.push({ hub: member.hub, view });
    }
    return out;
  }

  /** When the charter removed this hub, the requester or the trainer's home hub: why the request ends. */
  removal(request: BookingRequest): (Problem & { removedAt: string }) | undefined {
    for (const [hub, side] of [
      [this.self, "this hub"],
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

  /** Every booking this hub takes part in: its requests, and requests for its trainers. */
  list(filter: BookingFilter = {}): Booking[] {
    const out: Booking[] = [];
    const own = this.ownOutbox();
    for (const [id, stored] of Object.entries(own.requests ?? {})) {
      const request = decodeRequest(stored);
      if (request) out.push(this.#booking(request, decodeCancellation(own.cancelled?.[id]), 0));
    }
    for (const { hub, doc, seq } of this.foreignOutboxes()) {
      for (const [id, stored] of Object.entries(doc.requests ?? {})) {
        if (this.#notMine.has(bookingKey(hub, id))) continue;
        const request = decodeRequest(stored);
        if (request && request.requester === hub && request.trainer.hub === this.self)
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

  #booking(request: BookingRequest, cancellation: Cancellation | undefined, requestSeq: number): Booking {
    const key = bookingKey(request.requester, request.id);
    let engagement: Engagement | undefined;
    let answerSeq = 0;
    if (request.trainer.hub === this.self) engagement = decodeEngagement(this.engagements()[key]);
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
    const gone = engagement ? undefined : this.removal(request);
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
    const mine = request.requester === this.self;
    const forMe = request.trainer.hub === this.self;
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
