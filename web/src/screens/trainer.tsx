/**
 * One trainer: its page (/roster/<id>: public fields, private ones for operators, the credentials it
 * holds and what they verify, its engagements, its history) and its form (/roster/new,
 * /roster/<id>/edit), which calls AddTrainer or UpdateTrainer with the mask of what changed, as
 * `concordat trainers add|update` do. The API's field errors are shown at their fields.
 */
import { useState } from "preact/hooks";
import type { GetTrainerHistoryResponse, Trainer } from "../../generated/concordat/v1/trainers_pb.js";
import { api, Code, errorText, fieldErrors, isCode } from "../api.js";
import type { ScreenProps } from "../app.js";
import { countryName, formatDay, formatTime, languageName, t } from "../i18n.js";
import { useLive } from "../live.js";
import { navigate } from "../router.js";
import { may } from "../session.js";
import { Busy, ErrorMessage, Field, Link, Screen, TextArea, useLoad } from "../ui/kit.js";
import {
  AccreditationsEditor,
  changedFields,
  emptyForm,
  errorAt,
  errorsUnder,
  formFromTrainer,
  LanguagesEditor,
  RangesEditor,
  rangeText,
  type TrainerForm,
  trainerOfForm,
} from "../ui/trainer-parts.js";

/** A part of the page that could not be read; the rest is shown. */
class Failed {
  constructor(readonly error: unknown) {}
}
const failed = (error: unknown) => new Failed(error);

const range = (r: { start: string; end: string }) => rangeText(r, formatDay, formatTime);

/** The trainer form: a new trainer, or `id`'s fields to change. */
export function TrainerFormScreen(props: ScreenProps & { id?: string }) {
  const editing = props.id !== undefined;
  const loaded = useLoad(
    async (signal) => (editing ? api.trainers.getTrainer({ id: props.id ?? "" }, { signal }) : undefined),
    [props.id],
  );
  const title = editing ? t("trainer.editTitle", { id: props.id ?? "" }) : t("trainer.addTitle");
  if (editing && loaded.loading && !loaded.data)
    return (
      <Screen title={title}>
        <Busy />
      </Screen>
    );
  if (editing && loaded.error) {
    return (
      <Screen title={title}>
        <ErrorMessage error={loaded.error} />
      </Screen>
    );
  }
  return <FormBody key={props.id ?? "new"} title={title} trainer={loaded.data} />;
}

