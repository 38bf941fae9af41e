/**
 * The curriculum: at a hub, the core release it follows with its adaptations (and their review
 * state), and for a newer release what it changes under each adaptation BEFORE adopting it (the
 * jobs of `concordat curriculum show`, `core impact`, `core diff`, `core adopt`, `curriculum
 * confirm`). At the secretariat: the releases, what the drafts change since the latest, each hub's
 * standing, and publishing a release (`concordat core release`). See docs/curriculum-officer.md
 * and docs/secretariat.md.
 */
import { useState } from "preact/hooks";
import type {
  CoreRelease,
  DiffCoreResponse,
  FederationReleasesResponse,
  ImpactEntry,
} from "../../generated/concordat/v1/core_pb.js";
import { api, errorText, fieldErrors } from "../api.js";
import type { ScreenProps } from "../app.js";
import { formatNumber, formatTime, t } from "../i18n.js";
import { useLive } from "../live.js";
import { may } from "../session.js";
import { FieldChanges, textIn } from "../ui/curriculum-parts.js";
import { Busy, ErrorMessage, Field, Notice, Screen, TextArea, useLoad } from "../ui/kit.js";
import "./curriculum.css";

/** What ShowCurriculum's JSON holds (node/core/curriculum.ts: CurriculumContent and EffectiveCurriculum). */
interface AdaptationNote {
  id: string;
  baseRelease: string;
  scenarios: unknown[];
  legalReferences: string[];
  needsReview: boolean;
}
interface EffectiveItem {
  identifier: string;
  code: string;
  statement: Record<string, string>;
  type: string;
  language: string;
  adaptation?: AdaptationNote;
}
interface EffectiveModule {
  id: string;
  code: string;
  title: Record<string, string>;
  durationMinutes: number;
  deliveryMode: string;
  origin: "core" | "local";
  adaptation?: AdaptationNote;
}
interface Adaptation {
  id: string;
  target: { kind: "item" | "module"; id: string };
  baseRelease: string;
  scenarios: unknown[];
  legalReferences: string[];
  updatedAt: string;
}
interface CurriculumView {
  adoption?: { version: string; adoptedAt: string; adoptedBy: string };
  adaptations: Adaptation[];
  effective: {
    release?: string;
    latest?: string;
    items: EffectiveItem[];
    modules: EffectiveModule[];
    needsReview: number;
  };
}
interface CoreView {
  items: Array<{ identifier: string; code: string; statement: Record<string, string>; type: string; language: string }>;
  modules: Array<{ id: string; code: string; title: Record<string, string> }>;
  schemes: unknown[];
}

export function CurriculumScreen(props: ScreenProps) {
  return (
    <Screen title={t("curriculum.title")}>
      <div class="curriculum">{props.me.hubRole === "secretariat" ? <SecretariatCurriculum /> : <HubCurriculum />}</div>
    </Screen>
  );
}

// ---------------------------------------------------------------------------------------------
// at a hub

function HubCurriculum() {
  const live = useLive("release", "curriculum");
  const loaded = useLoad(
    async (signal) => {
      const [shown, releases] = await Promise.all([
        api.core.showCurriculum({}, { signal }),
        api.core.listCoreReleases({}, { signal }),
      ]);
      return {
        view: JSON.parse(shown.json) as CurriculumView,
        releases: releases.releases,
        problems: releases.problems,
      };
    },
    [],
    live,
  );
  const [done, setDone] = useState<string | undefined>(undefined);
  if (!loaded.data) return loaded.error ? <ErrorMessage error={loaded.error} /> : <Busy />;
  const { view, releases, problems } = loaded.data;
  const adopted = view.effective.release;
  const latest = view.effective.latest;
  const changed = (message: string) => {
    setDone(message);
    loaded.reload();
  };
  return (
    <>
      {loaded.error ? <ErrorMessage error={loaded.error} /> : null}
      {done ? <Notice tone="ok">{done}</Notice> : null}
      <Adopted view={view} releases={releases} />
      {latest && latest !== adopted ? (
        <NewRelease
          key={latest}
          release={releases.find((r) => r.version === latest)}
          version={latest}
          adopted={adopted}
          onAdopted={(v) => changed(t("curriculum.adopt.done", { version: v }))}
        />
      ) : releases.length > 0 ? (
        <p class="muted">{t("curriculum.upToDate")}</p>
      ) : (
        <Notice>{t("curriculum.noRelease")}</Notice>
      )}
      {adopted ? (
        <Adaptations view={view} onConfirmed={(id, v) => changed(t("curriculum.confirm.done", { id, version: v }))} />
      ) : null}
      {adopted ? <Contents view={view} /> : null}
      <Releases releases={releases} adopted={adopted} problems={problems} />
    </>
  );
}

