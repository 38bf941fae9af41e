import { ImmutableString } from "@automerge/automerge";
import canonicalizeModule from "canonicalize";
import { z } from "zod";
import { didKeyOfPeerId, publicKeyOfDidKey, verifyEd25519 } from "../credentials/index.js";
import { decodeStored } from "../documents/index.js";
import type { FieldViolation } from "../errors.js";
import { readCsv } from "../csv.js";
import { Checker, checkLanguageTag, checkRegion, quote, TextKind } from "../text.js";

/**
 * Joint annual plans (docs/plans.md). Each hub keeps, in its replicated `annual-plans` document, a
 * draft per year (edited freely) and the versions it signed: each signed version is the plan's
 * canonical JSON signed with the hub's key (the key of its peer id, as the charter names it), so
 * that a version stays the hub's whoever relays it, and a plan written into the document any other
 * way — a draft, an edited version, a record marked signed without a signature — counts nowhere.
 */
export const PLANS_KEY = "annual-plans";
export const SUPPORT_KINDS = ["translation", "mentoring", "follow-up", "equipment", "other"] as const;
export type SupportKind = (typeof SUPPORT_KINDS)[number];
export const MIN_YEAR = 2000;
export const MAX_YEAR = 2100;
export const MAX_LINES = 2000;
export const MAX_COUNT = 10_000;
export const MAX_AMOUNT = 1_000_000_000_000;
export const PLAN_DOMAIN = "concordat/annual-plan/1";

const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

export interface PlannedDelivery {
  module: string;
  quarter: number;
  /** ISO 3166-1 alpha-2. */
  country: string;
  language: string;
  count: number;
  /** The competencies the module is aligned to in the hub's curriculum when the line was written. */
  competencies: string[];
}

export interface TrainersNeeded {
  competency: string;
  language: string;
  count: number;
}

export interface SupportNeed {
  kind: SupportKind;
  amount: number;
  /** ISO 4217. */
  currency: string;
  note: string;
}

export interface PlanLines {
  deliveries: PlannedDelivery[];
  trainers: TrainersNeeded[];
  support: SupportNeed[];
}

export interface PlanDraft extends PlanLines {
  year: number;
  /** The version this draft becomes when signed. */
  version: number;
  updatedAt: string;
  updatedBy: string;
}

export interface SignedPlanBody extends PlanLines {
  federationId: string;
  hub: string;
  year: number;
  version: number;
  signedAt: string;
  signedBy: string;
}

export interface SignedPlan {
  plan: SignedPlanBody;
  /** The peer id whose key signed. */
  signer: string;
  /** Ed25519 over `planBytes(plan)`, base64. */
  signature: string;
}

/** What validation checks modules and competencies against. */
export interface PlanContext {
  /** Module id → competencies it is aligned to, in the hub's effective curriculum. */
  modules: ReadonlyMap<string, readonly string[]>;
  /** Competency ids of the core (as released). */
  competencies: ReadonlySet<string>;
}

/** Lines as they arrive (JSON file, CSV file, API): any value in any field, checked here. */
export interface RawPlanLines {
  deliveries?: unknown;
  trainers?: unknown;
  support?: unknown;
}

// ---------------------------------------------------------------------------------------------
// validation

const str = (v: unknown): string => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");
const shown = (v: unknown): string => quote(typeof v === "string" ? v : (JSON.stringify(v) ?? String(v)));

export function checkYear(c: Checker, field: string, raw: unknown): number {
  const n = typeof raw === "number" ? raw : Number(str(raw).trim());
  if (str(raw).trim() === "" && typeof raw !== "number") c.fail(field, "is required");
  else if (!Number.isInteger(n) || n < MIN_YEAR || n > MAX_YEAR)
    c.fail(field, `${shown(raw)} is not a year (${MIN_YEAR} to ${MAX_YEAR})`);
  return n;
}

function checkCount(c: Checker, field: string, raw: unknown): number {
  const s = str(raw).trim();
  const n = typeof raw === "number" ? raw : Number(s);
  if (raw === undefined || raw === null || (typeof raw !== "number" && s === "")) c.fail(field, "is required");
  else if (!Number.isInteger(n) || n < 1 || n > MAX_COUNT)
    c.fail(field, `${shown(raw)} is not a count (a whole number from 1 to ${MAX_COUNT})`);
  return n;
}