function FormBody(props: { title: string; trainer: Trainer | undefined }) {
  const withPrivate = may("operator");
  const before = props.trainer ? formFromTrainer(props.trainer) : emptyForm();
  const [form, setForm] = useState<TrainerForm>(before);
  const [errors, setErrors] = useState<ReadonlyMap<string, string>>(new Map());
  const [failure, setFailure] = useState<unknown>(undefined);
  const [saving, setSaving] = useState(false);
  const [notice, setNotice] = useState("");
  const set =
    <K extends keyof TrainerForm>(key: K) =>
    (value: TrainerForm[K]) =>
      setForm((f) => ({ ...f, [key]: value }));

  async function submit(event: Event) {
    event.preventDefault();
    setSaving(true);
    setNotice("");
    try {
      let saved: Trainer;
      if (props.trainer) {
        const mask = changedFields(form, before, withPrivate);
        if (mask.length === 0) {
          setNotice(t("trainer.nothingChanged"));
          setSaving(false);
          return;
        }
        saved = await api.trainers.updateTrainer({
          trainer: { ...trainerOfForm(form, withPrivate), id: props.trainer.id },
          updateMask: mask,
        });
      } else {
        saved = await api.trainers.addTrainer({ trainer: trainerOfForm(form, withPrivate) });
      }
      navigate(`/roster/${encodeURIComponent(saved.id)}`);
    } catch (error) {
      const found = fieldErrors(error);
      setErrors(found);
      setFailure(found.size > 0 ? undefined : error);
      setSaving(false);
      // The first invalid field takes focus, after the errors are drawn.
      if (found.size > 0)
        requestAnimationFrame(() => document.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
    }
  }

  const allErrors = [...errors.values()];
  return (
    <Screen title={props.title}>
      <form class="trainer-form" onSubmit={submit} noValidate>
        {allErrors.length > 0 ? (
          <div class="error-summary" role="alert">
            <h2>{t("trainer.errorsTitle", { count: allErrors.length })}</h2>
            <ul>
              {[...errors.entries()].map(([path, message]) => (
                <li key={path}>
                  <code>{path.replace(/^trainer\./, "")}</code>: {message}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
        <ErrorMessage error={failure} />
        {notice ? (
          <p class="notice" role="status">
            {notice}
          </p>
        ) : null}
        <div class="row">
          {props.trainer ? null : (
            <Field
              label={t("trainer.id")}
              hint={t("trainer.idHint")}
              value={form.id}
              onValue={set("id")}
              error={errorAt(errors, "id")}
              required
              autocomplete="off"
            />
          )}
          <Field
            label={t("trainer.displayName")}
            value={form.displayName}
            onValue={set("displayName")}
            error={errorAt(errors, "display_name")}
            required
            autocomplete="off"
          />
        </div>
        <LanguagesEditor rows={form.languages} onRows={set("languages")} errors={errors} />
        <Field
          label={t("trainer.regions")}
          hint={t("trainer.regionsHint")}
          value={form.regions}
          onValue={set("regions")}
          error={errorsUnder(errors, "regions")}
          autocomplete="off"
        />
        <AccreditationsEditor rows={form.accreditations} onRows={set("accreditations")} errors={errors} />
        <RangesEditor kind="availability" rows={form.availability} onRows={set("availability")} errors={errors} />
        <RangesEditor kind="blackouts" rows={form.blackouts} onRows={set("blackouts")} errors={errors} />
        {withPrivate ? (
          <fieldset>
            <legend>{t("trainer.private")}</legend>
            <p class="hint muted">{t("trainer.privateHint")}</p>
            <div class="row">
              <Field
                label={t("trainer.email")}
                type="email"
                value={form.email}
                onValue={set("email")}
                error={errorAt(errors, "private.email")}
                autocomplete="off"
              />
              <Field
                label={t("trainer.phone")}
                type="tel"
                value={form.phone}
                onValue={set("phone")}
                error={errorAt(errors, "private.phone")}
                autocomplete="off"
              />
              <Field
                label={t("trainer.nationalId")}
                value={form.nationalId}
                onValue={set("nationalId")}
                error={errorAt(errors, "private.national_id")}
                autocomplete="off"
              />
            </div>
            <TextArea
              label={t("trainer.notes")}
              value={form.notes}
              onValue={set("notes")}
              error={errorAt(errors, "private.notes")}
            />
          </fieldset>
        ) : null}
        <div class="row">
          <button type="submit" disabled={saving}>
            {saving ? t("trainer.saving") : props.trainer ? t("trainer.saveChanges") : t("trainer.add")}
          </button>
          <Link
            href={props.trainer ? `/roster/${encodeURIComponent(props.trainer.id)}` : "/roster"}
            class="button-link"
          >
            {t("common.cancel")}
          </Link>
        </div>
      </form>
    </Screen>
  );
}

/** /roster/<id>: everything this hub knows of one trainer, read again when the roster or a booking changes. */
export function TrainerPage(props: ScreenProps & { id: string }) {
  const live = useLive("roster", "booking");
  const loaded = useLoad(
    async (signal) => {
      const [trainer, checks, bookings, history] = await Promise.all([
        api.trainers.getTrainer({ id: props.id }, { signal }),
        api.credentials.checkAccreditations({ trainerId: props.id }, { signal }).catch(failed),
        api.bookings
          .listBookings({ trainerId: props.id, direction: "incoming", state: "confirmed" }, { signal })
          .catch(failed),
        api.trainers.getTrainerHistory({ id: props.id }, { signal }).catch(failed),
      ]);
      return { trainer, checks, bookings, history };
    },
    [props.id],
    live,
  );
  const title = loaded.data?.trainer.displayName || props.id;
  if (!loaded.data) {
    return (
      <Screen title={title}>
        {loaded.error ? (
          isCode(loaded.error, Code.NotFound) ? (
            <p role="alert">{t("trainer.notFound", { id: props.id })}</p>
          ) : (
            <ErrorMessage error={loaded.error} />
          )
        ) : (
          <Busy />
        )}
        <p>
          <Link href="/roster">{t("trainer.backToRoster")}</Link>
        </p>
      </Screen>
    );
  }
  const { trainer, checks, bookings, history } = loaded.data;
  return (
    <Screen
      title={title}
      actions={
        may("operator") ? (
          <Link href={`/roster/${encodeURIComponent(trainer.id)}/edit`} class="button-link">
            {t("trainer.edit")}
          </Link>
        ) : null
      }
    >
      <p>
        <Link href="/roster">{t("trainer.backToRoster")}</Link>
      </p>
      <dl class="facts">
        <dt>{t("trainer.id")}</dt>
        <dd>{trainer.id}</dd>
        <dt>{t("trainer.homeHub")}</dt>
        <dd>{trainer.homeHub}</dd>
        <dt>{t("trainer.languages")}</dt>
        <dd>
          {trainer.languages.length === 0
            ? t("common.none")
            : trainer.languages.map((l) => `${languageName(l.tag)} (${l.tag}) ${l.level}`).join(", ")}
        </dd>
        <dt>{t("trainer.regionsShort")}</dt>
        <dd>
          {trainer.regions.length === 0
            ? t("common.none")
            : trainer.regions.map((r) => `${countryName(r)} (${r})`).join(", ")}
        </dd>
        <dt>{t("trainer.availability")}</dt>
        <dd>{trainer.availability.length === 0 ? t("common.none") : trainer.availability.map(range).join("; ")}</dd>
        <dt>{t("trainer.blackouts")}</dt>
        <dd>{trainer.blackouts.length === 0 ? t("common.none") : trainer.blackouts.map(range).join("; ")}</dd>
        <dt>{t("trainer.updated")}</dt>
        <dd>
          {trainer.updatedAt
            ? t("trainer.updatedBy", { at: formatTime(trainer.updatedAt), who: trainer.updatedBy })
            : "—"}
        </dd>
      </dl>
      {trainer.private ? (
        <section aria-labelledby="private-title">
          <h2 id="private-title">{t("trainer.private")}</h2>
          <dl class="facts">
            <dt>{t("trainer.email")}</dt>
            <dd>{trainer.private.email || "—"}</dd>
            <dt>{t("trainer.phone")}</dt>
            <dd>{trainer.private.phone || "—"}</dd>
            <dt>{t("trainer.nationalId")}</dt>
            <dd>{trainer.private.nationalId || "—"}</dd>
            <dt>{t("trainer.notes")}</dt>
            <dd class="notes">{trainer.private.notes || "—"}</dd>
          </dl>
        </section>
      ) : null}

      <h2>{t("trainer.claimedTitle")}</h2>
      <p class="muted">{t("trainer.claimedHint")}</p>
      {checks instanceof Failed ? (
        <p class="error" role="alert">
          {errorText(checks.error)}
        </p>
      ) : null}
      <div class="table-wrap">
        <table class="cards">
          <caption>{t("trainer.claimedCaption", { count: trainer.accreditations.length })}</caption>
          <thead>
            <tr>
              <th scope="col">{t("trainer.col.accreditation")}</th>
              <th scope="col">{t("trainer.col.level")}</th>
              <th scope="col">{t("trainer.col.validity")}</th>
              <th scope="col">{t("trainer.col.counts")}</th>
            </tr>
          </thead>
          <tbody>
            {trainer.accreditations.map((a, i) => {
              const check = checks instanceof Failed ? undefined : checks.checks[i];
              return (
                <tr key={i}>
                  <td data-label={t("trainer.col.accreditation")}>
                    {a.scheme} / {a.competency} <span class="muted">({statusName(a.status)})</span>
                  </td>
                  <td data-label={t("trainer.col.level")}>{a.level || "—"}</td>
                  <td data-label={t("trainer.col.validity")}>
                    {a.validFrom || a.validUntil
                      ? t("trainer.range", {
                          start: a.validFrom ? formatDay(a.validFrom) : "…",
                          end: a.validUntil ? formatDay(a.validUntil) : "…",
                        })
                      : "—"}
                  </td>
                  <td data-label={t("trainer.col.counts")}>
                    {check ? (
                      <>
                        <span class={`badge ${check.verified ? "ok" : "warn"}`}>
                          {check.verified ? t("trainer.verified") : t("trainer.unverified")}
                        </span>{" "}
                        <span class="muted">{check.detail}</span>
                      </>
                    ) : (
                      "—"
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <h2>{t("trainer.credentialsTitle")}</h2>
      {checks instanceof Failed ? null : checks.held.length === 0 ? (
        <p class="muted">{t("trainer.noCredentials")}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <caption>{t("trainer.credentialsCaption", { count: checks.held.length })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("trainer.col.credential")}</th>
                <th scope="col">{t("trainer.col.scheme")}</th>
                <th scope="col">{t("trainer.col.issuer")}</th>
                <th scope="col">{t("trainer.col.validity")}</th>
                <th scope="col">{t("trainer.col.counts")}</th>
              </tr>
            </thead>
            <tbody>
              {checks.held.map((h) => (
                <tr key={h.id}>
                  <td data-label={t("trainer.col.credential")}>{h.id}</td>
                  <td data-label={t("trainer.col.scheme")}>
                    {h.scheme} / {h.level} <span class="muted">{h.competencies.join(", ")}</span>
                  </td>
                  <td data-label={t("trainer.col.issuer")}>{h.issuer}</td>
                  <td data-label={t("trainer.col.validity")}>{range({ start: h.validFrom, end: h.validUntil })}</td>
                  <td data-label={t("trainer.col.counts")}>
                    <span class={`badge ${h.valid ? "ok" : "bad"}`}>
                      {h.valid ? t("trainer.verified") : t("trainer.notValid")}
                    </span>{" "}
                    {h.valid ? null : <span class="muted">{h.detail}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>{t("trainer.engagementsTitle")}</h2>
      {bookings instanceof Failed ? (
        <p class="error" role="alert">
          {errorText(bookings.error)}
        </p>
      ) : bookings.bookings.length === 0 ? (
        <p class="muted">{t("trainer.noEngagements")}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <caption>{t("trainer.engagementsCaption", { count: bookings.bookings.length })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("trainer.col.period")}</th>
                <th scope="col">{t("trainer.col.requester")}</th>
                <th scope="col">{t("trainer.col.course")}</th>
                <th scope="col">{t("trainer.col.state")}</th>
              </tr>
            </thead>
            <tbody>
              {bookings.bookings.map((b) => (
                <tr key={b.key}>
                  <td data-label={t("trainer.col.period")}>
                    {b.request ? range({ start: b.request.from, end: b.request.to }) : "—"}
                  </td>
                  <td data-label={t("trainer.col.requester")}>{b.request?.requester ?? "—"}</td>
                  <td data-label={t("trainer.col.course")}>
                    {[b.request?.course, b.request?.competency].filter(Boolean).join(" · ") || "—"}
                  </td>
                  <td data-label={t("trainer.col.state")}>
                    <span
                      class={`badge ${b.state === "confirmed" ? "ok" : b.state === "declined" || b.state === "cancelled" ? "bad" : "warn"}`}
                    >
                      {BOOKING_STATES.has(b.state) ? t(`trainer.booking.${b.state}`) : b.state}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {history instanceof Failed ? null : <ServiceHistory history={history} />}
      <h2>{t("trainer.historyTitle")}</h2>
      {history instanceof Failed ? (
        <p class="error" role="alert">
          {errorText(history.error)}
        </p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <caption>{t("trainer.historyCaption", { count: history.entries.length })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("trainer.col.when")}</th>
                <th scope="col">{t("trainer.col.who")}</th>
                <th scope="col">{t("trainer.col.what")}</th>
              </tr>
            </thead>
            <tbody>
              {[...history.entries].reverse().map((e, i) => (
                <tr key={i}>
                  <td data-label={t("trainer.col.when")}>{formatTime(e.time)}</td>
                  <td data-label={t("trainer.col.who")}>{e.operatorId}</td>
                  <td data-label={t("trainer.col.what")}>{actionName(e.action)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Screen>
  );
}

const BOOKING_STATES = new Set(["pending", "tentative", "confirmed", "declined", "cancelled"]);
const STATUSES = new Set(["active", "suspended", "revoked"]);

function statusName(status: string): string {
  return STATUSES.has(status) ? t(`trainer.status.${status}`) : status || "—";
}

const ACTIONS = new Set([
  "trainer.add",
  "trainer.update",
  "trainer.remove",
  "trainer.import",
  "trainer.deploy",
  "trainer.lineage",
  "trainer.release",
  "trainer.accept",
]);

const ROLES = new Set(["lead-trainer", "co-trainer", "mentor", "assessor", "observer"]);

/** Where the trainer served, who trained them as a trainer, and a move between hubs (docs/trainer-history.md). */
function ServiceHistory(props: { history: GetTrainerHistoryResponse }) {
  const h = props.history;
  return (
    <>
      <h2>{t("trainer.servedTitle")}</h2>
      {h.movedTo ? <p>{t("trainer.movedTo", { hub: h.movedTo.hub, on: h.movedTo.on })}</p> : null}
      {h.movedFrom ? (
        <p>{t("trainer.movedFrom", { hub: h.movedFrom.hub, id: h.movedFrom.id, on: h.movedFrom.on })}</p>
      ) : null}
      {h.movedTo || h.movedFrom ? (
        <p class={h.moveConfirmed ? "muted" : "error"}>
          {h.moveConfirmed ? t("trainer.moveConfirmed") : t("trainer.moveUnconfirmed")}
        </p>
      ) : null}
      {h.deployments.length === 0 ? (
        <p class="muted">{t("trainer.noDeployments")}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <caption>{t("trainer.deploymentsCaption", { count: h.deployments.length })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("trainer.col.period")}</th>
                <th scope="col">{t("trainer.col.role")}</th>
                <th scope="col">{t("trainer.col.module")}</th>
                <th scope="col">{t("trainer.col.place")}</th>
                <th scope="col">{t("trainer.col.mission")}</th>
              </tr>
            </thead>
            <tbody>
              {h.deployments.map((d, i) => (
                <tr key={i}>
                  <td data-label={t("trainer.col.period")}>
                    {t("trainer.range", { start: formatDay(d.from), end: formatDay(d.to) })}
                  </td>
                  <td data-label={t("trainer.col.role")}>{ROLES.has(d.role) ? t(`trainer.role.${d.role}`) : d.role}</td>
                  <td data-label={t("trainer.col.module")}>{d.module}</td>
                  <td data-label={t("trainer.col.place")}>
                    {t("trainer.placeIn", { place: d.place, country: countryName(d.country) })}
                  </td>
                  <td data-label={t("trainer.col.mission")}>
                    {[d.hub, d.mission].filter((x) => x !== "").join(" · ")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {h.trainedBy.length === 0 ? (
        <p class="muted">{t("trainer.noLineage")}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <caption>{t("trainer.lineageCaption", { count: h.trainedBy.length })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("trainer.col.trainedBy")}</th>
                <th scope="col">{t("trainer.col.module")}</th>
                <th scope="col">{t("trainer.col.on")}</th>
                <th scope="col">{t("trainer.col.credential")}</th>
              </tr>
            </thead>
            <tbody>
              {h.trainedBy.map((l, i) => (
                <tr key={i}>
                  <td data-label={t("trainer.col.trainedBy")}>{l.trainedBy}</td>
                  <td data-label={t("trainer.col.module")}>{l.module}</td>
                  <td data-label={t("trainer.col.on")}>{l.on}</td>
                  <td data-label={t("trainer.col.credential")}>{l.credential}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function actionName(action: string): string {
  return ACTIONS.has(action) ? t(`trainer.action.${action.slice("trainer.".length)}`) : action;
}
