/**
 * The cells of a trainer file, shared by the CSV codec (cli/trainer-files/csv.ts) and the CLI's
 * `trainers add|update` flags: which column holds which field of the roster's trainer, the list
 * separators, how a cell reads into fields and how fields are written back into a cell, and the
 * checks that a written value reads back the same (docs/trainer-files.md, "CSV").
 */
// Types only: the codec also runs in the web console's page, which cannot load the generated
// module (it loads grpc-js). A trainer is made by newTrainer below, not ts-proto's Trainer.create.
import type {
  Accreditation,
  Language,
  TimeRange,
  Trainer,
  TrainerPrivate,
} from "../../node/api/generated/concordat/v1/trainers.js";
import type {
  Accreditation as RosterAccreditation,
  Language as RosterLanguage,
  TimeRange as RosterTimeRange,
  TrainerPrivate as RosterTrainerPrivate,
  TrainerPublic as RosterTrainerPublic,
} from "../../node/roster/index.js";

/** A trainer with every field the API's message has, the unset ones empty (as ts-proto's `Trainer.create`). */
export function newTrainer(fields: Partial<Trainer>): Trainer {
  return {
    id: "",
    displayName: "",
    homeHub: "",
    languages: [],
    regions: [],
    accreditations: [],
    availability: [],
    blackouts: [],
    private: undefined,
    updatedAt: "",
    updatedBy: "",
    ...fields,
  };
}

export interface ParsedRow {
  /** 1-based line where the record starts (CSV: the header is line 1) */
  line: number;
  trainer: Trainer;
}

export interface FileRowError {
  /** 1-based line where the offending record starts (the header line for column problems) */
  line: number;
  /** CSV column name or JSON field path (`languages[1].level`); "" for a whole record or file */
  field: string;
  message: string;
}

/** Reports a problem of the record being read: its column or field, and why. */
export type Report = (field: string, message: string) => void;

/**
 * The CSV column of each public field of the roster's trainer (node/roster), or null for a field
 * the node sets that files do not carry. A field added to the trainer is a compile error here
 * until it is given a column (or null), so no codec can forget it.
 */
const PUBLIC_COLUMNS = {
  id: "id",
  displayName: "display_name",
  homeHub: "home_hub",
  languages: "languages",
  regions: "regions",
  accreditations: "accreditations",
  availability: "availability",
  blackouts: "blackouts",
  updatedAt: null,
  updatedBy: null,
  // Service history: written by `trainers deploy`, `lineage`, `release`, `accept`; files do not carry it.
  deployments: null,
  trainedBy: null,
  movedTo: null,
  movedFrom: null,
} as const satisfies Record<keyof RosterTrainerPublic, string | null>;

/** The CSV column of each private field of the roster's trainer (never replicated). */
const PRIVATE_COLUMNS = {
  email: "email",
  phone: "phone",
  nationalId: "national_id",
  notes: "notes",
} as const satisfies Record<keyof RosterTrainerPrivate, string>;

type PublicColumn = Exclude<(typeof PUBLIC_COLUMNS)[keyof typeof PUBLIC_COLUMNS], null>;
type PrivateColumn = (typeof PRIVATE_COLUMNS)[keyof typeof PRIVATE_COLUMNS];
export type CsvColumn = PublicColumn | PrivateColumn;

/** The trainer's public fields a file carries, in the order files write them (`updatedAt`/`updatedBy` are the node's). */
export const FILE_PUBLIC_FIELDS = (Object.keys(PUBLIC_COLUMNS) as Array<keyof typeof PUBLIC_COLUMNS>).filter(
  (
    field,
  ): field is Exclude<
    keyof RosterTrainerPublic,
    "updatedAt" | "updatedBy" | "deployments" | "trainedBy" | "movedTo" | "movedFrom"
  > => PUBLIC_COLUMNS[field] !== null,
);

/** The trainer's private fields, in file order. */
export const PRIVATE_FIELDS = Object.keys(PRIVATE_COLUMNS) as Array<keyof typeof PRIVATE_COLUMNS>;

