import {
  ENGAGEMENT_STATES,
  type Booking,
  type BookingFilter,
  type Bookings,
  type BookingState,
} from "../bookings/index.js";
import { invalidArgument, type FieldViolation } from "../errors.js";
import { quote } from "../text.js";
import {
  BookingServiceService,
  type Booking as BookingMessage,
  type BookingServiceServer,
} from "./generated/concordat/v1/bookings.js";
import { unary, type HandlerComponents } from "./handlers.js";

export { BookingServiceService };

const STATES: readonly string[] = ["pending", ...ENGAGEMENT_STATES];

export function bookingMessage(b: Booking): BookingMessage {
  const r = b.request;
  return {
    key: b.key,
    request: {
      requestId: r.id,
      requester: r.requester,
      trainerHub: r.trainer.hub,
      trainerId: r.trainer.id,
      from: r.start,
      to: r.end,
      competency: r.competency,
      course: r.course,
      note: r.note,
      expiresAt: r.expiresAt,
      createdAt: r.createdAt,
      createdBy: r.createdBy,
    },
    state: b.state,
    answer: b.engagement
      ? {
          state: b.engagement.state,
          reason: b.engagement.reason,
          detail: b.engagement.detail,
          decidedAt: b.engagement.decidedAt,
          decidedBy: b.engagement.decidedBy,
        }
      : undefined,
    direction: b.direction,
    cancelledByRequester: b.cancellation !== undefined,
    requestCheckpointSeq: b.requestSeq,
    answerCheckpointSeq: b.answerSeq,
  };
}

function ref(value: string): string {
  const trimmed = value.trim();
  if (trimmed === "")
    throw invalidArgument([{ field: "booking", description: "is required (requester/request_id, or a request id)" }]);
  return trimmed;
}

export function bookingService(
  components: HandlerComponents & { bookings: Bookings; info: { hubId: string } },
): BookingServiceServer {
  const { bookings, info } = components;
  // The requesting side writes this hub's requests, the deciding side answers those for its
  // trainers; both read the same ledger.
  const { requests, decisions, ledger } = bookings;
  return {
    requestBooking: unary(components, "RequestBooking", "operator", async (req, ctx) => {
      const { booking, created } = await requests.request(ctx.operator.id, {
        id: req.requestId.trim(),
        trainerHub: req.trainerHub.trim() || info.hubId,
        trainerId: req.trainerId.trim(),
        start: req.from.trim(),
        end: req.to.trim(),
        competency: req.competency.trim(),
        course: req.course.trim(),
        note: req.note.trim(),
        expiresAt: req.expiresAt.trim(),
      });
      return { booking: bookingMessage(booking), created };
    }),
    listBookings: unary(components, "ListBookings", "viewer", async (req) => {
      const violations: FieldViolation[] = [];
      if (req.direction !== "" && req.direction !== "outgoing" && req.direction !== "incoming")
        violations.push({ field: "direction", description: `${quote(req.direction)} is not outgoing or incoming` });
      if (req.state !== "" && !STATES.includes(req.state))
        violations.push({ field: "state", description: `${quote(req.state)} is not one of ${STATES.join(", ")}` });
      if (violations.length > 0) throw invalidArgument(violations);
      const filter: BookingFilter = {
        ...(req.direction ? { direction: req.direction as "outgoing" | "incoming" } : {}),
        ...(req.state ? { state: req.state as BookingState } : {}),
        ...(req.trainerId.trim() ? { trainer: req.trainerId.trim() } : {}),
      };
      await decisions.idle();
      return {
        bookings: ledger.list(filter).map(bookingMessage),
        policy: decisions.policy,
        awaitingDecision: decisions.awaitingDecision(),
      };
    }),
    getBooking: unary(components, "GetBooking", "viewer", async (req) => {
      await decisions.idle();
      return bookingMessage(ledger.show(ref(req.booking)));
    }),
    confirmBooking: unary(components, "ConfirmBooking", "operator", async (req, ctx) =>
      bookingMessage(await decisions.confirm(ctx.operator.id, ref(req.booking))),
    ),
    declineBooking: unary(components, "DeclineBooking", "operator", async (req, ctx) =>
      bookingMessage(await decisions.decline(ctx.operator.id, ref(req.booking), req.note.trim())),
    ),
    cancelBooking: unary(components, "CancelBooking", "operator", async (req, ctx) =>
      bookingMessage(await bookings.cancel(ctx.operator.id, ref(req.booking), req.note.trim())),
    ),
  };
}
