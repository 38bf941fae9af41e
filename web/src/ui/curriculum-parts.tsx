/**
 * Pieces of the Curriculum screen: a record's text in the reader's language, a field-by-field
 * change (before → after, as DiffCore and CoreImpact give it), and a labelled multi-line field
 * (the kit has single-line fields only) that shows the API's error for it like Field does.
 */
import { useId } from "preact/hooks";
import type { FieldChange } from "../../generated/concordat/v1/core_pb.js";
import { currentLanguage, t } from "../i18n.js";

/** A language map's text in the reader's language, else in the record's own language, else any. */
export function textIn(map: Record<string, string> | undefined, own?: string): string {
  if (!map) return "";
  const lang = currentLanguage();
  return map[lang] ?? map[lang.split("-")[0] ?? lang] ?? (own ? map[own] : undefined) ?? Object.values(map)[0] ?? "";
}

/** A JSON value from a FieldChange as a person reads it: a string as itself, anything else compact. */
export function shownValue(json: string): string {
  if (json === "") return t("curriculum.change.absent");
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === "string" ? value : JSON.stringify(value);
  } catch {
    return json;
  }
}

/** The fields that changed, each as "field: before → after" (before and after named for screen readers too). */
export function FieldChanges(props: { changes: readonly FieldChange[] }) {
  if (props.changes.length === 0) return <span class="muted">{t("curriculum.change.noFields")}</span>;
  return (
    <ul class="changes">
      {props.changes.map((c) => (
        <li key={c.field}>
          <code>{c.field}</code>{" "}
          <span class="before">
            <span class="label">{t("curriculum.change.before")}</span> <del>{shownValue(c.before)}</del>
          </span>{" "}
          <span class="after">
            <span class="label">{t("curriculum.change.after")}</span> <ins>{shownValue(c.after)}</ins>
          </span>
        </li>
      ))}
    </ul>
  );
}

/** A labelled textarea with its hint and the API's error, tied to it as Field ties them. */
export function TextArea(props: {
  label: string;
  value: string;
  onValue: (value: string) => void;
  error?: string | undefined;
  hint?: string;
  rows?: number;
}) {
  const id = useId();
  const described = [props.hint ? `${id}-hint` : "", props.error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div class={`field${props.error ? " invalid" : ""}`}>
      <label for={id}>{props.label}</label>
      <textarea
        id={id}
        rows={props.rows ?? 3}
        value={props.value}
        onInput={(e) => props.onValue((e.currentTarget as HTMLTextAreaElement).value)}
        aria-invalid={props.error ? "true" : undefined}
        aria-describedby={described || undefined}
      />
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