function checkQuarter(c: Checker, field: string, raw: unknown): number {
  const s = str(raw).trim().toUpperCase().replace(/^Q/, "");
  const n = typeof raw === "number" ? raw : Number(s);
  if (raw === undefined || raw === null || str(raw).trim() === "") c.fail(field, "is required");
  else if (!Number.isInteger(n) || n < 1 || n > 4)
    c.fail(field, `${shown(raw)} is not a quarter (1 to 4, or Q1 to Q4)`);
  return n;
}

function checkCountry(c: Checker, field: string, raw: unknown): string {
  const s = str(raw).trim();
  if (s === "") {
    c.fail(field, "is required");
    return s;
  }
  const before = c.violations.length;
  const v = checkRegion(c, field, s);
  if (c.violations.length === before && v.length !== 2)
    c.fail(field, `${quote(s)} is a subdivision; plan per country (ISO 3166-1 alpha-2, e.g. KE)`);
  return v;
}

let currencies: Set<string> | undefined;
function checkCurrency(c: Checker, field: string, raw: unknown): string {
  const v = str(raw).trim().toUpperCase();
  currencies ??= new Set(Intl.supportedValuesOf("currency"));
  if (v === "") c.fail(field, "is required");
  else if (!/^[A-Z]{3}$/.test(v) || !currencies.has(v))
    c.fail(field, `${quote(str(raw).trim())} is not an ISO 4217 currency code (e.g. EUR, USD, KES)`);
  return v;
}

function checkAmount(c: Checker, field: string, raw: unknown): number {
  const s = str(raw).trim();
  const n = typeof raw === "number" ? raw : Number(s);
  if (raw === undefined || raw === null || (typeof raw !== "number" && s === "")) c.fail(field, "is required");
  else if (!Number.isFinite(n) || n <= 0 || n > MAX_AMOUNT || Math.round(n * 100) / 100 !== n)
    c.fail(field, `${shown(raw)} is not an amount (more than 0, at most 2 decimals)`);
  return n;
}

function entries(c: Checker, field: string, raw: unknown): Array<Record<string, unknown>> {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    c.fail(field, "is not a list");
    return [];
  }
  if (!c.list(field, raw, MAX_LINES)) return [];
  return raw.map((e, i) => {
    if (e === null || typeof e !== "object" || Array.isArray(e)) {
      c.fail(`${field}[${i}]`, "is not an object");
      return {};
    }
    return e as Record<string, unknown>;
  });
}

/** A key as a field path may name it: as it is when short and plain, else "(a key)". */
const keyName = (k: string) => (/^[A-Za-z0-9_-]{1,40}$/.test(k) ? k : "(a key)");

const KNOWN = {
  deliveries: ["module", "quarter", "country", "language", "count", "competencies"],
  trainers: ["competency", "language", "count"],
  support: ["kind", "amount", "currency", "note"],
} as const;

/**
 * Checks plan lines, naming every problem (`plan.deliveries[2].module: ...`): modules of the hub's
 * effective curriculum, core competencies, quarters 1-4, ISO countries and currencies, counts and
 * amounts, and no line repeated. A delivery line's competencies are taken from its module.
 */