export const PRIVATE_CSV_COLUMNS: readonly CsvColumn[] = PRIVATE_FIELDS.map((f) => PRIVATE_COLUMNS[f]);

/** CSV columns, in output order: the public fields', then the private ones'. */
export const CSV_COLUMNS: readonly CsvColumn[] = [
  ...FILE_PUBLIC_FIELDS.map((f) => PUBLIC_COLUMNS[f]),
  ...PRIVATE_CSV_COLUMNS,
];

export const REQUIRED_CSV_COLUMNS: readonly CsvColumn[] = [PUBLIC_COLUMNS.id, PUBLIC_COLUMNS.displayName];

/** The parts of an accreditation item, in cell order; every field of the roster's accreditation, once. */
export const ACCREDITATION_PARTS = Object.keys({
  scheme: true,
  competency: true,
  level: true,
  validFrom: true,
  validUntil: true,
  status: true,
} satisfies Record<keyof RosterAccreditation, true>) as Array<keyof RosterAccreditation>;

/** The fields of a language item and of a time range, as the roster's trainer has them. */
export const LANGUAGE_FIELDS = Object.keys({ tag: true, level: true } satisfies Record<
  keyof RosterLanguage,
  true
>) as Array<keyof RosterLanguage>;
export const RANGE_FIELDS = Object.keys({ start: true, end: true } satisfies Record<
  keyof RosterTimeRange,
  true
>) as Array<keyof RosterTimeRange>;

export const LIST_SEPARATOR = ";";
export const LANGUAGE_SEPARATOR = ":";
export const ACCREDITATION_SEPARATOR = "|";
export const INTERVAL_SEPARATOR = "/";

/** A value quoted for an error message, shortened when long. */
export function show(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
}

/** Trimmed private part, or undefined when it is absent or all its fields are empty. */
export function normalisePrivate(p: TrainerPrivate | undefined): TrainerPrivate | undefined {
  if (p === undefined) return undefined;
  const out: TrainerPrivate = {
    email: p.email.trim(),
    phone: p.phone.trim(),
    nationalId: p.nationalId.trim(),
    notes: p.notes.trim(),
  };
  return out.email || out.phone || out.nationalId || out.notes ? out : undefined;
}

// ---------------------------------------------------------------------------------------
// reading cells

