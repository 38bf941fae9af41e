/** `concordat bookings …`: requests from this hub, answers for its trainers. */
import type { Command } from "commander";
import {
  type BookingAction,
  bookingsActCommand,
  bookingsListCommand,
  bookingsRequestCommand,
} from "../commands/bookings.js";
import { type ActionHandler, action } from "./action.js";

export function registerBookings(program: Command): void {
  const bookings = program
    .command("bookings")
    .description("book trainers of any hub: requests from this hub, answers for its trainers");
  bookings
    .command("request")
    .description("ask a trainer's home hub for these dates (a signed request in this hub's outbox)")
    .requiredOption("--trainer <hub/id>", "the trainer: HUB/ID, or ID for this hub's own")
    .requiredOption("--from <date>", "first day (YYYY-MM-DD, UTC), or an instant with a time and zone")
    .requiredOption(
      "--to <date>",
      "last day, included (YYYY-MM-DD, UTC), or an instant with a time and zone (then excluded)",
    )
    .option(
      "--competency <id>",
      "what the trainer will teach: the accreditation for it must hold over the whole period",
    )
    .option("--course <text>", "what the engagement is for (a module code, a course title)")
    .option("--note <text>", "a note for the home hub")
    .option("--expires <date>", "the home hub must answer before this (default: config bookings.requestTtlHours)")
    .option("--id <request-id>", "your own request id: sending the same request again with it books nothing twice")
    .action(action(bookingsRequestCommand));
  bookings
    .command("list")
    .description("this hub's requests and the requests for its trainers, with their answers")
    .option("--direction <dir>", "outgoing | incoming")
    .option("--state <state>", "pending | tentative | confirmed | declined | cancelled")
    .option("--trainer <id>", "only this trainer")
    .action(action(bookingsListCommand));
  bookings
    .command("show <booking>")
    .description("one booking (requester/request-id, or a request id)")
    .action(act("show"));
  bookings
    .command("confirm <booking>")
    .description("home hub: confirm a pending or tentative request (overlapping pending ones are declined)")
    .action(act("confirm"));
  bookings
    .command("decline <booking>")
    .description("home hub: decline a pending or tentative request")
    .option("--note <text>", "why")
    .action(act("decline"));
  bookings
    .command("cancel <booking>")
    .description("cancel this hub's request, or (home hub) an engagement of its trainer")
    .option("--note <text>", "why")
    .action(act("cancel"));
}

/** `bookings show|confirm|decline|cancel <booking>`. */
function act(verb: BookingAction): ActionHandler {
  return action(bookingsActCommand, (g, opts: { note?: string }, ref: string) => ({
    ...g,
    action: verb,
    ref,
    ...opts,
  }));
}