export function validatePlanLines(
  raw: RawPlanLines,
  ctx: PlanContext,
  prefix = "plan",
  names: { deliveries?: (i: number) => string; trainers?: (i: number) => string; support?: (i: number) => string } = {},
): { value: PlanLines; violations: FieldViolation[] } {
  const c = new Checker();
  const at = (section: "deliveries" | "trainers" | "support", i: number) =>
    names[section]?.(i) ?? `${prefix}.${section}[${i}]`;
  const unknown = (section: keyof typeof KNOWN, e: Record<string, unknown>, i: number) => {
    for (const k of Object.keys(e))
      if (!(KNOWN[section] as readonly string[]).includes(k))
        c.fail(`${at(section, i)}.${keyName(k)}`, `is not a field of a ${section} line (${KNOWN[section].join(", ")})`);
  };
  const deliveries: PlannedDelivery[] = [];
  const seenDelivery = new Map<string, number>();
  entries(c, `${prefix}.deliveries`, raw.deliveries).forEach((e, i) => {
    const f = at("deliveries", i);
    unknown("deliveries", e, i);
    const module = str(e.module).trim();
    if (module === "") c.fail(`${f}.module`, "is required");
    else if (c.characters(`${f}.module`, module, TextKind.Line) && !ctx.modules.has(module))
      c.fail(`${f}.module`, `${quote(module)} is not a module of this hub's curriculum (core as adopted, or local)`);
    const quarter = checkQuarter(c, `${f}.quarter`, e.quarter);
    const country = checkCountry(c, `${f}.country`, e.country);
    const language = checkLanguageTag(c, `${f}.language`, str(e.language));
    const count = checkCount(c, `${f}.count`, e.count);
    const key = `${module}\n${quarter}\n${country}\n${language}`;
    const first = seenDelivery.get(key);
    if (first !== undefined)
      c.fail(f, `repeats ${at("deliveries", first)} (same module, quarter, country and language)`);
    else seenDelivery.set(key, i);
    deliveries.push({ module, quarter, country, language, count, competencies: [...(ctx.modules.get(module) ?? [])] });
  });
  const trainers: TrainersNeeded[] = [];
  const seenTrainers = new Map<string, number>();
  entries(c, `${prefix}.trainers`, raw.trainers).forEach((e, i) => {
    const f = at("trainers", i);
    unknown("trainers", e, i);
    const competency = str(e.competency).trim();
    if (competency === "") c.fail(`${f}.competency`, "is required");
    else if (c.characters(`${f}.competency`, competency, TextKind.Line) && !ctx.competencies.has(competency))
      c.fail(`${f}.competency`, `${quote(competency)} is not a competency of the core`);
    const language = checkLanguageTag(c, `${f}.language`, str(e.language));
    const count = checkCount(c, `${f}.count`, e.count);
    const key = `${competency}\n${language}`;
    const first = seenTrainers.get(key);
    if (first !== undefined) c.fail(f, `repeats ${at("trainers", first)} (same competency and language)`);
    else seenTrainers.set(key, i);
    trainers.push({ competency, language, count });
  });
  const support: SupportNeed[] = [];
  entries(c, `${prefix}.support`, raw.support).forEach((e, i) => {
    const f = at("support", i);
    unknown("support", e, i);
    const kind = str(e.kind).trim().toLowerCase();
    if (kind === "") c.fail(`${f}.kind`, "is required");
    else if (!(SUPPORT_KINDS as readonly string[]).includes(kind))
      c.fail(`${f}.kind`, `${shown(e.kind)} is not one of ${SUPPORT_KINDS.join(", ")}`);
    const amount = checkAmount(c, `${f}.amount`, e.amount);
    const currency = checkCurrency(c, `${f}.currency`, e.currency);
    const note = c.text(`${f}.note`, str(e.note), { max: 2000 });
    support.push({ kind: kind as SupportKind, amount, currency, note });
  });
  return { value: { deliveries, trainers, support }, violations: c.violations };
}

/** The problems of a whole plan file's top level (fields besides the three lists). */
export function planFileShape(value: unknown, field = "plan"): { lines: RawPlanLines; violations: FieldViolation[] } {
  const c = new Checker();
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    c.fail(field, "is not a JSON object with deliveries, trainers and support");
    return { lines: {}, violations: c.violations };
  }
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!["deliveries", "trainers", "support", "year"].includes(k))
      c.fail(`${field}.${keyName(k)}`, "is not a part of a plan (deliveries, trainers, support)");
  return { lines: { deliveries: o.deliveries, trainers: o.trainers, support: o.support }, violations: c.violations };
}

export const CSV_COLUMNS = [
  "section",
  "module",
  "quarter",
  "country",
  "language",
  "competency",
  "count",
  "kind",
  "amount",
  "currency",
  "note",
] as const;

const CSV_SECTIONS: Record<string, { section: keyof typeof KNOWN; columns: readonly string[] }> = {
  delivery: { section: "deliveries", columns: ["module", "quarter", "country", "language", "count"] },
  trainers: { section: "trainers", columns: ["competency", "language", "count"] },
  support: { section: "support", columns: ["kind", "amount", "currency", "note"] },
};