function Adopted(props: { view: CurriculumView; releases: readonly CoreRelease[] }) {
  const { view } = props;
  const adoption = view.adoption;
  const e = view.effective;
  if (!adoption || !e.release) return null;
  const release = props.releases.find((r) => r.version === e.release);
  return (
    <section aria-labelledby="cur-adopted">
      <h2 id="cur-adopted">{t("curriculum.adopted.title")}</h2>
      <dl class="facts">
        <dt>{t("curriculum.adopted.version")}</dt>
        <dd>{e.release}</dd>
        {release ? (
          <>
            <dt>{t("curriculum.adopted.signed")}</dt>
            <dd>{formatTime(release.time)}</dd>
          </>
        ) : null}
        <dt>{t("curriculum.adopted.at")}</dt>
        <dd>{t("curriculum.adopted.atBy", { at: formatTime(adoption.adoptedAt), by: adoption.adoptedBy })}</dd>
        <dt>{t("curriculum.adopted.contents")}</dt>
        <dd>
          {t("curriculum.adopted.items", { count: e.items.length })},{" "}
          {t("curriculum.adopted.modules", { count: e.modules.length })}
        </dd>
        <dt>{t("curriculum.adopted.review")}</dt>
        <dd>
          {e.needsReview > 0 ? (
            <span class="badge warn">{t("curriculum.adopted.needsReview", { count: e.needsReview })}</span>
          ) : (
            <span class="badge ok">{t("curriculum.adopted.allReviewed")}</span>
          )}
        </dd>
      </dl>
    </section>
  );
}

