/**
 * The hub's roster (/roster): its trainers, read page by page with ListTrainers as
 * `concordat trainers list` does, searched in the page by name, id, language or country over what
 * is loaded; and the sub-pages /roster/new, /roster/import, /roster/<id>, /roster/<id>/edit.
 */
import "./roster.css";
import { useState } from "preact/hooks";
import type { Trainer } from "../../generated/concordat/v1/trainers_pb.js";
import { api } from "../api.js";
import type { ScreenProps } from "../app.js";
import { countryName, formatNumber, formatTime, languageName, t } from "../i18n.js";
import { useLive } from "../live.js";
import { may } from "../session.js";
import { Busy, ErrorMessage, Field, Link, Screen, useLoad } from "../ui/kit.js";
import { ImportScreen } from "./import.js";
import { TrainerFormScreen, TrainerPage } from "./trainer.js";

const PAGE_SIZE = 200;

export function RosterScreen(props: ScreenProps) {
  const parts = props.rest.split("/").filter((p) => p !== "");
  if (parts.length === 0) return <RosterList {...props} />;
  if (parts.length === 1 && parts[0] === "new") return <TrainerFormScreen {...props} />;
  if (parts.length === 1 && parts[0] === "import") return <ImportScreen {...props} />;
  const id = decodeURIComponent(parts[0] ?? "");
  if (parts.length === 2 && parts[1] === "edit") return <TrainerFormScreen {...props} id={id} />;
  return <TrainerPage {...props} id={id} />;
}

/** Whether a trainer matches every word of a search: its id, name, languages (tag or name), regions (code or name). */
function matches(trainer: Trainer, words: readonly string[]): boolean {
  const haystack = [
    trainer.id,
    trainer.displayName,
    ...trainer.languages.flatMap((l) => [l.tag, languageName(l.tag)]),
    ...trainer.regions.flatMap((r) => [r, countryName(r)]),
  ]
    .join(" ")
    .toLocaleLowerCase();
  return words.every((w) => haystack.includes(w));
}

function RosterList(_props: ScreenProps) {
  const live = useLive("roster");
  const [pages, setPages] = useState(1);
  const [query, setQuery] = useState("");
  const loaded = useLoad(
    async (signal) => {
      const trainers: Trainer[] = [];
      let token = "";
      let total = 0;
      for (let page = 0; page < pages; page++) {
        const answer = await api.trainers.listTrainers({ pageSize: PAGE_SIZE, pageToken: token }, { signal });
        trainers.push(...answer.trainers);
        total = answer.total;
        token = answer.nextPageToken;
        if (token === "") break;
      }
      return { trainers, total, more: token !== "" };
    },
    [pages],
    live,
  );
  const words = query.toLocaleLowerCase().split(/\s+/).filter(Boolean);
  const shown = loaded.data ? loaded.data.trainers.filter((tr) => matches(tr, words)) : [];
  return (
    <Screen
      title={t("roster.title")}
      actions={
        may("operator") ? (
          <>
            <Link href="/roster/new" class="button-link">
              {t("roster.add")}
            </Link>
            <Link href="/roster/import" class="button-link secondary">
              {t("roster.import")}
            </Link>
          </>
        ) : null
      }
    >
      <div class="roster-search">
        <Field
          label={t("roster.search")}
          hint={t("roster.searchHint")}
          type="search"
          value={query}
          onValue={setQuery}
          autocomplete="off"
        />
      </div>
      <ErrorMessage error={loaded.error} />
      {loaded.data === undefined ? (
        loaded.error ? null : (
          <Busy />
        )
      ) : (
        <>
          <p role="status" class="muted">
            {words.length > 0
              ? t("roster.matching", { count: shown.length, loaded: loaded.data.trainers.length })
              : t("roster.count", { count: loaded.data.trainers.length, total: formatNumber(loaded.data.total) })}
          </p>
          {loaded.data.total === 0 ? (
            <p>{may("operator") ? t("roster.emptyOperator") : t("roster.empty")}</p>
          ) : (
            <div class="table-wrap">
              <table class="cards roster-table">
                <caption>{t("roster.caption", { count: shown.length })}</caption>
                <thead>
                  <tr>
                    <th scope="col">{t("roster.col.name")}</th>
                    <th scope="col">{t("roster.col.id")}</th>
                    <th scope="col">{t("roster.col.languages")}</th>
                    <th scope="col">{t("roster.col.regions")}</th>
                    <th scope="col">{t("roster.col.accreditations")}</th>
                    <th scope="col">{t("roster.col.updated")}</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((tr) => (
                    <tr key={tr.id}>
                      <td data-label={t("roster.col.name")}>
                        <Link href={`/roster/${encodeURIComponent(tr.id)}`}>{tr.displayName || tr.id}</Link>
                      </td>
                      <td data-label={t("roster.col.id")}>{tr.id}</td>
                      <td data-label={t("roster.col.languages")}>
                        {tr.languages.map((l) => `${languageName(l.tag)} ${l.level}`).join(", ") || "—"}
                      </td>
                      <td data-label={t("roster.col.regions")}>{tr.regions.map(countryName).join(", ") || "—"}</td>
                      <td data-label={t("roster.col.accreditations")}>{formatNumber(tr.accreditations.length)}</td>
                      <td data-label={t("roster.col.updated")}>{tr.updatedAt ? formatTime(tr.updatedAt) : "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {loaded.data.more ? (
            <button type="button" class="secondary" disabled={loaded.loading} onClick={() => setPages((n) => n + 1)}>
              {t("roster.more", { count: PAGE_SIZE })}
            </button>
          ) : null}
        </>
      )}
    </Screen>
  );
}
