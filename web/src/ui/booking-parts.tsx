/**
 * What the "Find and book" and "Requests" screens share: periods as people read them over the API's
 * half-open UTC ranges (the CLI's rule, docs/cli.md: a plain last day is included), a booking's
 * state and reason in words, and the few form parts the kit has no component for (a text area, a
 * select with groups). Every string comes from the `requests` catalogue.
 */
import type { ComponentChildren } from "preact";
import { useId } from "preact/hooks";
import type { Booking } from "../../generated/concordat/v1/bookings_pb.js";
import { formatDay, formatTime, t } from "../i18n.js";

const DAY_MS = 86_400_000;

/** A real calendar date `YYYY-MM-DD`. */
export function isPlainDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/** The plain date `days` after `day` (negative: before). */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Today's date in UTC, the API's calendar. */
export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Whole days from `first` to `last`, both included, as the API's half-open instants. */
export function apiRange(first: string, last: string): { from: string; to: string } {
  return { from: `${first}T00:00:00.000Z`, to: `${addDays(last, 1)}T00:00:00.000Z` };
}

/** Number of whole days in first..last (both included). */
export function daysIn(first: string, last: string): number {
  return Math.round((Date.parse(`${last}T00:00:00Z`) - Date.parse(`${first}T00:00:00Z`)) / DAY_MS) + 1;
}

function midnightDay(value: string): string | undefined {
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || ms % DAY_MS !== 0) return undefined;
  return new Date(ms).toISOString().slice(0, 10);
}

/** A half-open range as people read it: whole days as "1 Mar 2027 – 5 Mar 2027" (last day included), else its instants. */
export function formatPeriod(from: string, to: string): string {
  const first = midnightDay(from);
  const after = midnightDay(to);
  if (first !== undefined && after !== undefined && after > first) {
    const last = addDays(after, -1);
    return last === first ? formatDay(first) : t("requests.period", { from: formatDay(first), to: formatDay(last) });
  }
  return t("requests.period", { from: formatTime(from), to: formatTime(to) });
}

const STATES = new Set(["pending", "tentative", "confirmed", "declined", "cancelled"]);

/** The state in words; a state this page does not know shows as the API spells it. */
export function stateText(state: string): string {
  return STATES.has(state) ? t(`requests.state.${state}`) : state;
}

const REASONS = new Set([
  "overlap",
  "blackout",
  "unavailable",
  "credential-expired",
  "credential-suspended",
  "credential-revoked",
  "not-accredited",
  "request-expired",
  "unknown-trainer",
  "declined-by-operator",
  "cancelled-by-requester",
  "cancelled-by-home-hub",
  "member-removed",
]);

/** Why a request was declined or cancelled, in words, with the answer's detail (an operator's note among them). */
export function reasonText(booking: Booking): string {
  const answer = booking.answer;
  if (!answer?.reason) return "";
  const reason = REASONS.has(answer.reason) ? t(`requests.reason.${answer.reason}`) : answer.reason;
  return answer.detail ? t("requests.reasonDetail", { reason, detail: answer.detail }) : reason;
}

/** A state as a badge whose words carry the meaning (the colour only repeats it). */
export function StateBadge(props: { booking: Booking }) {
  const state = props.booking.state;
  const tone = state === "confirmed" ? "ok" : state === "declined" || state === "cancelled" ? "bad" : "warn";
  const waiting =
    props.booking.cancelledByRequester && (state === "pending" || state === "tentative" || state === "confirmed");
  return (
    <span class="booking-state">
      <span class={`badge ${tone}`}>{stateText(state)}</span>
      {waiting ? <span class="muted"> {t("requests.cancelSent")}</span> : null}
    </span>
  );
}

/** A request for this hub's trainer that an operator may still confirm or decline. */
export function awaitsDecision(booking: Booking): boolean {
  return (
    (booking.direction === "incoming" || booking.direction === "both") &&
    (booking.state === "pending" || booking.state === "tentative") &&
    !booking.cancelledByRequester
  );
}

export interface OptionGroup {
  label: string;
  options: ReadonlyArray<{ value: string; label: string }>;
}

/** A labelled select whose options come in named groups (and a first option outside them). */
export function GroupedSelect(props: {
  label: string;
  value: string;
  onValue: (value: string) => void;
  first: { value: string; label: string };
  groups: readonly OptionGroup[];
  error?: string | undefined;
  hint?: string;
}) {
  const id = useId();
  const described = [props.hint ? `${id}-hint` : "", props.error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div class={`field${props.error ? " invalid" : ""}`}>
      <label for={id}>{props.label}</label>
      <select
        id={id}
        value={props.value}
        onChange={(e) => props.onValue((e.currentTarget as HTMLSelectElement).value)}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={described || undefined}
      >
        <option value={props.first.value}>{props.first.label}</option>
        {props.groups
          .filter((g) => g.options.length > 0)
          .map((g) => (
            <optgroup key={g.label} label={g.label}>
              {g.options.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </optgroup>
          ))}
      </select>
      {props.hint ? (
        <span class="hint" id={`${id}-hint`}>
          {props.hint}
        </span>
      ) : null}
      {props.error ? (
        <span class="field-error" id={`${id}-error`}>
          {props.error}
        </span>
      ) : null}
    </div>
  );
}

/** A section with its own heading (for the screen's parts, each a landmark a screen reader can jump to). */
export function Part(props: { id: string; title: string; children: ComponentChildren; class?: string }) {
  return (
    <section class={props.class} aria-labelledby={props.id}>
      <h2 id={props.id} tabIndex={-1}>
        {props.title}
      </h2>
      {props.children}
    </section>
  );
}
