/**
 * Requests: the booking requests for this hub's trainers (incoming) and the ones this hub made
 * (outgoing), from one BookingService.ListBookings call (the CLI's `bookings list`), read again
 * whenever a booking changes at the node (useLive("booking")). Under the `manual` policy an
 * operator decides each request: confirm, or decline with a reason (the screen asks for one; the
 * requester sees it as the answer's detail). A viewer sees the lists, never the buttons.
 */
import { useState } from "preact/hooks";
import type { Booking } from "../../generated/concordat/v1/bookings_pb.js";
import { api, fieldErrors } from "../api.js";
import type { ScreenProps } from "../app.js";
import { formatTime, t } from "../i18n.js";
import { useLive } from "../live.js";
import { may } from "../session.js";
import { awaitsDecision, formatPeriod, Part, reasonText, StateBadge } from "../ui/booking-parts.js";
import { Busy, ErrorMessage, Field, Notice, Screen, Select, TextArea, useLoad } from "../ui/kit.js";
import "./requests.css";

const STATES = ["pending", "tentative", "confirmed", "declined", "cancelled"] as const;

function trainerOf(b: Booking): string {
  return `${b.request?.trainerHub ?? ""}/${b.request?.trainerId ?? ""}`;
}

function purposeOf(b: Booking): string {
  return [b.request?.course, b.request?.competency].filter(Boolean).join(" · ") || "—";
}

