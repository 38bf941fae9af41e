/**
 * The trainer form's parts: its state (strings, as typed, so nothing typed is lost when the API
 * refuses it), the trainer message made from it and the update mask of what changed (the same field
 * names as `concordat trainers update`), and the editors of its lists. Every input is labelled and
 * shows the API's error for its path ("trainer.languages[0].tag") under it (ui/kit.tsx Field).
 */
import type { ComponentChildren } from "preact";
import type { Trainer } from "../../generated/concordat/v1/trainers_pb.js";
import { t } from "../i18n.js";
import { cellRange } from "../../../cli/day-ranges.js";
import { Field, Select } from "./kit.js";

export const CEFR_LEVELS = ["A1", "A2", "B1", "B2", "C1", "C2"] as const;
export const ACCREDITATION_STATUSES = ["active", "suspended", "revoked"] as const;

export interface LanguageRow {
  tag: string;
  level: string;
}
export interface AccreditationRow {
  scheme: string;
  competency: string;
  level: string;
  validFrom: string;
  validUntil: string;
  status: string;
}
export interface RangeRow {
  start: string;
  end: string;
}

export interface TrainerForm {
  id: string;
  displayName: string;
  languages: LanguageRow[];
  /** ISO 3166 codes separated by commas or spaces, as typed. */
  regions: string;
  accreditations: AccreditationRow[];
  availability: RangeRow[];
  blackouts: RangeRow[];
  email: string;
  phone: string;
  nationalId: string;
  notes: string;
}

export function emptyForm(): TrainerForm {
  return {
    id: "",
    displayName: "",
    languages: [{ tag: "", level: "B2" }],
    regions: "",
    accreditations: [],
    availability: [],
    blackouts: [],
    email: "",
    phone: "",
    nationalId: "",
    notes: "",
  };
}

const DAY_MS = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** A stored half-open range as people read it: plain dates include the last day (as in trainer files). */
export function dayRange(range: { start: string; end: string }): RangeRow {
  if (DATE_ONLY.test(range.start) && DATE_ONLY.test(range.end) && range.end > range.start) {
    const before = new Date(Date.parse(`${range.end}T00:00:00Z`) - DAY_MS).toISOString().slice(0, 10);
    return { start: range.start, end: before };
  }
  return { start: range.start, end: range.end };
}

export function formFromTrainer(trainer: Trainer): TrainerForm {
  return {
    id: trainer.id,
    displayName: trainer.displayName,
    languages: trainer.languages.map((l) => ({ tag: l.tag, level: l.level })),
    regions: trainer.regions.join(", "),
    accreditations: trainer.accreditations.map((a) => ({
      scheme: a.scheme,
      competency: a.competency,
      level: a.level,
      validFrom: a.validFrom,
      validUntil: a.validUntil,
      status: a.status,
    })),
    availability: trainer.availability.map(dayRange),
    blackouts: trainer.blackouts.map(dayRange),
    email: trainer.private?.email ?? "",
    phone: trainer.private?.phone ?? "",
    nationalId: trainer.private?.nationalId ?? "",
    notes: trainer.private?.notes ?? "",
  };
}

