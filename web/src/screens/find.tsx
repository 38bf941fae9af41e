/**
 * Find and book: trainers free across the federation (AvailabilityService.FindAvailableTrainers,
 * the CLI's `trainers find`), for a competency or a module of the adopted core, a language at a
 * minimum CEFR level, a country or region, a hub, and a period that is entirely free or holds some
 * free days in a row. The answer is shown as the API ranks it, with every hub it drew on and how
 * recent that hub's data is, so "nobody matches" reads apart from "nothing received yet". From a
 * result an operator requests a booking (BookingService.RequestBooking, as `bookings request`);
 * the requests made here are followed live (useLive("booking")) until the home hub answers.
 */
import { useRef, useState } from "preact/hooks";
import type { FindAvailableTrainersResponse, HubAnswer } from "../../generated/concordat/v1/availability_pb.js";
import type { Booking } from "../../generated/concordat/v1/bookings_pb.js";
import { api, fieldErrors } from "../api.js";
import type { ScreenProps } from "../app.js";
import { currentLanguage, formatNumber, formatTime, t } from "../i18n.js";
import { useLive } from "../live.js";
import { may } from "../session.js";
import {
  addDays,
  apiRange,
  daysIn,
  formatPeriod,
  GroupedSelect,
  isPlainDate,
  Part,
  reasonText,
  StateBadge,
  today,
} from "../ui/booking-parts.js";
import { Busy, ErrorMessage, Field, Link, Notice, Screen, Select, TextArea, useLoad } from "../ui/kit.js";
import "./find.css";

const CEFR = ["A1", "A2", "B1", "B2", "C1", "C2"] as const;

interface Competency {
  id: string;
  label: string;
}

interface Module {
  id: string;
  label: string;
  competencies: string[];
}

interface Choices {
  release: string;
  competencies: Competency[];
  modules: Module[];
  hubs: string[];
  self: string;
}

type LangMap = Record<string, string> | undefined;

/** A text in the person's language, else English, else the first there is. */
function localText(map: LangMap): string {
  if (!map) return "";
  const lang = currentLanguage();
  return map[lang] ?? map[lang.split("-")[0] ?? lang] ?? map.en ?? Object.values(map)[0] ?? "";
}

interface CoreJson {
  items?: Array<{ identifier: string; code?: string; statement?: LangMap }>;
  modules?: Array<{ id: string; code?: string; title?: LangMap; competencies?: string[] }>;
}

function choicesFrom(release: string, core: CoreJson): Omit<Choices, "hubs" | "self"> {
  return {
    release,
    competencies: (core.items ?? []).map((i) => ({
      id: i.identifier,
      label: [i.code, localText(i.statement)].filter(Boolean).join(" — ") || i.identifier,
    })),
    modules: (core.modules ?? []).map((m) => ({
      id: m.id,
      label: [m.code, localText(m.title)].filter(Boolean).join(" — ") || m.id,
      competencies: m.competencies ?? [],
    })),
  };
}

/**
 * What can be asked for: the adopted release's competencies and modules (this hub's effective
 * curriculum, as `curriculum show`), else the newest release this node holds (`core show`), and the
 * hubs of the federation (`status`). Read once, together.
 */
async function loadChoices(signal: AbortSignal): Promise<Choices> {
  const [status, curriculum] = await Promise.all([
    api.node.getStatus({}, { signal }),
    api.core.showCurriculum({}, { signal }).then(
      (r) => JSON.parse(r.json) as { effective?: CoreJson & { release?: string } },
      () => undefined,
    ),
  ]);
  let core = choicesFrom("", {});
  if (curriculum?.effective?.release) core = choicesFrom(curriculum.effective.release, curriculum.effective);
  else {
    const newest = await api.core.showCore({}, { signal }).then(
      (r) => ({ release: r.release, json: JSON.parse(r.json) as CoreJson }),
      () => undefined,
    );
    if (newest) core = choicesFrom(newest.release, newest.json);
  }
  const hubs = [status.hubId, ...status.members.map((m) => m.hub).filter((h) => h !== status.hubId)];
  return { ...core, hubs, self: status.hubId };
}