/** Items of a list cell: split on `;`, trimmed, empty items dropped. */
function listItems(cell: string): string[] {
  return cell
    .split(LIST_SEPARATOR)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** A trainer from its cells (trimmed, by column); each problem is reported with its column. */
export function trainerFromCells(cells: Map<CsvColumn, string>, report: Report): Trainer {
  const get = (c: CsvColumn) => cells.get(c) ?? "";

  const languages: Language[] = [];
  listItems(get("languages")).forEach((item, idx) => {
    const parts = item.split(LANGUAGE_SEPARATOR).map((s) => s.trim());
    const [tag, level] = parts;
    if (parts.length !== 2 || !tag || !level) {
      report("languages", `item ${idx + 1} ${show(item)} is not "tag:LEVEL" (e.g. "en:C1")`);
      return;
    }
    languages.push({ tag, level });
  });

  const accreditations: Accreditation[] = [];
  listItems(get("accreditations")).forEach((item, idx) => {
    const parts = item.split(ACCREDITATION_SEPARATOR).map((s) => s.trim());
    const [scheme = "", competency = "", level = "", validFrom = "", validUntil = "", status = ""] = parts;
    if (parts.length !== ACCREDITATION_PARTS.length) {
      report(
        "accreditations",
        `item ${idx + 1} ${show(item)} has ${parts.length} "|"-separated parts, expected ${ACCREDITATION_PARTS.length}: ` +
          ACCREDITATION_PARTS.join("|"),
      );
      return;
    }
    const missing = [scheme ? undefined : "scheme", competency ? undefined : "competency"].filter(Boolean);
    if (missing.length > 0) {
      report("accreditations", `item ${idx + 1} ${show(item)} has an empty ${missing.join(" and ")}`);
      return;
    }
    accreditations.push({ scheme, competency, level, validFrom, validUntil, status });
  });

  const intervals = (column: "availability" | "blackouts"): TimeRange[] => {
    const out: TimeRange[] = [];
    listItems(get(column)).forEach((item, idx) => {
      const parts = item.split(INTERVAL_SEPARATOR).map((s) => s.trim());
      const [start, end] = parts;
      if (parts.length !== 2 || !start || !end) {
        report(
          column,
          `item ${idx + 1} ${show(item)} is not an interval "start/end" (e.g. "2026-01-05T00:00:00Z/2026-01-20T00:00:00Z")`,
        );
        return;
      }
      out.push({ start, end });
    });
    return out;
  };

  return newTrainer({
    id: get("id"),
    displayName: get("display_name"),
    homeHub: get("home_hub"),
    languages,
    regions: listItems(get("regions")),
    accreditations,
    availability: intervals("availability"),
    blackouts: intervals("blackouts"),
    private: normalisePrivate({
      email: get("email"),
      phone: get("phone"),
      nationalId: get("national_id"),
      notes: get("notes"),
    }),
  });
}

// ---------------------------------------------------------------------------------------
// writing cells

/**
 * A trainer's cells, by column, and the values that could not be written so that they read back
 * the same (an empty item, a separator inside a value) in `problems`.
 */
export function cellsOfTrainer(t: Trainer, problems: string[]): Record<CsvColumn, string> {
  const check = (field: string, value: string, separators: readonly string[]) => {
    if (value === "") problems.push(`trainer ${show(t.id)}: ${field} is empty`);
    for (const sep of separators) {
      if (value.includes(sep)) problems.push(`trainer ${show(t.id)}: ${field} ${show(value)} contains "${sep}"`);
    }
  };
  t.languages.forEach((l, i) => {
    check(`languages[${i}].tag`, l.tag, [LIST_SEPARATOR, LANGUAGE_SEPARATOR]);
    check(`languages[${i}].level`, l.level, [LIST_SEPARATOR, LANGUAGE_SEPARATOR]);
  });
  for (const [i, r] of t.regions.entries()) check(`regions[${i}]`, r, [LIST_SEPARATOR]);
  t.accreditations.forEach((a, i) => {
    for (const part of ACCREDITATION_PARTS) {
      const value = a[part];
      const field = `accreditations[${i}].${part}`;
      if (part === "scheme" || part === "competency") check(field, value, [LIST_SEPARATOR, ACCREDITATION_SEPARATOR]);
      else if (value !== "") check(field, value, [LIST_SEPARATOR, ACCREDITATION_SEPARATOR]);
    }
  });
  for (const key of ["availability", "blackouts"] as const) {
    t[key].forEach((r, i) => {
      check(`${key}[${i}].start`, r.start, [LIST_SEPARATOR, INTERVAL_SEPARATOR]);
      check(`${key}[${i}].end`, r.end, [LIST_SEPARATOR, INTERVAL_SEPARATOR]);
    });
  }
  const p = t.private;
  return {
    id: t.id,
    display_name: t.displayName,
    home_hub: t.homeHub,
    languages: t.languages.map((l) => `${l.tag}${LANGUAGE_SEPARATOR}${l.level}`).join(LIST_SEPARATOR),
    regions: t.regions.join(LIST_SEPARATOR),
    accreditations: t.accreditations
      .map((a) => ACCREDITATION_PARTS.map((part) => a[part]).join(ACCREDITATION_SEPARATOR))
      .join(LIST_SEPARATOR),
    availability: t.availability.map((r) => `${r.start}${INTERVAL_SEPARATOR}${r.end}`).join(LIST_SEPARATOR),
    blackouts: t.blackouts.map((r) => `${r.start}${INTERVAL_SEPARATOR}${r.end}`).join(LIST_SEPARATOR),
    email: p?.email ?? "",
    phone: p?.phone ?? "",
    national_id: p?.nationalId ?? "",
    notes: p?.notes ?? "",
  };
}