function regionList(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function ranges(rows: readonly RangeRow[]) {
  return rows
    .filter((r) => r.start.trim() !== "" || r.end.trim() !== "")
    .map((r) => cellRange({ start: r.start.trim(), end: r.end.trim() }));
}

/** The trainer message of the form (the API trims and checks every value). */
export function trainerOfForm(form: TrainerForm, withPrivate: boolean) {
  return {
    id: form.id.trim(),
    displayName: form.displayName,
    languages: form.languages
      .filter((l) => l.tag.trim() !== "" || l.level.trim() !== "")
      .map((l) => ({ tag: l.tag.trim(), level: l.level.trim() })),
    regions: regionList(form.regions),
    accreditations: form.accreditations.map((a) => ({ ...a })),
    availability: ranges(form.availability),
    blackouts: ranges(form.blackouts),
    ...(withPrivate
      ? { private: { email: form.email, phone: form.phone, nationalId: form.nationalId, notes: form.notes } }
      : {}),
  };
}

/** The update mask of what the form changed from `before` (the field names UpdateTrainer takes). */
export function changedFields(form: TrainerForm, before: TrainerForm, withPrivate: boolean): string[] {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const now = trainerOfForm(form, withPrivate);
  const was = trainerOfForm(before, withPrivate);
  const mask: string[] = [];
  if (now.displayName !== was.displayName) mask.push("display_name");
  for (const field of ["languages", "regions", "accreditations", "availability", "blackouts"] as const) {
    if (!same(now[field], was[field])) mask.push(field);
  }
  if (withPrivate) {
    if (form.email !== before.email) mask.push("private.email");
    if (form.phone !== before.phone) mask.push("private.phone");
    if (form.nationalId !== before.nationalId) mask.push("private.national_id");
    if (form.notes !== before.notes) mask.push("private.notes");
  }
  return mask;
}

/** The API's errors by path; `at(path)` is the one for that field ("trainer." prefixed). */
export type Errors = ReadonlyMap<string, string>;

export function errorAt(errors: Errors, path: string): string | undefined {
  return errors.get(`trainer.${path}`);
}

/** Errors whose path starts with `prefix` (the regions field shows those of every region). */
export function errorsUnder(errors: Errors, prefix: string): string | undefined {
  const found = [...errors.entries()].filter(([k]) => k.startsWith(`trainer.${prefix}`)).map(([, v]) => v);
  return found.length > 0 ? found.join("; ") : undefined;
}

/** A list of rows in a fieldset, each with its own remove button, and a button to add one. */
function ListEditor<T>(props: {
  legend: string;
  rows: readonly T[];
  onRows: (rows: T[]) => void;
  blank: () => T;
  addLabel: string;
  removeLabel: (n: number) => string;
  error?: string | undefined;
  row: (row: T, index: number, set: (next: T) => void) => ComponentChildren;
}) {
  const { rows, onRows } = props;
  return (
    <fieldset class="list-editor">
      <legend>{props.legend}</legend>
      {props.error ? <p class="field-error">{props.error}</p> : null}
      {rows.length === 0 ? <p class="muted">{t("common.none")}</p> : null}
      {rows.map((row, index) => (
        <div class="row list-row" key={index}>
          {props.row(row, index, (next) => onRows(rows.map((r, i) => (i === index ? next : r))))}
          <button type="button" class="secondary" onClick={() => onRows(rows.filter((_, i) => i !== index))}>
            {props.removeLabel(index + 1)}
          </button>
        </div>
      ))}
      <button type="button" class="secondary" onClick={() => onRows([...rows, props.blank()])}>
        {props.addLabel}
      </button>
    </fieldset>
  );
}

export function LanguagesEditor(props: { rows: LanguageRow[]; onRows: (rows: LanguageRow[]) => void; errors: Errors }) {
  return (
    <ListEditor
      legend={t("trainer.languages")}
      rows={props.rows}
      onRows={props.onRows}
      blank={() => ({ tag: "", level: "B2" })}
      addLabel={t("trainer.addLanguage")}
      removeLabel={(n) => t("trainer.removeLanguage", { n })}
      error={errorAt(props.errors, "languages")}
      row={(row, i, set) => (
        <>
          <Field
            label={t("trainer.languageTag", { n: i + 1 })}
            hint={t("trainer.languageTagHint")}
            value={row.tag}
            onValue={(tag) => set({ ...row, tag })}
            error={errorAt(props.errors, `languages[${i}].tag`) ?? errorAt(props.errors, `languages[${i}]`)}
            autocomplete="off"
          />
          <Select
            label={t("trainer.languageLevel", { n: i + 1 })}
            value={row.level}
            onValue={(level) => set({ ...row, level })}
            options={[
              ...(CEFR_LEVELS.includes(row.level as (typeof CEFR_LEVELS)[number])
                ? []
                : [{ value: row.level, label: row.level || "—" }]),
              ...CEFR_LEVELS.map((l) => ({ value: l, label: l })),
            ]}
            error={errorAt(props.errors, `languages[${i}].level`)}
          />
        </>
      )}
    />
  );
}

export function AccreditationsEditor(props: {
  rows: AccreditationRow[];
  onRows: (rows: AccreditationRow[]) => void;
  errors: Errors;
}) {
  const at = (i: number, field: string) => errorAt(props.errors, `accreditations[${i}].${field}`);
  return (
    <ListEditor
      legend={t("trainer.accreditations")}
      rows={props.rows}
      onRows={props.onRows}
      blank={() => ({ scheme: "", competency: "", level: "", validFrom: "", validUntil: "", status: "active" })}
      addLabel={t("trainer.addAccreditation")}
      removeLabel={(n) => t("trainer.removeAccreditation", { n })}
      error={errorAt(props.errors, "accreditations")}
      row={(row, i, set) => (
        <>
          <Field
            label={t("trainer.scheme", { n: i + 1 })}
            value={row.scheme}
            onValue={(scheme) => set({ ...row, scheme })}
            error={at(i, "scheme") ?? errorAt(props.errors, `accreditations[${i}]`)}
          />
          <Field
            label={t("trainer.competency", { n: i + 1 })}
            value={row.competency}
            onValue={(competency) => set({ ...row, competency })}
            error={at(i, "competency")}
          />
          <Field
            label={t("trainer.accreditationLevel", { n: i + 1 })}
            value={row.level}
            onValue={(level) => set({ ...row, level })}
            error={at(i, "level")}
          />
          <Field
            label={t("trainer.validFrom", { n: i + 1 })}
            hint={t("trainer.dateHint")}
            value={row.validFrom}
            onValue={(validFrom) => set({ ...row, validFrom })}
            error={at(i, "valid_from")}
          />
          <Field
            label={t("trainer.validUntil", { n: i + 1 })}
            hint={t("trainer.dateHint")}
            value={row.validUntil}
            onValue={(validUntil) => set({ ...row, validUntil })}
            error={at(i, "valid_until")}
          />
          <Select
            label={t("trainer.status", { n: i + 1 })}
            value={row.status}
            onValue={(status) => set({ ...row, status })}
            options={ACCREDITATION_STATUSES.map((s) => ({ value: s, label: t(`trainer.status.${s}`) }))}
            error={at(i, "status")}
          />
        </>
      )}
    />
  );
}

export function RangesEditor(props: {
  kind: "availability" | "blackouts";
  rows: RangeRow[];
  onRows: (rows: RangeRow[]) => void;
  errors: Errors;
}) {
  const { kind } = props;
  return (
    <ListEditor
      legend={t(`trainer.${kind}`)}
      rows={props.rows}
      onRows={props.onRows}
      blank={() => ({ start: "", end: "" })}
      addLabel={t(`trainer.add.${kind}`)}
      removeLabel={(n) => t(`trainer.remove.${kind}`, { n })}
      error={errorAt(props.errors, kind)}
      row={(row, i, set) => (
        <>
          <Field
            label={t("trainer.rangeStart", { n: i + 1 })}
            hint={t("trainer.dateHint")}
            value={row.start}
            onValue={(start) => set({ ...row, start })}
            error={errorAt(props.errors, `${kind}[${i}].start`) ?? errorAt(props.errors, `${kind}[${i}]`)}
          />
          <Field
            label={t("trainer.rangeEnd", { n: i + 1 })}
            hint={t("trainer.rangeEndHint")}
            value={row.end}
            onValue={(end) => set({ ...row, end })}
            error={errorAt(props.errors, `${kind}[${i}].end`)}
          />
        </>
      )}
    />
  );
}

/** A range for reading: "1 Mar 2026 – 7 Mar 2026" (plain dates, the last day included) or its instants. */
export function rangeText(
  range: { start: string; end: string },
  formatDay: (d: string) => string,
  formatTime: (d: string) => string,
): string {
  const r = dayRange(range);
  const show = (v: string) => (DATE_ONLY.test(v) ? formatDay(v) : formatTime(v));
  return t("trainer.range", { start: show(r.start), end: show(r.end) });
}
