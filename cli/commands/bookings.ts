import type { Booking } from "../../node/api/generated/concordat/v1/bookings.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { apiRange } from "../date-flags.js";
import { formatRange } from "../day-ranges.js";
import { printJson, printLine, printTable, type Io } from "../io.js";

export interface BookingRequestOptions extends ConnectionOptions {
  trainer: string;
  from: string;
  to: string;
  id?: string;
  competency?: string;
  course?: string;
  note?: string;
  expires?: string;
}

/** `HUB/ID` or `ID` (this hub's trainer). */
function trainerRef(value: string): { hub: string; id: string } {
  const slash = value.indexOf("/");
  return slash > 0 ? { hub: value.slice(0, slash), id: value.slice(slash + 1) } : { hub: "", id: value };
}

function answerText(b: Booking): string {
  if (!b.answer)
    return b.cancelledByRequester ? "pending (cancelled by the requester, waiting for the home hub)" : "pending";
  const why = b.answer.reason ? `: ${b.answer.reason}${b.answer.detail ? ` (${b.answer.detail})` : ""}` : "";
  const waiting =
    b.cancelledByRequester && (b.answer.state === "confirmed" || b.answer.state === "tentative")
      ? " (cancellation sent, waiting for the home hub)"
      : "";
  return `${b.answer.state}${why}${waiting}`;
}

function printBooking(io: Io, b: Booking): void {
  const r = b.request;
  printLine(io, `Booking ${b.key} — ${answerText(b)}`);
  printLine(io, `  trainer     ${r?.trainerHub}/${r?.trainerId}`);
  printLine(io, `  period      ${r ? formatRange(r.from, r.to) : ""}`);
  if (r?.competency) printLine(io, `  competency  ${r.competency}`);
  if (r?.course) printLine(io, `  course      ${r.course}`);
  if (r?.note) printLine(io, `  note        ${r.note}`);
  printLine(
    io,
    `  requested   by ${r?.requester} (${r?.createdBy}) at ${r?.createdAt}; expires ${r?.expiresAt}${b.requestCheckpointSeq > 0 ? `; read at its checkpoint ${b.requestCheckpointSeq}` : ""}`,
  );
  if (b.cancelledByRequester) printLine(io, "  cancelled   by the requester");
  if (b.answer)
    printLine(
      io,
      `  answered    by ${r?.trainerHub} (${b.answer.decidedBy}) at ${b.answer.decidedAt}${b.answerCheckpointSeq > 0 ? `; read at its checkpoint ${b.answerCheckpointSeq}` : ""}`,
    );
}

/** `bookings request`: a signed request in this hub's outbox; the trainer's home hub answers it. */
export async function bookingsRequestCommand(options: BookingRequestOptions, io: Io): Promise<void> {
  const trainer = trainerRef(options.trainer);
  const range = apiRange(options.from, options.to);
  const result = await withConnection(options, (c) =>
    c.bookings.requestBooking({
      requestId: options.id ?? "",
      trainerHub: trainer.hub,
      trainerId: trainer.id,
      from: range.from,
      to: range.to,
      competency: options.competency ?? "",
      course: options.course ?? "",
      note: options.note ?? "",
      expiresAt: options.expires ?? "",
    }),
  );
  if (io.json) {
    printJson(io, result);
    return;
  }
  const b = result.booking as Booking;
  printLine(
    io,
    result.created
      ? `Requested ${b.key}: ${answerText(b)}`
      : `Request ${b.key} was already made (nothing new written): ${answerText(b)}`,
  );
  if (b.state === "pending")
    printLine(io, `  hub '${b.request?.trainerHub}' answers it; see it with: concordat bookings show ${b.key}`);
}

export async function bookingsListCommand(
  options: ConnectionOptions & { direction?: string; state?: string; trainer?: string },
  io: Io,
): Promise<void> {
  const result = await withConnection(options, (c) =>
    c.bookings.listBookings({
      direction: options.direction ?? "",
      state: options.state ?? "",
      trainerId: options.trainer ?? "",
    }),
  );
  if (io.json) {
    printJson(io, result);
    return;
  }
  printLine(
    io,
    `${result.bookings.length} booking(s); this hub answers requests for its trainers by policy '${result.policy}'`,
  );
  if (result.awaitingDecision > 0 || result.policy !== "confirm")
    printLine(
      io,
      `${result.awaitingDecision} request(s) wait for a decision (concordat bookings confirm|decline REQUESTER/ID)`,
    );
  if (result.bookings.length === 0) return;
  printTable(
    io,
    ["booking", "direction", "trainer", "period", "state", "reason"],
    result.bookings.map((b) => [
      b.key,
      b.direction,
      `${b.request?.trainerHub}/${b.request?.trainerId}`,
      b.request ? formatRange(b.request.from, b.request.to) : "",
      b.state,
      b.answer?.reason ?? "",
    ]),
  );
}

export type BookingAction = "show" | "confirm" | "decline" | "cancel";

export async function bookingsActCommand(
  options: ConnectionOptions & { action: BookingAction; ref: string; note?: string },
  io: Io,
): Promise<void> {
  const booking = options.ref;
  const note = options.note ?? "";
  const result = await withConnection(options, (c) => {
    switch (options.action) {
      case "show":
        return c.bookings.getBooking({ booking });
      case "confirm":
        return c.bookings.confirmBooking({ booking });
      case "decline":
        return c.bookings.declineBooking({ booking, note });
      case "cancel":
        return c.bookings.cancelBooking({ booking, note });
    }
  });
  if (io.json) printJson(io, result);
  else printBooking(io, result);
}