/**
 * A plan from CSV: a header naming its columns (any of CSV_COLUMNS, `section` required), then one
 * line per row, `section` delivery | trainers | support. Problems name the file's line
 * (`csv line 4.module`), so that they can be fixed in the file.
 */
export function planFromCsv(text: string): {
  lines: RawPlanLines;
  names: { deliveries: (i: number) => string; trainers: (i: number) => string; support: (i: number) => string };
  violations: FieldViolation[];
} {
  const c = new Checker();
  const { records, errors } = readCsv(text);
  for (const e of errors) c.fail(`csv line ${e.line}`, e.message);
  const [header, ...rows] = records;
  const lines: Required<{ [K in keyof RawPlanLines]: Array<Record<string, unknown>> }> = {
    deliveries: [],
    trainers: [],
    support: [],
  };
  const where: Record<keyof typeof KNOWN, number[]> = { deliveries: [], trainers: [], support: [] };
  const names = {
    deliveries: (i: number) => `csv line ${where.deliveries[i] ?? "?"}`,
    trainers: (i: number) => `csv line ${where.trainers[i] ?? "?"}`,
    support: (i: number) => `csv line ${where.support[i] ?? "?"}`,
  };
  if (!header) {
    c.fail("csv", `is empty: a header line (${CSV_COLUMNS.join(",")}) and one line per plan line are expected`);
    return { lines, names, violations: c.violations };
  }
  const columns = header.cells.map((h) => h.trim().toLowerCase());
  columns.forEach((h, i) => {
    if (!(CSV_COLUMNS as readonly string[]).includes(h))
      c.fail(`csv line ${header.line}`, `column ${i + 1} ${quote(h)} is not one of ${CSV_COLUMNS.join(", ")}`);
  });
  if (!columns.includes("section")) c.fail(`csv line ${header.line}`, "has no section column");
  for (const row of rows) {
    const cell = (name: string) => {
      const i = columns.indexOf(name);
      return i < 0 ? "" : (row.cells[i] ?? "");
    };
    const sectionName = cell("section").trim().toLowerCase();
    const section = CSV_SECTIONS[sectionName];
    if (!section) {
      c.fail(
        `csv line ${row.line}.section`,
        `${quote(cell("section").trim())} is not one of ${Object.keys(CSV_SECTIONS).join(", ")}`,
      );
      continue;
    }
    const entry: Record<string, unknown> = {};
    for (const col of section.columns) entry[col] = cell(col);
    for (const col of columns)
      if (col !== "section" && !section.columns.includes(col) && cell(col).trim() !== "")
        c.fail(`csv line ${row.line}.${col}`, `is not used by a ${sectionName} line; leave it empty`);
    where[section.section].push(row.line);
    lines[section.section].push(entry);
  }
  return { lines, names, violations: c.violations };
}

// ---------------------------------------------------------------------------------------------
// signing

/** The bytes a hub signs: a domain line, then the plan as canonical JSON (RFC 8785). */
export function planBytes(p: SignedPlanBody): Uint8Array {
  const body = canonicalize({
    federationId: p.federationId,
    hub: p.hub,
    year: p.year,
    version: p.version,
    signedAt: p.signedAt,
    signedBy: p.signedBy,
    deliveries: p.deliveries,
    trainers: p.trainers,
    support: p.support,
  });
  return new TextEncoder().encode(`${PLAN_DOMAIN}\n${body ?? ""}`);
}

/** The member's keys, as the charter gives them (every key it has had, with when it stopped). */
export interface PlanSigner {
  hub: string;
  keys: ReadonlyArray<{ peerId: string; from?: string; until?: string }>;
  removedAt?: string;
}

