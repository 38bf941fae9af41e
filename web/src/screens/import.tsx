/**
 * /roster/import: a CSV or JSON trainer file (docs/trainer-files.md) read in the browser with the
 * CLI's reader (cli/trainer-files.ts, bundled into the page), then sent to ImportTrainers as `concordat trainers import`
 * sends it: options first, then batches of rows. Without "import the valid rows", the node writes
 * nothing when any row is bad; with unreadable rows the call is a dry run, so that the node still
 * checks the readable ones and every problem is listed at once, each with its line and field.
 */
import { useState } from "preact/hooks";
import { api, errorText } from "../api.js";
import type { ScreenProps } from "../app.js";
import { formatNumber, t } from "../i18n.js";
import { navigate } from "../router.js";
import { may } from "../session.js";
import { Link, Screen } from "../ui/kit.js";
import { type FileRowError, formatFromPath, readTrainerFile } from "../../../cli/trainer-files/read.js";
import { uploadingTrainerClient } from "../lib/upload.js";

/** Rows per message, as the CLI sends them. */
const BATCH = 500;

type State =
  | { step: "idle" }
  | { step: "reading" }
  | { step: "sending"; sent: number; total: number; rows: number }
  | { step: "checking"; rows: number }
  | { step: "refused"; errors: FileRowError[]; rows: number; more: number }
  | { step: "done"; added: number; updated: number; skipped: number; errors: FileRowError[] }
  | { step: "failed"; message: string };

async function knownIds(): Promise<Set<string>> {
  const ids = new Set<string>();
  let token = "";
  do {
    const page = await api.trainers.listTrainers({ pageSize: 1000, pageToken: token });
    for (const trainer of page.trainers) ids.add(trainer.id);
    token = page.nextPageToken;
  } while (token !== "");
  return ids;
}

export function ImportScreen(_props: ScreenProps) {
  const [file, setFile] = useState<File | undefined>(undefined);
  const [upsert, setUpsert] = useState(false);
  const [skipInvalid, setSkipInvalid] = useState(false);
  const [state, setState] = useState<State>({ step: "idle" });
  const busy = state.step === "reading" || state.step === "sending" || state.step === "checking";

  async function run(event: Event) {
    event.preventDefault();
    if (!file) {
      setState({ step: "failed", message: t("import.noFile") });
      return;
    }
    const format = formatFromPath(file.name);
    if (!format) {
      setState({ step: "failed", message: t("import.badExtension", { name: file.name }) });
      return;
    }
    setState({ step: "reading" });
    try {
      const parsed = readTrainerFile(await file.text(), format);
      const rows = parsed.rows.map((r) => ({ line: r.line, trainer: r.trainer }));
      if (rows.length === 0 && parsed.errors.length === 0) {
        setState({ step: "failed", message: t("import.emptyFile", { name: file.name }) });
        return;
      }
      // As the CLI: with unreadable rows and without skipping them, nothing will be written, but the
      // node still checks the readable rows so that every problem is listed at once.
      const dryRun = parsed.errors.length > 0 && !skipInvalid;
      const before = upsert ? await knownIds() : new Set<string>();
      setState({ step: "sending", sent: 0, total: 1, rows: rows.length });
      const client = uploadingTrainerClient((sent, total) => {
        setState(
          sent >= total ? { step: "checking", rows: rows.length } : { step: "sending", sent, total, rows: rows.length },
        );
      });
      async function* messages() {
        yield { part: { case: "options" as const, value: { skipInvalid, dryRun, upsert } } };
        for (let i = 0; i < rows.length; i += BATCH) {
          yield { part: { case: "rows" as const, value: { rows: rows.slice(i, i + BATCH) } } };
        }
      }
      const result = await client.importTrainers(messages());
      const errors = [
        ...parsed.errors,
        ...result.errors.map((e) => ({ line: e.line, field: e.field, message: e.message })),
      ].sort((a, b) => a.line - b.line);
      if (!result.committed && errors.length > 0) {
        setState({
          step: "refused",
          errors,
          rows: rows.length + new Set(parsed.errors.map((e) => e.line)).size,
          more: result.errorsTotal - result.errors.length,
        });
        return;
      }
      const written = new Set(
        rows
          .map((r) => r.trainer.id)
          .filter((id) => !errors.some((e) => rows.find((r) => r.line === e.line)?.trainer.id === id)),
      );
      const updated = upsert ? [...written].filter((id) => before.has(id)).length : 0;
      setState({
        step: "done",
        added: result.imported - updated,
        updated,
        skipped: result.skipped + (skipInvalid ? new Set(parsed.errors.map((e) => e.line)).size : 0),
        errors,
      });
    } catch (error) {
      setState({ step: "failed", message: errorText(error) });
    }
  }

  if (!may("operator")) {
    return (
      <Screen title={t("import.title")}>
        <p>{t("import.notAllowed")}</p>
      </Screen>
    );
  }
  return (
    <Screen title={t("import.title")}>
      <p>
        <Link href="/roster">{t("import.back")}</Link>
      </p>
      <p>{t("import.intro")}</p>
      <form onSubmit={run} class="import-form">
        <div class="field">
          <label for="import-file">{t("import.file")}</label>
          <input
            id="import-file"
            type="file"
            accept=".csv,.json,text/csv,application/json"
            aria-describedby="import-file-hint"
            onChange={(e) => {
              setFile((e.currentTarget as HTMLInputElement).files?.[0]);
              setState({ step: "idle" });
            }}
          />
          <span class="hint" id="import-file-hint">
            {t("import.fileHint")}
          </span>
        </div>
        <div class="check">
          <input
            id="import-upsert"
            type="checkbox"
            checked={upsert}
            onChange={(e) => setUpsert((e.currentTarget as HTMLInputElement).checked)}
          />
          <label for="import-upsert">{t("import.upsert")}</label>
        </div>
        <div class="check">
          <input
            id="import-skip"
            type="checkbox"
            checked={skipInvalid}
            onChange={(e) => setSkipInvalid((e.currentTarget as HTMLInputElement).checked)}
          />
          <label for="import-skip">{t("import.skipInvalid")}</label>
        </div>
        <button type="submit" disabled={busy}>
          {t("import.submit")}
        </button>
      </form>
      <Progress state={state} />
      <Outcome state={state} />
    </Screen>
  );
}

