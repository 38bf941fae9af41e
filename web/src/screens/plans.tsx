/**
 * Plans: joint annual plans (PlanService, as `concordat plans show|federation|actual`). For a year:
 * this hub's plan (its draft when newer than what it signed), the federation's plan as the signed
 * plans of every member give it — overlaps, competencies no plan covers, support requested — and
 * plan beside actual per hub, module and quarter. Plans are set and signed with the CLI
 * (docs/plans.md); every role may read this screen (the API asks for viewer). The year is in the
 * address (/plans?year=2027), so that a view can be bookmarked.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api } from "../api.js";
import type { ScreenProps } from "../app.js";
import { formatNumber, t } from "../i18n.js";
import { useLive } from "../live.js";
import { navigate, queryParams } from "../router.js";
import { Busy, ErrorMessage, Field, Notice, Screen, useLoad } from "../ui/kit.js";
import "./plans.css";

function yearFromAddress(): string {
  const y = queryParams().get("year") ?? "";
  return /^\d{4}$/.test(y) ? y : String(new Date().getFullYear());
}

const notFound = (error: unknown) => error instanceof ConnectError && error.code === Code.NotFound;
const money = (n: number, currency: string) => {
  try {
    return formatNumber(n, { style: "currency", currency });
  } catch {
    return `${formatNumber(n)} ${currency}`;
  }
};

/** A table named by the heading above it, scrolling sideways on a narrow screen. */
function Table(props: {
  id: string;
  title: string;
  head: string[];
  rows: Array<{ key: string; cells: ComponentChildren[]; numeric?: number[] }>;
}) {
  return (
    <>
      <h3 id={props.id}>{props.title}</h3>
      {props.rows.length === 0 ? (
        <p class="none">{t("plans.none")}</p>
      ) : (
        <div class="table-wrap">
          <table class="plans-table" aria-labelledby={props.id}>
            <thead>
              <tr>
                {props.head.map((h) => (
                  <th scope="col" key={h}>
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {props.rows.map((r) => (
                <tr key={r.key}>
                  {r.cells.map((c, i) =>
                    i === 0 ? (
                      <th scope="row" key={i}>
                        {c}
                      </th>
                    ) : (
                      <td key={i} class={r.numeric?.includes(i) ? "num" : undefined}>
                        {c}
                      </td>
                    ),
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function OwnPlan(props: { year: number; live: number }) {
  const loaded = useLoad(
    (signal) => api.plans.getPlan({ year: props.year, hub: "" }, { signal }),
    [props.year],
    props.live,
  );
  const p = loaded.data;
  return (
    <section aria-labelledby="plans-own" class="plans-section">
      <h2 id="plans-own">{t("plans.own.title")}</h2>
      {loaded.loading && !p ? <Busy /> : null}
      {loaded.error && notFound(loaded.error) ? (
        <Notice>{t("plans.own.none", { year: String(props.year) })}</Notice>
      ) : null}
      {loaded.error && !notFound(loaded.error) ? <ErrorMessage error={loaded.error} /> : null}
      {p && !loaded.error ? (
        <>
          <Notice tone={p.status === "signed" ? "ok" : "warn"}>
            {p.status === "signed"
              ? t("plans.own.signed", { version: p.version, by: p.signedBy, at: p.signedAt })
              : t("plans.own.draft", { version: p.version })}
          </Notice>
          <Table
            id="plans-own-deliveries"
            title={t("plans.deliveries")}
            head={[t("plans.module"), t("plans.quarter"), t("plans.country"), t("plans.language"), t("plans.count")]}
            rows={p.deliveries.map((d) => ({
              key: `${d.module}|${d.quarter}|${d.country}|${d.language}`,
              cells: [d.module, `Q${d.quarter}`, d.country, d.language, formatNumber(d.count)],
              numeric: [4],
            }))}
          />
          <Table
            id="plans-own-trainers"
            title={t("plans.trainers")}
            head={[t("plans.competency"), t("plans.language"), t("plans.count")]}
            rows={p.trainers.map((x) => ({
              key: `${x.competency}|${x.language}`,
              cells: [x.competency, x.language, formatNumber(x.count)],
              numeric: [2],
            }))}
          />
          <Table
            id="plans-own-support"
            title={t("plans.support")}
            head={[t("plans.kind"), t("plans.amount"), t("plans.note")]}
            rows={p.support.map((x, i) => ({
              key: String(i),
              cells: [x.kind, money(x.amount, x.currency), x.note],
              numeric: [1],
            }))}
          />
        </>
      ) : null}
    </section>
  );
}

function FederationPlan(props: { year: number; live: number }) {
  const loaded = useLoad(
    (signal) => api.plans.federationPlan({ year: props.year }, { signal }),
    [props.year],
    props.live,
  );
  const f = loaded.data;
  return (
    <section aria-labelledby="plans-federation" class="plans-section">
      <h2 id="plans-federation">{t("plans.federation.title")}</h2>
      {loaded.loading && !f ? <Busy /> : null}
      <ErrorMessage error={loaded.error} />
      {f && !loaded.error ? (
        <>
          <p>{t("plans.federation.signed", { count: f.plans.length })}</p>
          {f.missing.length > 0 ? (
            <Notice tone="warn">{t("plans.federation.missing", { hubs: f.missing.join(", ") })}</Notice>
          ) : null}
          <Table
            id="plans-overlaps"
            title={t("plans.overlaps")}
            head={[t("plans.module"), t("plans.country"), t("plans.hubs")]}
            rows={f.overlaps.map((o) => ({
              key: `${o.module}|${o.country}`,
              cells: [
                o.module,
                o.country,
                o.hubs
                  .map((h) => `${h.hub} (${formatNumber(h.count)}: ${h.quarters.map((q) => `Q${q}`).join(", ")})`)
                  .join("; "),
              ],
            }))}
          />
          <h3 id="plans-gaps">{t("plans.gaps")}</h3>
          {f.gaps.length === 0 ? (
            <p class="none">{t("plans.none")}</p>
          ) : (
            <ul class="plans-gaps" aria-labelledby="plans-gaps">
              {f.gaps.map((g) => (
                <li key={g.competency}>
                  {g.code} ({g.competency})
                </li>
              ))}
            </ul>
          )}
          <Table
            id="plans-support-totals"
            title={t("plans.supportTotals")}
            head={[t("plans.kind"), t("plans.amount"), t("plans.hubs")]}
            rows={f.support.map((x) => ({
              key: `${x.kind}|${x.currency}`,
              cells: [x.kind, money(x.amount, x.currency), x.hubs.join(", ")],
              numeric: [1],
            }))}
          />
          {f.rejected.length > 0 ? (
            <Notice tone="warn">
              {t("plans.rejected", { count: f.rejected.length })}{" "}
              {f.rejected.map((r) => `${r.hub} ${r.key}: ${r.problem}`).join("; ")}
            </Notice>
          ) : null}
        </>
      ) : null}
    </section>
  );
}

function PlanVsActual(props: { year: number; live: number }) {
  const loaded = useLoad(
    (signal) => api.plans.planVsActual({ year: props.year, hub: "" }, { signal }),
    [props.year],
    props.live,
  );
  const rows = loaded.data?.rows;
  return (
    <section aria-labelledby="plans-actual" class="plans-section">
      <h2 id="plans-actual">{t("plans.actual.title")}</h2>
      <p>{t("plans.actual.intro")}</p>
      {loaded.loading && !rows ? <Busy /> : null}
      <ErrorMessage error={loaded.error} />
      {rows && !loaded.error ? (
        <Table
          id="plans-actual-table"
          title={t("plans.actual.table")}
          head={[
            t("plans.hub"),
            t("plans.quarter"),
            t("plans.module"),
            t("plans.planned"),
            t("plans.actual"),
            t("plans.difference"),
          ]}
          rows={rows.map((r) => ({
            key: `${r.hub}|${r.quarter}|${r.module}`,
            cells: [
              r.hub,
              `Q${r.quarter}`,
              r.module,
              formatNumber(r.planned),
              formatNumber(r.actual),
              r.difference > 0 ? `+${formatNumber(r.difference)}` : formatNumber(r.difference),
            ],
            numeric: [3, 4, 5],
          }))}
        />
      ) : null}
    </section>
  );
}

export function PlansScreen(_props: ScreenProps) {
  const [shown, setShown] = useState(yearFromAddress);
  const [draft, setDraft] = useState(shown);
  const live = useLive("checkpoint", "release", "member", "curriculum");
  const year = Number(shown);
  const submit = (event: Event) => {
    event.preventDefault();
    if (!/^\d{4}$/.test(draft.trim())) return;
    navigate(`/plans?year=${draft.trim()}`, true);
    setShown(draft.trim());
  };
  return (
    <Screen title={t("plans.title")}>
      <p>{t("plans.intro")}</p>
      <form class="plans-form" onSubmit={submit} aria-label={t("plans.form.label")}>
        <Field
          label={t("plans.year")}
          value={draft}
          onValue={setDraft}
          inputMode="numeric"
          pattern="\d{4}"
          hint={t("plans.year.hint")}
          required
        />
        <button type="submit">{t("plans.show")}</button>
      </form>
      <OwnPlan year={year} live={live} />
      <FederationPlan year={year} live={live} />
      <PlanVsActual year={year} live={live} />
    </Screen>
  );
}