/** The form that declines one request: a reason is required, and its error is shown at the field. */
function DeclineForm(props: { booking: Booking; onDone: (b: Booking) => void; onCancel: () => void }) {
  const [note, setNote] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [failure, setFailure] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setFailure(undefined);
    if (note.trim() === "") {
      setError(t("requests.declineReasonRequired"));
      return;
    }
    setError(undefined);
    setBusy(true);
    try {
      props.onDone(await api.bookings.declineBooking({ booking: props.booking.key, note: note.trim() }));
    } catch (e) {
      const byField = fieldErrors(e).get("note");
      if (byField) setError(byField);
      else setFailure(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="decline-panel" aria-labelledby="decline-title">
      <h2 id="decline-title" tabIndex={-1} ref={(el) => el?.focus()}>
        {t("requests.declineTitle", { key: props.booking.key })}
      </h2>
      <p>
        {t("requests.declineWhat", {
          trainer: trainerOf(props.booking),
          period: props.booking.request ? formatPeriod(props.booking.request.from, props.booking.request.to) : "",
          requester: props.booking.request?.requester ?? "",
        })}
      </p>
      <form onSubmit={submit} noValidate>
        <TextArea
          label={t("requests.declineReason")}
          hint={t("requests.declineReasonHint")}
          value={note}
          onValue={setNote}
          required
          maxLength={1000}
          error={error}
        />
        <ErrorMessage error={failure} />
        <div class="row">
          <button type="submit" class="danger" disabled={busy}>
            {t("requests.declineSubmit")}
          </button>
          <button type="button" class="secondary" onClick={props.onCancel}>
            {t("common.cancel")}
          </button>
        </div>
      </form>
    </section>
  );
}

function Incoming(props: {
  bookings: Booking[];
  onConfirm: (b: Booking) => void;
  onDecline: (b: Booking) => void;
  working: string | undefined;
}) {
  const operator = may("operator");
  if (props.bookings.length === 0) return <p class="muted">{t("requests.incomingNone")}</p>;
  return (
    <div class="table-wrap">
      <table class="cards requests-table">
        <caption>{t("requests.incomingCaption", { count: props.bookings.length })}</caption>
        <thead>
          <tr>
            <th scope="col">{t("requests.col.request")}</th>
            <th scope="col">{t("requests.col.trainer")}</th>
            <th scope="col">{t("requests.col.period")}</th>
            <th scope="col">{t("requests.col.purpose")}</th>
            <th scope="col">{t("requests.col.state")}</th>
            {operator ? <th scope="col">{t("requests.col.actions")}</th> : null}
          </tr>
        </thead>
        <tbody>
          {props.bookings.map((b) => (
            <tr key={b.key}>
              <th scope="row" data-label={t("requests.col.request")}>
                <span>{b.request?.requester}</span>{" "}
                <span class="muted">{b.request?.createdAt ? formatTime(b.request.createdAt) : ""}</span>
              </th>
              <td data-label={t("requests.col.trainer")}>{trainerOf(b)}</td>
              <td data-label={t("requests.col.period")}>
                {b.request ? formatPeriod(b.request.from, b.request.to) : ""}
              </td>
              <td data-label={t("requests.col.purpose")}>
                {purposeOf(b)}
                {b.request?.note ? <span class="request-note">{b.request.note}</span> : null}
              </td>
              <td data-label={t("requests.col.state")}>
                <StateBadge booking={b} />
                {reasonText(b) ? <span class="request-reason">{reasonText(b)}</span> : null}
              </td>
              {operator ? (
                <td data-label={t("requests.col.actions")}>
                  {awaitsDecision(b) ? (
                    <span class="actions">
                      <button
                        type="button"
                        disabled={props.working === b.key}
                        aria-label={t("requests.confirmFor", { key: b.key })}
                        onClick={() => props.onConfirm(b)}
                      >
                        {t("requests.confirm")}
                      </button>
                      <button
                        type="button"
                        class="secondary"
                        disabled={props.working === b.key}
                        aria-label={t("requests.declineFor", { key: b.key })}
                        onClick={() => props.onDecline(b)}
                      >
                        {t("requests.decline")}
                      </button>
                    </span>
                  ) : (
                    "—"
                  )}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Outgoing(props: { bookings: Booking[] }) {
  if (props.bookings.length === 0) return <p class="muted">{t("requests.outgoingNone")}</p>;
  return (
    <div class="table-wrap">
      <table class="cards requests-table">
        <caption>{t("requests.outgoingCaption", { count: props.bookings.length })}</caption>
        <thead>
          <tr>
            <th scope="col">{t("requests.col.trainer")}</th>
            <th scope="col">{t("requests.col.period")}</th>
            <th scope="col">{t("requests.col.purpose")}</th>
            <th scope="col">{t("requests.col.state")}</th>
            <th scope="col">{t("requests.col.answered")}</th>
          </tr>
        </thead>
        <tbody>
          {props.bookings.map((b) => (
            <tr key={b.key}>
              <th scope="row" data-label={t("requests.col.trainer")}>
                {trainerOf(b)}
              </th>
              <td data-label={t("requests.col.period")}>
                {b.request ? formatPeriod(b.request.from, b.request.to) : ""}
              </td>
              <td data-label={t("requests.col.purpose")}>{purposeOf(b)}</td>
              <td data-label={t("requests.col.state")}>
                <StateBadge booking={b} />
                {reasonText(b) ? <span class="request-reason">{reasonText(b)}</span> : null}
              </td>
              <td data-label={t("requests.col.answered")}>
                {b.answer?.decidedAt ? formatTime(b.answer.decidedAt) : t("requests.notYet")}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function RequestsScreen(_props: ScreenProps) {
  const live = useLive("booking");
  const [state, setState] = useState("");
  const [trainer, setTrainer] = useState("");
  const [filter, setFilter] = useState({ state: "", trainer: "" });
  const list = useLoad(
    (signal) => api.bookings.listBookings({ state: filter.state, trainerId: filter.trainer }, { signal }),
    [filter.state, filter.trainer],
    live,
  );
  const [declining, setDeclining] = useState<Booking | undefined>(undefined);
  const [working, setWorking] = useState<string | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const [failure, setFailure] = useState<unknown>(undefined);

  const confirm = async (b: Booking) => {
    setWorking(b.key);
    setFailure(undefined);
    setDone(undefined);
    try {
      await api.bookings.confirmBooking({ booking: b.key });
      setDone(t("requests.confirmed", { key: b.key }));
      list.reload();
    } catch (e) {
      setFailure(e);
    } finally {
      setWorking(undefined);
    }
  };

  const data = list.data;
  const incoming = (data?.bookings ?? []).filter((b) => b.direction === "incoming" || b.direction === "both");
  const outgoing = (data?.bookings ?? []).filter((b) => b.direction === "outgoing" || b.direction === "both");
  const policy = data?.policy ?? "";
  return (
    <Screen title={t("requests.title")}>
      <form
        class="row requests-filter"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter({ state, trainer: trainer.trim() });
        }}
      >
        <Select
          label={t("requests.filterState")}
          value={state}
          onValue={setState}
          options={[
            { value: "", label: t("requests.filterAll") },
            ...STATES.map((s) => ({ value: s, label: t(`requests.state.${s}`) })),
          ]}
        />
        <Field label={t("requests.filterTrainer")} value={trainer} onValue={setTrainer} autocomplete="off" />
        <button type="submit" class="secondary">
          {t("requests.filterApply")}
        </button>
      </form>
      {list.error ? <ErrorMessage error={list.error} /> : null}
      {data === undefined && list.loading ? <Busy /> : null}
      <ErrorMessage error={failure} />
      {done ? <Notice tone="ok">{done}</Notice> : null}
      {declining ? (
        <DeclineForm
          key={declining.key}
          booking={declining}
          onCancel={() => setDeclining(undefined)}
          onDone={(b) => {
            setDeclining(undefined);
            setDone(t("requests.declined", { key: b.key }));
            list.reload();
          }}
        />
      ) : null}
      {data ? (
        <>
          <Part id="requests-incoming" title={t("requests.incoming")}>
            <p class="policy">
              {t(
                policy === "manual" || policy === "tentative" || policy === "confirm"
                  ? `requests.policy.${policy}`
                  : "requests.policy.other",
                { policy },
              )}
            </p>
            {policy === "manual" || data.awaitingDecision > 0 ? (
              <p class={`awaiting notice${data.awaitingDecision > 0 ? " warn" : ""}`} role="status">
                {t("requests.awaiting", { count: data.awaitingDecision })}
              </p>
            ) : null}
            <Incoming
              bookings={incoming}
              working={working}
              onConfirm={(b) => void confirm(b)}
              onDecline={(b) => {
                setDone(undefined);
                setDeclining(b);
              }}
            />
          </Part>
          <Part id="requests-outgoing" title={t("requests.outgoing")}>
            <Outgoing bookings={outgoing} />
          </Part>
          {filter.state || filter.trainer ? (
            <p class="muted">{t("requests.filtered", { count: data.bookings.length })}</p>
          ) : null}
        </>
      ) : null}
    </Screen>
  );
}