function Progress(props: { state: State }) {
  const { state } = props;
  if (state.step !== "reading" && state.step !== "sending" && state.step !== "checking") return null;
  const percent =
    state.step === "sending"
      ? Math.round((100 * state.sent) / Math.max(state.total, 1))
      : state.step === "checking"
        ? 100
        : 0;
  const label =
    state.step === "reading"
      ? t("import.reading")
      : state.step === "sending"
        ? t("import.sending", { count: state.rows, percent })
        : t("import.checking", { count: state.rows });
  return (
    <div class="import-progress" role="status" aria-live="polite">
      <label for="import-bar">{label}</label>
      <progress id="import-bar" max={100} value={state.step === "reading" ? undefined : percent} />
    </div>
  );
}

function Outcome(props: { state: State }) {
  const { state } = props;
  if (state.step === "failed") {
    return (
      <p class="error" role="alert">
        {state.message}
      </p>
    );
  }
  if (state.step === "done") {
    return (
      <div class="notice ok" role="status">
        <p>{t("import.done", { added: formatNumber(state.added), updated: formatNumber(state.updated) })}</p>
        {state.skipped > 0 ? <p>{t("import.skipped", { count: state.skipped })}</p> : null}
        {state.errors.length > 0 ? (
          <RowErrors errors={state.errors} caption={t("import.skippedCaption", { count: state.errors.length })} />
        ) : null}
        <p>
          <button type="button" class="secondary" onClick={() => navigate("/roster")}>
            {t("import.toRoster")}
          </button>
        </p>
      </div>
    );
  }
  if (state.step === "refused") {
    const bad = new Set(state.errors.map((e) => e.line)).size;
    return (
      <div class="import-refused">
        <p class="error" role="alert">
          {t("import.refused", { count: bad })}
        </p>
        <RowErrors errors={state.errors} caption={t("import.errorsCaption", { count: state.errors.length })} />
        {state.more > 0 ? <p>{t("import.more", { count: state.more })}</p> : null}
      </div>
    );
  }
  return null;
}

function RowErrors(props: { errors: readonly FileRowError[]; caption: string }) {
  return (
    <div class="table-wrap">
      <table class="cards">
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">{t("import.col.line")}</th>
            <th scope="col">{t("import.col.field")}</th>
            <th scope="col">{t("import.col.problem")}</th>
          </tr>
        </thead>
        <tbody>
          {props.errors.map((e, i) => (
            <tr key={i}>
              <td data-label={t("import.col.line")}>{formatNumber(e.line)}</td>
              <td data-label={t("import.col.field")}>{e.field ? <code>{e.field}</code> : "—"}</td>
              <td data-label={t("import.col.problem")}>{e.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
