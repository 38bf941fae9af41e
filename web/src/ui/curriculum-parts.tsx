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