interface Query {
  what: string;
  language: string;
  minLevel: string;
  region: string;
  hub: string;
  first: string;
  last: string;
  mode: "whole" | "days";
  days: string;
}

/** The search as asked (what the answer's caption, coverage and booking form refer to). */
interface Asked {
  query: Query;
  competency: string;
  module: Module | undefined;
  range: { from: string; to: string };
}

function emptyQuery(): Query {
  const first = addDays(today(), 1);
  return {
    what: "",
    language: "",
    minLevel: "A1",
    region: "",
    hub: "",
    first,
    last: addDays(first, 13),
    mode: "whole",
    days: "3",
  };
}

/** The form's own checks, by the API's field names, so errors land at the same fields either way. */
function checkQuery(q: Query): Map<string, string> {
  const errors = new Map<string, string>();
  if (!isPlainDate(q.first)) errors.set("from", t("find.error.date"));
  if (!isPlainDate(q.last)) errors.set("to", t("find.error.date"));
  if (errors.size === 0 && q.last < q.first) errors.set("to", t("find.error.order"));
  if (q.mode === "days") {
    const n = Number(q.days);
    if (!Number.isInteger(n) || n < 1) errors.set("min_consecutive_days", t("find.error.days"));
    else if (errors.size === 0 && n > daysIn(q.first, q.last))
      errors.set("min_consecutive_days", t("find.error.daysLonger", { count: daysIn(q.first, q.last) }));
  }
  if (q.language.trim() && !/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(q.language.trim()))
    errors.set("language", t("find.error.language"));
  return errors;
}

function SearchForm(props: {
  choices: Choices;
  busy: boolean;
  errors: Map<string, string>;
  onSearch: (q: Query) => void;
}) {
  const [q, setQ] = useState<Query>(emptyQuery);
  const set =
    <K extends keyof Query>(key: K) =>
    (value: Query[K]) =>
      setQ((prev) => ({ ...prev, [key]: value }));
  const e = props.errors;
  const { choices } = props;
  return (
    <form
      class="find-form"
      onSubmit={(event) => {
        event.preventDefault();
        props.onSearch(q);
      }}
      noValidate
    >
      <div class="row">
        <GroupedSelect
          label={t("find.what")}
          value={q.what}
          onValue={set("what")}
          first={{ value: "", label: t("find.whatAny") }}
          groups={[
            {
              label: t("find.competencies"),
              options: choices.competencies.map((c) => ({ value: `c:${c.id}`, label: c.label })),
            },
            { label: t("find.modules"), options: choices.modules.map((m) => ({ value: `m:${m.id}`, label: m.label })) },
          ]}
          hint={choices.release ? t("find.whatHint", { release: choices.release }) : t("find.whatNoRelease")}
          error={e.get("competency") ?? e.get("module_competencies")}
        />
        <Select
          label={t("find.hub")}
          value={q.hub}
          onValue={set("hub")}
          options={[
            { value: "", label: t("find.hubAll") },
            ...choices.hubs.map((h) => ({ value: h, label: h === choices.self ? t("find.hubSelf", { hub: h }) : h })),
          ]}
          error={e.get("hub")}
        />
      </div>
      <div class="row">
        <Field
          label={t("find.language")}
          hint={t("find.languageHint")}
          value={q.language}
          onValue={set("language")}
          autocomplete="off"
          spellcheck={false}
          error={e.get("language")}
        />
        <Select
          label={t("find.minLevel")}
          value={q.minLevel}
          onValue={set("minLevel")}
          options={CEFR.map((l) => ({ value: l, label: l }))}
          error={e.get("min_level")}
        />
        <Field
          label={t("find.region")}
          hint={t("find.regionHint")}
          value={q.region}
          onValue={set("region")}
          autocomplete="off"
          spellcheck={false}
          error={e.get("region")}
        />
      </div>
      <div class="row">
        <Field
          label={t("find.from")}
          type="date"
          value={q.first}
          onValue={set("first")}
          required
          error={e.get("from")}
        />
        <Field
          label={t("find.to")}
          hint={t("find.toHint")}
          type="date"
          value={q.last}
          onValue={set("last")}
          required
          error={e.get("to")}
        />
      </div>
      <fieldset class="find-mode">
        <legend>{t("find.mode")}</legend>
        <label class="choice">
          <input type="radio" name="mode" checked={q.mode === "whole"} onChange={() => set("mode")("whole")} />
          {t("find.modeWhole")}
        </label>
        <label class="choice">
          <input type="radio" name="mode" checked={q.mode === "days"} onChange={() => set("mode")("days")} />
          {t("find.modeDays")}
        </label>
        {q.mode === "days" ? (
          <Field
            label={t("find.days")}
            type="number"
            min={1}
            inputMode="numeric"
            value={q.days}
            onValue={set("days")}
            error={e.get("min_consecutive_days")}
          />
        ) : null}
      </fieldset>
      <button type="submit" disabled={props.busy}>
        {t("find.submit")}
      </button>
    </form>
  );
}