/** Why a signed plan is not `member`'s; undefined when it is. */
export async function signedPlanProblem(
  signed: SignedPlan,
  expect: { federationId: string; member: PlanSigner; key?: string },
): Promise<string | undefined> {
  const p = signed.plan;
  if (p.federationId !== expect.federationId) return `it is signed for federation ${quote(p.federationId)}`;
  if (p.hub !== expect.member.hub) return `it names hub ${quote(p.hub)}, not ${quote(expect.member.hub)}`;
  if (expect.key !== undefined && expect.key !== planKey(p.year, p.version))
    return `it is stored as ${quote(expect.key)} but is version ${p.version} of ${p.year}`;
  const key = expect.member.keys.find((k) => k.peerId === signed.signer);
  if (!key) return `it is signed by ${quote(signed.signer, 100)}, not by a key of ${quote(expect.member.hub)}`;
  if (key.until !== undefined && p.signedAt > key.until)
    return `it is signed by a key ${quote(expect.member.hub)} replaced at ${key.until}`;
  if (expect.member.removedAt !== undefined && p.signedAt > expect.member.removedAt)
    return `it is dated after ${quote(expect.member.hub)} was removed`;
  const { raw } = publicKeyOfDidKey(didKeyOfPeerId(signed.signer));
  const signature = Buffer.from(signed.signature, "base64");
  if (!raw || signature.length !== 64 || !(await verifyEd25519(raw, planBytes(p), signature)))
    return "the signature does not verify (the plan was changed after it was signed, or never signed)";
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// stored forms

export const planKey = (year: number, version: number) => `${year}/${version}`;
const stored = (value: unknown) => new ImmutableString(JSON.stringify(value));

const count = z.number().int().min(1).max(MAX_COUNT);
const linesSchema = {
  deliveries: z
    .array(
      z.object({
        module: z.string().min(1),
        quarter: z.number().int().min(1).max(4),
        country: z.string().regex(/^[A-Z]{2}$/),
        language: z.string().min(1),
        count,
        competencies: z.array(z.string()),
      }),
    )
    .max(MAX_LINES),
  trainers: z.array(z.object({ competency: z.string().min(1), language: z.string().min(1), count })).max(MAX_LINES),
  support: z
    .array(
      z.object({
        kind: z.enum(SUPPORT_KINDS),
        amount: z.number().positive().max(MAX_AMOUNT),
        currency: z.string().regex(/^[A-Z]{3}$/),
        note: z.string().max(2000),
      }),
    )
    .max(MAX_LINES),
};
const year = z.number().int().min(MIN_YEAR).max(MAX_YEAR);
const draftSchema = z.object({
  year,
  version: z.number().int().min(1),
  updatedAt: z.string(),
  updatedBy: z.string(),
  ...linesSchema,
});
const signedSchema = z.object({
  plan: z.object({
    federationId: z.string(),
    hub: z.string(),
    year,
    version: z.number().int().min(1),
    signedAt: z.string(),
    signedBy: z.string(),
    ...linesSchema,
  }),
  signer: z.string(),
  signature: z.string(),
});

export const encodeDraft = (d: PlanDraft) => stored(d);
export const encodeSigned = (s: SignedPlan) => stored(s);

/** The annual-plans document: drafts by year, signed versions by `year/version`. */
export interface PlansDoc {
  drafts?: Record<string, unknown>;
  signed?: Record<string, unknown>;
}

export function draftIn(doc: PlansDoc | undefined, y: number): PlanDraft | undefined {
  return decodeStored(draftSchema, doc?.drafts?.[String(y)]);
}

export function draftsIn(doc: PlansDoc | undefined): PlanDraft[] {
  return Object.values(doc?.drafts ?? {}).flatMap((v) => {
    const d = decodeStored(draftSchema, v);
    return d ? [d] : [];
  });
}

/** Every record in `signed`, decoded or not, with its key (checking is the caller's). */
export function signedEntriesIn(doc: PlansDoc | undefined): Array<{ key: string; signed: SignedPlan | undefined }> {
  return Object.entries(doc?.signed ?? {}).map(([key, v]) => ({ key, signed: decodeStored(signedSchema, v) }));
}

/** A signed plan that does not count, and why. */
export interface RejectedPlan {
  hub: string;
  key: string;
  problem: string;
}

/**
 * A member's signed versions that verify, and those that do not. Only these count: a draft, or
 * anything written beside them, never does.
 */
export async function verifiedPlansIn(
  doc: PlansDoc | undefined,
  federationId: string,
  member: PlanSigner,
): Promise<{ plans: SignedPlan[]; rejected: RejectedPlan[] }> {
  const plans: SignedPlan[] = [];
  const rejected: RejectedPlan[] = [];
  for (const { key, signed } of signedEntriesIn(doc)) {
    const problem = signed
      ? await signedPlanProblem(signed, { federationId, member, key })
      : "it is not a signed plan (it does not decode)";
    if (problem) rejected.push({ hub: member.hub, key, problem });
    else if (signed) plans.push(signed);
  }
  plans.sort((a, b) => a.plan.year - b.plan.year || a.plan.version - b.plan.version);
  return { plans, rejected: rejected.sort((a, b) => (a.key < b.key ? -1 : 1)) };
}

/** The latest signed version of `year` among verified ones. */
export function latestFor(plans: readonly SignedPlan[], y: number): SignedPlan | undefined {
  return plans.filter((p) => p.plan.year === y).sort((a, b) => b.plan.version - a.plan.version)[0];
}

// ---------------------------------------------------------------------------------------------
// the federation's plan, and plan beside actual (pure: nodes and reports compute the same)

export interface Overlap {
  module: string;
  country: string;
  hubs: Array<{ hub: string; quarters: number[]; count: number }>;
}

export interface FederationPlan {
  year: number;
  plans: Array<{ hub: string; version: number; signedAt: string; signedBy: string; deliveries: number }>;
  /** Members with no signed plan for the year. */
  missing: string[];
  overlaps: Overlap[];
  /** Core competencies no plan covers: no planned module is aligned to it, no trainers are planned for it. */
  gaps: Array<{ competency: string; code: string }>;
  support: Array<{ kind: SupportKind; currency: string; amount: number; hubs: string[] }>;
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function federationPlanOf(
  y: number,
  plans: readonly SignedPlanBody[],
  members: readonly string[],
  competencies: ReadonlyArray<{ id: string; code: string }>,
): FederationPlan {
  const mine = plans.filter((p) => p.year === y).sort((a, b) => byText(a.hub, b.hub));
  const where = new Map<string, Overlap>();
  for (const p of mine)
    for (const d of p.deliveries) {
      const key = `${d.module}\n${d.country}`;
      const o = where.get(key) ?? { module: d.module, country: d.country, hubs: [] };
      let h = o.hubs.find((x) => x.hub === p.hub);
      if (!h) {
        h = { hub: p.hub, quarters: [], count: 0 };
        o.hubs.push(h);
      }
      if (!h.quarters.includes(d.quarter)) h.quarters.push(d.quarter);
      h.quarters.sort();
      h.count += d.count;
      where.set(key, o);
    }
  const covered = new Set(
    mine.flatMap((p) => [...p.deliveries.flatMap((d) => d.competencies), ...p.trainers.map((t) => t.competency)]),
  );
  const support = new Map<string, FederationPlan["support"][number]>();
  for (const p of mine)
    for (const s of p.support) {
      const key = `${s.kind}\n${s.currency}`;
      const t = support.get(key) ?? { kind: s.kind, currency: s.currency, amount: 0, hubs: [] };
      t.amount = Math.round((t.amount + s.amount) * 100) / 100;
      if (!t.hubs.includes(p.hub)) t.hubs.push(p.hub);
      support.set(key, t);
    }
  const planned = new Set(mine.map((p) => p.hub));
  return {
    year: y,
    plans: mine.map((p) => ({
      hub: p.hub,
      version: p.version,
      signedAt: p.signedAt,
      signedBy: p.signedBy,
      deliveries: p.deliveries.reduce((s, d) => s + d.count, 0),
    })),
    missing: members.filter((m) => !planned.has(m)).sort(byText),
    overlaps: [...where.values()]
      .filter((o) => o.hubs.length > 1)
      .sort((a, b) => byText(a.module, b.module) || byText(a.country, b.country)),
    gaps: competencies
      .filter((c) => !covered.has(c.id))
      .map((c) => ({ competency: c.id, code: c.code }))
      .sort((a, b) => byText(a.code, b.code)),
    support: [...support.values()].sort((a, b) => byText(a.kind, b.kind) || byText(a.currency, b.currency)),
  };
}

export interface PlanActualRow {
  hub: string;
  year: number;
  quarter: number;
  module: string;
  /** Planned deliveries (all countries and languages), 0 when the plan has none of it. */
  planned: number;
  /** Deliveries recorded that start in the quarter. */
  actual: number;
  /** actual - planned. */
  difference: number;
  /** The signed plan version the planned figure comes from. */
  planVersion: number;
}

const quarterOf = (day: string) => Math.floor((Number(day.slice(5, 7)) - 1) / 3) + 1;
const quarterRange = (y: number, q: number) => {
  const from = `${y}-${String((q - 1) * 3 + 1).padStart(2, "0")}-01`;
  const endMonth = q * 3;
  const last = new Date(Date.UTC(y, endMonth, 0)).getUTCDate();
  return { from, to: `${y}-${String(endMonth).padStart(2, "0")}-${String(last).padStart(2, "0")}` };
};

/**
 * Plan beside actual, per hub, module and quarter, for every quarter that overlaps `period`, for each
 * hub with a signed plan for that quarter's year: the count its latest signed plan gives, and its
 * deliveries that start in the quarter (modules it delivered without planning them too).
 */
export function planVsActualOf(
  plans: readonly SignedPlanBody[],
  hubs: ReadonlyArray<{ hub: string; deliveries: ReadonlyArray<{ module: string; start: string }> }>,
  period: { from: string; to: string },
): PlanActualRow[] {
  const quarters: Array<{ year: number; quarter: number }> = [];
  const first = Number(period.from.slice(0, 4));
  const last = Number(period.to.slice(0, 4));
  for (let y = first; y <= last && Number.isInteger(y); y += 1)
    for (let q = 1; q <= 4; q += 1) {
      const r = quarterRange(y, q);
      if (r.from <= period.to && r.to >= period.from) quarters.push({ year: y, quarter: q });
    }
  const latest = new Map<string, SignedPlanBody>();
  for (const p of plans) {
    const key = `${p.hub}\n${p.year}`;
    const seen = latest.get(key);
    if (!seen || seen.version < p.version) latest.set(key, p);
  }
  const names = [...new Set([...hubs.map((h) => h.hub), ...plans.map((p) => p.hub)])].sort(byText);
  const rows: PlanActualRow[] = [];
  for (const hub of names) {
    const delivered = hubs.find((h) => h.hub === hub)?.deliveries ?? [];
    for (const { year: y, quarter } of quarters) {
      const plan = latest.get(`${hub}\n${y}`);
      if (!plan) continue;
      const planned = new Map<string, number>();
      for (const d of plan.deliveries)
        if (d.quarter === quarter) planned.set(d.module, (planned.get(d.module) ?? 0) + d.count);
      const actual = new Map<string, number>();
      for (const d of delivered)
        if (Number(d.start.slice(0, 4)) === y && quarterOf(d.start) === quarter)
          actual.set(d.module, (actual.get(d.module) ?? 0) + 1);
      for (const module of [...new Set([...planned.keys(), ...actual.keys()])].sort(byText)) {
        const p = planned.get(module) ?? 0;
        const a = actual.get(module) ?? 0;
        rows.push({
          hub,
          year: y,
          quarter,
          module,
          planned: p,
          actual: a,
          difference: a - p,
          planVersion: plan.version,
        });
      }
    }
  }
  return rows;
}

/**
 * The plans a report counts, from signed documents (a node's latest checkpoints, or an audit
 * bundle): every member's signed versions whose signature verifies against the charter.
 */
export async function reportPlansOf(
  documents: ReadonlyArray<{ hub: string; type: string; doc: unknown }>,
  federationId: string,
  members: readonly PlanSigner[],
): Promise<SignedPlanBody[]> {
  const out: SignedPlanBody[] = [];
  for (const d of documents) {
    if (d.type !== PLANS_KEY) continue;
    const member = members.find((m) => m.hub === d.hub);
    if (!member) continue;
    out.push(...(await verifiedPlansIn(d.doc as PlansDoc, federationId, member)).plans.map((p) => p.plan));
  }
  return out;
}
