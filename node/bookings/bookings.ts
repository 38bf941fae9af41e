import type { Logger } from "pino";
import type { VerifiedViews } from "../authority/index.js";
import type { Credentials } from "../credentials/index.js";
import type { OwnedDocuments } from "../documents/index.js";
import { failedPrecondition } from "../errors.js";
import type { Membership } from "../federation/index.js";
import type { Startable } from "../lifecycle.js";
import type { Availability } from "../query/index.js";
import type { Roster } from "../roster/index.js";
import { BookingDecisions } from "./deciding.js";
import { BookingLedger, type Booking, type BookingFilter } from "./ledger.js";
import { checkNote, type BookingPolicy, type RequestDraft } from "./model.js";
import { BookingRequests } from "./requesting.js";

/**
 * Bookings across hubs (docs/architecture.md, "Single writers for shared facts"), in two sides over one ledger: `requests` asks other hubs (and this one) for
 * trainers through this hub's outbox (requesting.ts); `decisions` answers the requests for this
 * hub's trainers in its engagements (deciding.ts); `ledger` reads the bookings both take part in
 * (ledger.ts). Only the deciding side has a lifecycle. The methods here are the operator's commands,
 * each handed to the side it belongs to.
 */
export class Bookings implements Startable {
  readonly ledger: BookingLedger;
  readonly requests: BookingRequests;
  readonly decisions: BookingDecisions;
  readonly #self: string;

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
    const ledger = new BookingLedger({ hubId: init.hubId }, components);
    const decisions = new BookingDecisions(
      { hubId: init.hubId, policy: init.policy, ...(init.sweepMs === undefined ? {} : { sweepMs: init.sweepMs }) },
      { ...components, ledger },
    );
    this.ledger = ledger;
    this.decisions = decisions;
    this.requests = new BookingRequests(
      { hubId: init.hubId, requestTtlMs: init.requestTtlMs },
      { ...components, ledger, settled: () => decisions.idle() },
    );
  }

  get policy(): BookingPolicy {
    return this.decisions.policy;
  }

  /** Decides what is waiting (also what arrived while the node was down), then follows outboxes. */
  start(): Promise<void> {
    return this.decisions.start();
  }

  stop(): Promise<void> {
    return this.decisions.stop();
  }

  /** Waits until every request seen so far has been considered. */
  idle(): Promise<void> {
    return this.decisions.idle();
  }

  request(operatorId: string, draft: RequestDraft): Promise<{ booking: Booking; created: boolean }> {
    return this.requests.request(operatorId, draft);
  }

  confirm(operatorId: string, ref: string): Promise<Booking> {
    return this.decisions.confirm(operatorId, ref);
  }

  decline(operatorId: string, ref: string, note: string): Promise<Booking> {
    return this.decisions.decline(operatorId, ref, note);
  }

  /**
   * Cancels a booking: this hub's own request (the cancellation goes into its outbox and the home hub
   * frees the time), or an engagement of this hub's trainer (answered here at once).
   */
  async cancel(operatorId: string, ref: string, note: string): Promise<Booking> {
    checkNote(note);
    const booking = this.ledger.show(ref);
    if (booking.request.requester === this.#self) return this.requests.cancel(operatorId, booking, note);
    if (booking.request.trainer.hub !== this.#self)
      throw failedPrecondition(`booking ${booking.key} is neither this hub's request nor for its trainer`);
    return this.decisions.cancel(operatorId, booking, note);
  }

  list(filter: BookingFilter = {}): Booking[] {
    return this.ledger.list(filter);
  }

  show(ref: string): Booking {
    return this.ledger.show(ref);
  }

  awaitingDecision(): number {
    return this.decisions.awaitingDecision();
  }
}