function hubAsOf(h: HubAnswer | undefined, self: string): string {
  if (!h) return t("find.asOf.unknown");
  if (h.hub === self || h.checkpointSeq === 0n) return t("find.asOf.live");
  if (!h.verified) return t("find.asOf.none");
  return h.checkpointTime ? formatTime(h.checkpointTime) : t("find.asOf.seq", { seq: h.checkpointSeq.toString() });
}

function HubFlag(props: { hub: HubAnswer | undefined; self: string }) {
  const h = props.hub;
  if (!h) return null;
  if (!h.verified) return <span class="badge bad">{t("find.flag.none")}</span>;
  if (h.stale) return <span class="badge warn">{t("find.flag.stale")}</span>;
  if (h.hub === props.self || h.checkpointSeq === 0n) return <span class="badge ok">{t("find.flag.live")}</span>;
  return <span class="badge ok">{t("find.flag.current")}</span>;
}

function Results(props: {
  asked: Asked;
  answer: FindAvailableTrainersResponse;
  self: string;
  more: () => void;
  loadingMore: boolean;
  onBook: (index: number) => void;
}) {
  const { asked, answer, self } = props;
  const hubs = new Map(answer.hubs.map((h) => [h.hub, h]));
  const byCompetency = asked.competency !== "" || asked.module !== undefined;
  const withLanguage = asked.query.language.trim() !== "";
  const period = formatPeriod(asked.range.from, asked.range.to);
  const caption =
    asked.query.mode === "days"
      ? t("find.captionDays", { count: Number(asked.query.days), period })
      : t("find.caption", { period });
  const silent = answer.hubs.filter((h) => !h.verified).map((h) => h.hub);
  const operator = may("operator");
  return (
    <Part id="find-results" title={t("find.results")}>
      <p role="status">{t("find.total", { count: answer.total })}</p>
      {silent.length > 0 ? (
        <p class="notice warn">{t("find.notReceived", { count: silent.length, hubs: silent.join(", ") })}</p>
      ) : null}
      {answer.total === 0 && byCompetency ? (
        <p class="notice">
          {answer.claimedUnverified > 0
            ? t("find.claimedUnverified", { count: answer.claimedUnverified })
            : t("find.onlyVerified")}
        </p>
      ) : null}
      {answer.trainers.length > 0 ? (
        <div class="table-wrap">
          <table class="cards find-results">
            <caption>{caption}</caption>
            <thead>
              <tr>
                <th scope="col">{t("find.col.rank")}</th>
                <th scope="col">{t("find.col.trainer")}</th>
                <th scope="col">{t("find.col.hub")}</th>
                <th scope="col">{t("find.col.coverage")}</th>
                <th scope="col">{t("find.col.conflicts")}</th>
                {withLanguage ? <th scope="col">{t("find.col.level")}</th> : null}
                <th scope="col">{t("find.col.asOf")}</th>
                {operator ? (
                  <th scope="col">
                    <span class="visually-hidden">{t("find.col.action")}</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {answer.trainers.map((tr, i) => (
                <tr key={`${tr.hub}/${tr.trainerId}`}>
                  <td data-label={t("find.col.rank")}>{formatNumber(i + 1)}</td>
                  <th scope="row" data-label={t("find.col.trainer")}>
                    <span class="trainer-name">{tr.displayName || tr.trainerId}</span>{" "}
                    <span class="muted">{tr.trainerId}</span>
                  </th>
                  <td data-label={t("find.col.hub")}>
                    {tr.hub === self ? t("find.hubSelf", { hub: tr.hub }) : tr.hub}
                  </td>
                  <td data-label={t("find.col.coverage")}>
                    {byCompetency ? formatNumber(tr.coverage, { style: "percent", maximumFractionDigits: 0 }) : "—"}
                  </td>
                  <td data-label={t("find.col.conflicts")}>{formatNumber(tr.conflicts)}</td>
                  {withLanguage ? <td data-label={t("find.col.level")}>{CEFR[tr.proficiency] ?? "—"}</td> : null}
                  <td data-label={t("find.col.asOf")}>
                    {hubAsOf(hubs.get(tr.hub), self)} <HubFlag hub={hubs.get(tr.hub)} self={self} />
                  </td>
                  {operator ? (
                    <td data-label={t("find.col.action")}>
                      <button
                        type="button"
                        class="secondary"
                        aria-label={t("find.bookFor", { name: tr.displayName || tr.trainerId })}
                        onClick={() => props.onBook(i)}
                      >
                        {t("find.book")}
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {answer.nextPageToken ? (
        <button type="button" class="secondary" disabled={props.loadingMore} onClick={props.more}>
          {t("find.more")}
        </button>
      ) : null}
      <div class="table-wrap">
        <table class="cards find-hubs">
          <caption>{t("find.hubsCaption")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("find.col.hub")}</th>
              <th scope="col">{t("find.col.asOf")}</th>
              <th scope="col">{t("find.col.known")}</th>
              <th scope="col">{t("find.col.status")}</th>
            </tr>
          </thead>
          <tbody>
            {answer.hubs.map((h) => (
              <tr key={h.hub}>
                <th scope="row" data-label={t("find.col.hub")}>
                  {h.hub === self ? t("find.hubSelf", { hub: h.hub }) : h.hub}
                </th>
                <td data-label={t("find.col.asOf")}>{hubAsOf(h, self)}</td>
                <td data-label={t("find.col.known")}>{h.verified ? formatNumber(h.trainers) : "—"}</td>
                <td data-label={t("find.col.status")}>
                  <HubFlag hub={h} self={self} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Part>
  );
}

interface Target {
  hub: string;
  trainerId: string;
  name: string;
}

function BookingForm(props: {
  target: Target;
  asked: Asked;
  choices: Choices;
  onDone: (booking: Booking) => void;
  onCancel: () => void;
}) {
  const { asked, target } = props;
  const [first, setFirst] = useState(asked.query.first);
  const [last, setLast] = useState(asked.query.last);
  const [competency, setCompetency] = useState(asked.competency);
  const [course, setCourse] = useState(asked.module?.label ?? "");
  const [note, setNote] = useState("");
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const [failure, setFailure] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  // One id per form: sent twice (a retry after a lost answer), the hub keeps one request.
  const requestId = useRef(crypto.randomUUID());
  const submit = async (event: Event) => {
    event.preventDefault();
    const found = new Map<string, string>();
    if (!isPlainDate(first)) found.set("from", t("find.error.date"));
    if (!isPlainDate(last)) found.set("to", t("find.error.date"));
    if (found.size === 0 && last < first) found.set("to", t("find.error.order"));
    setErrors(found);
    setFailure(undefined);
    if (found.size > 0) return;
    setBusy(true);
    try {
      const range = apiRange(first, last);
      const answer = await api.bookings.requestBooking({
        requestId: requestId.current,
        trainerHub: target.hub,
        trainerId: target.trainerId,
        from: range.from,
        to: range.to,
        competency,
        course: course.trim(),
        note: note.trim(),
      });
      if (answer.booking) props.onDone(answer.booking);
    } catch (error) {
      const byField = fieldErrors(error);
      setErrors(byField);
      if (byField.size === 0) setFailure(error);
    } finally {
      setBusy(false);
    }
  };
  const heading = (el: HTMLHeadingElement | null) => el?.focus({ preventScroll: false });
  const otherErrors = [...errors].filter(([field]) => !["from", "to", "competency", "course", "note"].includes(field));
  return (
    <section class="book-panel" aria-labelledby="book-title">
      <h2 id="book-title" tabIndex={-1} ref={heading}>
        {t("find.bookTitle", { name: target.name, hub: target.hub })}
      </h2>
      <form onSubmit={submit} noValidate>
        <div class="row">
          <Field label={t("find.from")} type="date" value={first} onValue={setFirst} error={errors.get("from")} />
          <Field
            label={t("find.to")}
            hint={t("find.toHint")}
            type="date"
            value={last}
            onValue={setLast}
            error={errors.get("to")}
          />
        </div>
        <div class="row">
          <Select
            label={t("find.bookCompetency")}
            value={competency}
            onValue={setCompetency}
            options={[
              { value: "", label: t("find.bookNoCompetency") },
              ...props.choices.competencies.map((c) => ({ value: c.id, label: c.label })),
            ]}
            error={errors.get("competency")}
          />
          <Field
            label={t("find.bookCourse")}
            hint={t("find.bookCourseHint")}
            value={course}
            onValue={setCourse}
            maxLength={200}
            error={errors.get("course")}
          />
        </div>
        <TextArea
          label={t("find.bookNote")}
          hint={t("find.bookNoteHint")}
          value={note}
          onValue={setNote}
          maxLength={1000}
          error={errors.get("note")}
        />
        {otherErrors.length > 0 ? (
          <p class="error" role="alert">
            {otherErrors.map(([field, text]) => `${field}: ${text}`).join("; ")}
          </p>
        ) : null}
        <ErrorMessage error={failure} />
        <div class="row">
          <button type="submit" disabled={busy}>
            {busy ? t("find.sending") : t("find.send")}
          </button>
          <button type="button" class="secondary" onClick={props.onCancel}>
            {t("common.cancel")}
          </button>
        </div>
      </form>
    </section>
  );
}

/** The requests made from this screen, read again whenever a booking changes at the node. */
function MyRequests(props: { keys: string[] }) {
  const live = useLive("booking");
  const keys = props.keys;
  const list = useLoad(
    async (signal) => {
      const answer = await api.bookings.listBookings({ direction: "outgoing" }, { signal });
      const byKey = new Map(answer.bookings.map((b) => [b.key, b]));
      return keys.map((k) => byKey.get(k)).filter((b): b is Booking => b !== undefined);
    },
    [keys.join(",")],
    live,
  );
  const bookings = list.data ?? [];
  return (
    <Part id="find-mine" title={t("find.mine")}>
      <p>
        {t("find.mineIntro")} <Link href="/requests">{t("find.mineAll")}</Link>
      </p>
      {list.error ? <ErrorMessage error={list.error} /> : null}
      {list.data === undefined && list.loading ? <Busy /> : null}
      {bookings.length > 0 ? (
        <div class="table-wrap">
          <table class="cards">
            <caption>{t("find.mineCaption")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("find.col.trainer")}</th>
                <th scope="col">{t("find.col.period")}</th>
                <th scope="col">{t("find.col.state")}</th>
                <th scope="col">{t("find.col.reason")}</th>
              </tr>
            </thead>
            <tbody aria-live="polite">
              {bookings.map((b) => (
                <tr key={b.key}>
                  <th scope="row" data-label={t("find.col.trainer")}>
                    {b.request?.trainerHub}/{b.request?.trainerId}
                  </th>
                  <td data-label={t("find.col.period")}>
                    {b.request ? formatPeriod(b.request.from, b.request.to) : ""}
                  </td>
                  <td data-label={t("find.col.state")}>
                    <StateBadge booking={b} />
                  </td>
                  <td data-label={t("find.col.reason")}>{reasonText(b) || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Part>
  );
}

export function FindScreen(_props: ScreenProps) {
  const choices = useLoad(loadChoices, [currentLanguage()]);
  const [asked, setAsked] = useState<Asked | undefined>(undefined);
  const [answer, setAnswer] = useState<FindAvailableTrainersResponse | undefined>(undefined);
  const [errors, setErrors] = useState<Map<string, string>>(new Map());
  const [failure, setFailure] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [target, setTarget] = useState<Target | undefined>(undefined);
  const [made, setMade] = useState<string[]>([]);
  const [sent, setSent] = useState<Booking | undefined>(undefined);

  const request = (a: Asked, pageToken: string) =>
    api.availability.findAvailableTrainers({
      competency: a.competency,
      moduleCompetencies: a.module?.competencies ?? [],
      language: a.query.language.trim(),
      minLevel: a.query.language.trim() ? a.query.minLevel : "",
      region: a.query.region.trim(),
      hub: a.query.hub,
      from: a.range.from,
      to: a.range.to,
      minConsecutiveDays: a.query.mode === "days" ? Number(a.query.days) : 0,
      pageToken,
    });

  const search = async (q: Query) => {
    const checked = checkQuery(q);
    setErrors(checked);
    setFailure(undefined);
    if (checked.size > 0) return;
    const data = choices.data;
    const moduleId = q.what.startsWith("m:") ? q.what.slice(2) : "";
    const a: Asked = {
      query: q,
      competency: q.what.startsWith("c:") ? q.what.slice(2) : "",
      module: moduleId ? data?.modules.find((m) => m.id === moduleId) : undefined,
      range: apiRange(q.first, q.last),
    };
    setBusy(true);
    setTarget(undefined);
    try {
      const result = await request(a, "");
      setAsked(a);
      setAnswer(result);
    } catch (error) {
      const byField = fieldErrors(error);
      setErrors(byField);
      if (byField.size === 0) setFailure(error);
    } finally {
      setBusy(false);
    }
  };

  const more = async () => {
    if (!asked || !answer) return;
    setBusy(true);
    try {
      const next = await request(asked, answer.nextPageToken);
      setAnswer({ ...next, trainers: [...answer.trainers, ...next.trainers] });
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Screen title={t("find.title")}>
      <p class="muted">{t("find.intro")}</p>
      {choices.error ? <ErrorMessage error={choices.error} /> : null}
      {choices.data === undefined ? (
        choices.loading ? (
          <Busy />
        ) : null
      ) : (
        <SearchForm choices={choices.data} busy={busy} errors={errors} onSearch={(q) => void search(q)} />
      )}
      <ErrorMessage error={failure} />
      {busy && !answer ? <Busy label={t("find.searching")} /> : null}
      {sent ? (
        <Notice tone="ok">{t("find.sent", { hub: sent.request?.trainerHub ?? "", key: sent.key })}</Notice>
      ) : null}
      {target && asked && choices.data ? (
        <BookingForm
          key={`${target.hub}/${target.trainerId}`}
          target={target}
          asked={asked}
          choices={choices.data}
          onCancel={() => setTarget(undefined)}
          onDone={(booking) => {
            setTarget(undefined);
            setSent(booking);
            setMade((keys) => (keys.includes(booking.key) ? keys : [...keys, booking.key]));
          }}
        />
      ) : null}
      {made.length > 0 ? <MyRequests keys={made} /> : null}
      {asked && answer && choices.data ? (
        <Results
          asked={asked}
          answer={answer}
          self={choices.data.self}
          more={() => void more()}
          loadingMore={busy}
          onBook={(i) => {
            const tr = answer.trainers[i];
            if (!tr) return;
            setSent(undefined);
            setTarget({ hub: tr.hub, trainerId: tr.trainerId, name: tr.displayName || tr.trainerId });
          }}
        />
      ) : null}
    </Screen>
  );
}