/** A newer release: its impact on this hub's adaptations and its plain changes, then Adopt. */
function NewRelease(props: {
  version: string;
  release: CoreRelease | undefined;
  adopted: string | undefined;
  onAdopted: (version: string) => void;
}) {
  const { version, adopted } = props;
  const report = useLoad(
    async (signal) => {
      const [impact, diff] = await Promise.all([
        api.core.coreImpact({ release: version }, { signal }),
        adopted ? api.core.diffCore({ from: adopted, to: version }, { signal }) : Promise.resolve(undefined),
      ]);
      return { impact: impact.entries, diff };
    },
    [version, adopted],
  );
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(undefined);
  const adopt = async () => {
    setBusy(true);
    setFailure(undefined);
    try {
      const adoption = await api.core.adoptCore({ version });
      props.onAdopted(adoption.version);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="cur-new" class="new-release">
      <h2 id="cur-new">{t("curriculum.new.title", { version })}</h2>
      <p>
        {adopted ? t("curriculum.new.intro", { version, adopted }) : t("curriculum.new.introFirst", { version })}
        {props.release ? ` ${t("curriculum.new.signed", { time: formatTime(props.release.time) })}` : ""}
      </p>
      {props.release?.notes ? (
        <p class="release-notes">{t("curriculum.new.notes", { notes: props.release.notes })}</p>
      ) : null}
      {report.data ? (
        <>
          <ImpactTable entries={report.data.impact} version={version} />
          {report.data.diff ? <DiffTable diff={report.data.diff} from={adopted ?? ""} to={version} /> : null}
        </>
      ) : report.error ? (
        <ErrorMessage error={report.error} />
      ) : (
        <Busy label={t("curriculum.new.loading")} />
      )}
      {may("admin") ? (
        <div class="actions">
          <button type="button" onClick={() => void adopt()} disabled={busy || !report.data}>
            {busy ? t("curriculum.adopt.busy") : t("curriculum.adopt.button", { version })}
          </button>
          <ErrorMessage error={failure} />
        </div>
      ) : (
        <p class="muted">{t("curriculum.adopt.adminOnly")}</p>
      )}
    </section>
  );
}

function ImpactTable(props: { entries: readonly ImpactEntry[]; version: string }) {
  const affected = props.entries.filter((e) => e.status !== "unchanged");
  if (props.entries.length === 0) return <p>{t("curriculum.impact.noAdaptations")}</p>;
  return (
    <>
      <p>
        {affected.length === 0
          ? t("curriculum.impact.none", { version: props.version })
          : t("curriculum.impact.some", {
              count: affected.length,
              total: props.entries.length,
              version: props.version,
            })}
      </p>
      <div class="table-wrap">
        <table class="cards">
          <caption>{t("curriculum.impact.caption", { version: props.version })}</caption>
          <thead>
            <tr>
              <th scope="col">{t("curriculum.col.adaptation")}</th>
              <th scope="col">{t("curriculum.col.adapts")}</th>
              <th scope="col">{t("curriculum.col.basedOn")}</th>
              <th scope="col">{t("curriculum.col.state")}</th>
              <th scope="col">{t("curriculum.col.changes")}</th>
            </tr>
          </thead>
          <tbody>
            {props.entries.map((e) => (
              <tr key={e.adaptation}>
                <td data-label={t("curriculum.col.adaptation")}>{e.adaptation}</td>
                <td data-label={t("curriculum.col.adapts")}>
                  {t(`curriculum.kind.${e.targetKind === "module" ? "module" : "item"}`, {
                    code: e.code || e.targetId,
                  })}
                </td>
                <td data-label={t("curriculum.col.basedOn")}>{e.baseRelease}</td>
                <td data-label={t("curriculum.col.state")}>
                  <ImpactState status={e.status} />
                </td>
                <td data-label={t("curriculum.col.changes")}>
                  {e.status === "removed" ? t("curriculum.impact.removed") : <FieldChanges changes={e.changes} />}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function ImpactState(props: { status: string }) {
  if (props.status === "unchanged") return <span class="badge ok">{t("curriculum.state.unchanged")}</span>;
  if (props.status === "removed") return <span class="badge bad">{t("curriculum.state.removed")}</span>;
  return <span class="badge warn">{t("curriculum.state.changed")}</span>;
}

function DiffTable(props: { diff: DiffCoreResponse; from: string; to: string }) {
  const changes = props.diff.changes;
  return (
    <details class="diff">
      <summary>
        {t("curriculum.diff.summary", { count: changes.length, from: props.from || "—", to: props.to })}
      </summary>
      {changes.length === 0 ? (
        <p>{t("curriculum.diff.none")}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <caption>{t("curriculum.diff.caption", { from: props.from, to: props.to })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("curriculum.col.record")}</th>
                <th scope="col">{t("curriculum.col.change")}</th>
                <th scope="col">{t("curriculum.col.fields")}</th>
              </tr>
            </thead>
            <tbody>
              {changes.map((c) => (
                <tr key={`${c.kind}:${c.id}`}>
                  <td data-label={t("curriculum.col.record")}>
                    {t(`curriculum.record.${recordKind(c.kind)}`, { code: c.code || c.id })}
                  </td>
                  <td data-label={t("curriculum.col.change")}>{t(`curriculum.change.${changeKind(c.change)}`)}</td>
                  <td data-label={t("curriculum.col.fields")}>
                    <FieldChanges changes={c.fields} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </details>
  );
}

const RECORD_KINDS = ["framework", "item", "association", "module", "scheme"];
const recordKind = (kind: string) => (RECORD_KINDS.includes(kind) ? kind : "other");
const changeKind = (change: string) => (["added", "removed", "changed"].includes(change) ? change : "changed");

function Adaptations(props: { view: CurriculumView; onConfirmed: (id: string, version: string) => void }) {
  const { view } = props;
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [failure, setFailure] = useState<unknown>(undefined);
  const notes = new Map<string, { code: string; note: AdaptationNote }>();
  for (const i of view.effective.items)
    if (i.adaptation) notes.set(i.adaptation.id, { code: i.code, note: i.adaptation });
  for (const m of view.effective.modules)
    if (m.adaptation) notes.set(m.adaptation.id, { code: m.code || m.id, note: m.adaptation });
  const confirm = async (id: string) => {
    setBusy(id);
    setFailure(undefined);
    try {
      const saved = JSON.parse((await api.core.confirmAdaptation({ id, release: "" })).json) as Adaptation;
      props.onConfirmed(saved.id, saved.baseRelease);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <section aria-labelledby="cur-adaptations">
      <h2 id="cur-adaptations">{t("curriculum.adaptations.title")}</h2>
      <ErrorMessage error={failure} />
      {view.adaptations.length === 0 ? (
        <p>{t("curriculum.adaptations.none")}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <caption>{t("curriculum.adaptations.caption", { version: view.effective.release ?? "" })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("curriculum.col.adaptation")}</th>
                <th scope="col">{t("curriculum.col.adapts")}</th>
                <th scope="col">{t("curriculum.col.basedOn")}</th>
                <th scope="col">{t("curriculum.col.localContent")}</th>
                <th scope="col">{t("curriculum.col.state")}</th>
                <th scope="col">{t("curriculum.col.action")}</th>
              </tr>
            </thead>
            <tbody>
              {view.adaptations.map((a) => {
                const found = notes.get(a.id);
                const needsReview = found?.note.needsReview ?? true;
                return (
                  <tr key={a.id}>
                    <td data-label={t("curriculum.col.adaptation")}>{a.id}</td>
                    <td data-label={t("curriculum.col.adapts")}>
                      {t(`curriculum.kind.${a.target.kind}`, { code: found?.code ?? a.target.id })}
                    </td>
                    <td data-label={t("curriculum.col.basedOn")}>{a.baseRelease}</td>
                    <td data-label={t("curriculum.col.localContent")}>
                      {t("curriculum.adaptations.local", {
                        legal: formatNumber(a.legalReferences.length),
                        scenarios: formatNumber(a.scenarios.length),
                      })}
                    </td>
                    <td data-label={t("curriculum.col.state")}>
                      {needsReview ? (
                        <span class="badge warn">{t("curriculum.state.needsReview")}</span>
                      ) : (
                        <span class="badge ok">{t("curriculum.state.reviewed")}</span>
                      )}
                    </td>
                    <td data-label={t("curriculum.col.action")}>
                      {needsReview && may("operator") ? (
                        <button
                          type="button"
                          class="secondary"
                          disabled={busy !== undefined}
                          onClick={() => void confirm(a.id)}
                        >
                          {busy === a.id
                            ? t("curriculum.confirm.busy")
                            : t("curriculum.confirm.button", { id: a.id, version: view.effective.release ?? "" })}
                        </button>
                      ) : (
                        <span class="muted">{t("curriculum.confirm.nothing")}</span>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** The adopted release's competencies and modules, with this hub's adaptations applied. */
function Contents(props: { view: CurriculumView }) {
  const e = props.view.effective;
  const items = [...e.items].sort((a, b) => a.code.localeCompare(b.code));
  return (
    <section aria-labelledby="cur-contents">
      <h2 id="cur-contents">{t("curriculum.contents.title")}</h2>
      <div class="table-wrap">
        <table class="cards">
          <caption>{t("curriculum.contents.items", { version: e.release ?? "" })}</caption>
          <thead>
            <tr>
              <th scope="col">{t("curriculum.col.code")}</th>
              <th scope="col">{t("curriculum.col.statement")}</th>
              <th scope="col">{t("curriculum.col.type")}</th>
              <th scope="col">{t("curriculum.col.adapted")}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((i) => (
              <tr key={i.identifier}>
                <td data-label={t("curriculum.col.code")}>{i.code || i.identifier}</td>
                <td data-label={t("curriculum.col.statement")}>{textIn(i.statement, i.language)}</td>
                <td data-label={t("curriculum.col.type")}>{i.type}</td>
                <td data-label={t("curriculum.col.adapted")}>
                  {i.adaptation ? t("curriculum.contents.adaptedBy", { id: i.adaptation.id }) : t("common.no")}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {e.modules.length === 0 ? (
        <p>{t("curriculum.contents.noModules")}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <caption>{t("curriculum.contents.modules", { version: e.release ?? "" })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("curriculum.col.code")}</th>
                <th scope="col">{t("curriculum.col.moduleTitle")}</th>
                <th scope="col">{t("curriculum.col.duration")}</th>
                <th scope="col">{t("curriculum.col.origin")}</th>
                <th scope="col">{t("curriculum.col.adapted")}</th>
              </tr>
            </thead>
            <tbody>
              {e.modules.map((m) => (
                <tr key={m.id}>
                  <td data-label={t("curriculum.col.code")}>{m.code || m.id}</td>
                  <td data-label={t("curriculum.col.moduleTitle")}>{textIn(m.title)}</td>
                  <td data-label={t("curriculum.col.duration")}>
                    {t("curriculum.contents.minutes", { count: m.durationMinutes })}
                  </td>
                  <td data-label={t("curriculum.col.origin")}>
                    {t(m.origin === "local" ? "curriculum.origin.local" : "curriculum.origin.core")}
                  </td>
                  <td data-label={t("curriculum.col.adapted")}>
                    {m.adaptation ? t("curriculum.contents.adaptedBy", { id: m.adaptation.id }) : t("common.no")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Releases(props: {
  releases: readonly CoreRelease[];
  adopted?: string | undefined;
  problems: readonly string[];
}) {
  return (
    <section aria-labelledby="cur-releases">
      <h2 id="cur-releases">{t("curriculum.releases.title")}</h2>
      {props.releases.length === 0 ? (
        <p>{t("curriculum.releases.none")}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <caption>{t("curriculum.releases.caption")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("curriculum.col.version")}</th>
                <th scope="col">{t("curriculum.col.signed")}</th>
                <th scope="col">{t("curriculum.col.notes")}</th>
              </tr>
            </thead>
            <tbody>
              {[...props.releases].reverse().map((r) => (
                <tr key={r.version}>
                  <td data-label={t("curriculum.col.version")}>
                    {r.version}
                    {r.version === props.adopted ? (
                      <>
                        {" "}
                        <span class="badge ok">{t("curriculum.releases.followed")}</span>
                      </>
                    ) : null}
                  </td>
                  <td data-label={t("curriculum.col.signed")}>{formatTime(r.time)}</td>
                  <td data-label={t("curriculum.col.notes")}>{r.notes || t("common.none")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {props.problems.length > 0 ? (
        <>
          <h3>{t("curriculum.releases.refused")}</h3>
          <ul>
            {props.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  );
}

// ---------------------------------------------------------------------------------------------
// at the secretariat

function SecretariatCurriculum() {
  // Where each hub stands comes from its verified checkpoints: re-read when one arrives.
  const live = useLive("release", "curriculum", "checkpoint");
  const [released, setReleased] = useState<CoreRelease | undefined>(undefined);
  const loaded = useLoad(
    async (signal) => {
      const [releases, draft, hubs] = await Promise.all([
        api.core.listCoreReleases({}, { signal }),
        api.core.showCore({ draft: true, release: "" }, { signal }),
        api.core.federationReleases({}, { signal }),
      ]);
      const latest = releases.releases.at(-1)?.version;
      const diff = latest ? await api.core.diffCore({ from: latest, to: "draft" }, { signal }) : undefined;
      return { releases: releases.releases, draft: JSON.parse(draft.json) as CoreView, hubs, diff, latest };
    },
    [released],
    live,
  );
  if (!loaded.data) return loaded.error ? <ErrorMessage error={loaded.error} /> : <Busy />;
  const { releases, draft, hubs, diff, latest } = loaded.data;
  return (
    <>
      {loaded.error ? <ErrorMessage error={loaded.error} /> : null}
      {released ? (
        <Notice tone="ok">
          {t("curriculum.release.done", { version: released.version, seq: String(released.seq) })}
        </Notice>
      ) : null}
      <section aria-labelledby="cur-drafts">
        <h2 id="cur-drafts">{t("curriculum.drafts.title")}</h2>
        <p>
          {t("curriculum.drafts.summary", {
            items: formatNumber(draft.items.length),
            modules: formatNumber(draft.modules.length),
            schemes: formatNumber(draft.schemes.length),
          })}
        </p>
        {diff ? (
          diff.changes.length === 0 ? (
            <p>{t("curriculum.drafts.same", { version: latest ?? "" })}</p>
          ) : (
            <DiffTable diff={diff} from={latest ?? ""} to={t("curriculum.drafts.label")} />
          )
        ) : (
          <p>{t("curriculum.drafts.first")}</p>
        )}
        {may("admin") ? (
          <ReleaseForm latest={latest} onReleased={setReleased} />
        ) : (
          <p class="muted">{t("curriculum.release.adminOnly")}</p>
        )}
      </section>
      <HubStanding hubs={hubs} />
      <Releases releases={releases} problems={[]} />
    </>
  );
}

function ReleaseForm(props: { latest: string | undefined; onReleased: (release: CoreRelease) => void }) {
  const [version, setVersion] = useState("");
  const [notes, setNotes] = useState("");
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>(undefined);
  const errors = fieldErrors(failure);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setFailure(undefined);
    try {
      const release = await api.core.releaseCore({ version: version.trim(), notes });
      setVersion("");
      setNotes("");
      props.onReleased(release);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };
  const unplaced = failure !== undefined && !errors.has("version") && !errors.has("notes");
  return (
    <form class="release-form" onSubmit={(e) => void submit(e)} noValidate>
      <h3>{t("curriculum.release.title")}</h3>
      <div class="row">
        <Field
          label={t("curriculum.release.version")}
          hint={
            props.latest
              ? t("curriculum.release.versionHintAfter", { latest: props.latest })
              : t("curriculum.release.versionHint")
          }
          value={version}
          onValue={setVersion}
          error={errors.get("version")}
          autoComplete="off"
          inputMode="decimal"
        />
      </div>
      <TextArea label={t("curriculum.release.notes")} value={notes} onValue={setNotes} error={errors.get("notes")} />
      {unplaced ? (
        <p class="error" role="alert">
          {errorText(failure)}
        </p>
      ) : null}
      <button type="submit" disabled={busy}>
        {busy ? t("curriculum.release.busy") : t("curriculum.release.submit")}
      </button>
    </form>
  );
}

function HubStanding(props: { hubs: FederationReleasesResponse }) {
  const hubs = props.hubs.hubs;
  return (
    <section aria-labelledby="cur-hubs">
      <h2 id="cur-hubs">{t("curriculum.hubs.title")}</h2>
      {hubs.length === 0 ? (
        <p>{t("curriculum.hubs.none")}</p>
      ) : (
        <div class="table-wrap">
          <table class="cards">
            <caption>{t("curriculum.hubs.caption", { latest: props.hubs.latest || "—" })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("curriculum.col.hub")}</th>
                <th scope="col">{t("curriculum.col.adoptedRelease")}</th>
                <th scope="col">{t("curriculum.col.adaptedCount")}</th>
                <th scope="col">{t("curriculum.col.state")}</th>
                <th scope="col">{t("curriculum.col.asOf")}</th>
              </tr>
            </thead>
            <tbody>
              {hubs.map((h) => (
                <tr key={h.hub}>
                  <td data-label={t("curriculum.col.hub")}>
                    {h.hub}
                    {h.removed ? ` ${t("curriculum.hubs.removed")}` : ""}
                  </td>
                  <td data-label={t("curriculum.col.adoptedRelease")}>
                    {h.adopted || t("curriculum.hubs.noAdoption")}
                  </td>
                  <td data-label={t("curriculum.col.adaptedCount")}>
                    {t("curriculum.hubs.adapted", {
                      items: formatNumber(h.adaptedItems),
                      modules: formatNumber(h.adaptedModules),
                    })}
                  </td>
                  <td data-label={t("curriculum.col.state")}>
                    {h.needsReview > 0 ? (
                      <span class="badge warn">{t("curriculum.adopted.needsReview", { count: h.needsReview })}</span>
                    ) : (
                      <span class="badge ok">{t("curriculum.adopted.allReviewed")}</span>
                    )}
                  </td>
                  <td data-label={t("curriculum.col.asOf")}>
                    {h.self
                      ? t("curriculum.hubs.live")
                      : h.checkpointSeq > 0n
                        ? t("curriculum.hubs.checkpoint", { time: formatTime(h.checkpointTime) })
                        : t("curriculum.hubs.nothingVerified")}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
