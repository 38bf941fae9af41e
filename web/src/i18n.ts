/**
 * Every string the console shows comes from one catalogue per language: web/locales/<lang>/*.json,
 * one file per screen, merged by the build into /locales/<lang>.json (keys prefixed by the file's
 * name: `find.json`'s "title" is "find.title"). English is built into the page and is the fallback;
 * another language is fetched when chosen. A translator adds one by copying web/locales/en to a new
 * folder (docs/web-console.md, "Translating"); the build lists the folders it finds.
 *
 * A value is a string with `{name}` placeholders, or, for a count, an object by plural category
 * (zero, one, two, few, many, other — Arabic uses all six) chosen by Intl.PluralRules.
 */
import english from "concordat:locale/en";

type Plural = Partial<Record<Intl.LDMLPluralRule, string>>;
export type Catalogue = Readonly<Record<string, string | Plural>>;

const RTL = new Set(["ar", "fa", "he", "ur", "ps", "dv", "ku", "yi"]);

/** The languages the build found (the page's meta tag), English first. */
export function availableLanguages(): string[] {
  const meta = document.querySelector('meta[name="concordat-locales"]')?.getAttribute("content") ?? "en";
  const list = meta
    .split(",")
    .map((s) => s.trim())
    .filter((s) => /^[a-z]{2,3}(-[A-Za-z0-9]+)*$/.test(s));
  return list.length > 0 ? list : ["en"];
}

const CHOICE_KEY = "concordat.language";

/** The person's choice if they made one, else the first of the browser's languages the console has. */
export function preferredLanguage(): string {
  const available = availableLanguages();
  const chosen = localStorage.getItem(CHOICE_KEY);
  if (chosen && available.includes(chosen)) return chosen;
  for (const wanted of navigator.languages ?? [navigator.language]) {
    const exact = available.find((a) => a.toLowerCase() === wanted.toLowerCase());
    if (exact) return exact;
    const base = wanted.split("-")[0]?.toLowerCase();
    const byBase = available.find((a) => a.split("-")[0] === base);
    if (byBase) return byBase;
  }
  return "en";
}

let language = "en";
let catalogue: Catalogue = english as Catalogue;
let plurals = new Intl.PluralRules("en");
/** The locale dates and numbers are written in: the browser's own when it is of the chosen language (en-GB for en). */
let formats = "en";

function formatLocaleFor(lang: string): string {
  const base = lang.split("-")[0]?.toLowerCase();
  const own = (navigator.languages ?? [navigator.language]).find((l) => l.split("-")[0]?.toLowerCase() === base);
  return own ?? lang;
}
const listeners = new Set<() => void>();

export function currentLanguage(): string {
  return language;
}

export function isRightToLeft(lang = language): boolean {
  return RTL.has(lang.split("-")[0] ?? lang);
}

/** Loads and applies a language: the page's `lang` and `dir`, and every string from then on. */
export async function setLanguage(lang: string, remember = false): Promise<void> {
  let next: Catalogue = english as Catalogue;
  if (lang !== "en") {
    const response = await fetch(`/locales/${encodeURIComponent(lang)}.json`);
    if (!response.ok) throw new Error(`no catalogue for '${lang}' (${response.status})`);
    next = (await response.json()) as Catalogue;
  }
  language = lang;
  catalogue = next;
  plurals = new Intl.PluralRules(lang);
  formats = formatLocaleFor(lang);
  document.documentElement.lang = lang;
  document.documentElement.dir = isRightToLeft(lang) ? "rtl" : "ltr";
  if (remember) localStorage.setItem(CHOICE_KEY, lang);
  for (const listener of listeners) listener();
}

export function onLanguageChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function lookup(key: string): string | Plural | undefined {
  return catalogue[key] ?? (english as Catalogue)[key];
}

function fill(text: string, params: Readonly<Record<string, string | number>>): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === "number" ? formatNumber(value) : value;
  });
}

/**
 * The string for `key` in the current language, with its placeholders filled. A parameter named
 * `count` chooses the plural form. A key missing from every catalogue shows as itself (and
 * test/console/catalogue.test.ts fails naming it).
 */
export function t(key: string, params: Readonly<Record<string, string | number>> = {}): string {
  const entry = lookup(key);
  if (entry === undefined) return key;
  if (typeof entry === "string") return fill(entry, params);
  const count = typeof params.count === "number" ? params.count : 0;
  const form = entry[plurals.select(count)] ?? entry.other ?? Object.values(entry)[0] ?? key;
  return fill(form, params);
}

export function formatNumber(value: number, options?: Intl.NumberFormatOptions): string {
  return new Intl.NumberFormat(formats, options).format(value);
}

/** A calendar day ("2026-03-01") in the person's locale; the day itself, never shifted by time zone. */
export function formatDay(day: string): string {
  if (!/^\d{4}-\d{2}-\d{2}/.test(day)) return day;
  const date = new Date(`${day.slice(0, 10)}T12:00:00Z`);
  return new Intl.DateTimeFormat(formats, { dateStyle: "medium", timeZone: "UTC" }).format(date);
}

/** A moment (RFC 3339) in the person's locale and time zone. */
export function formatTime(at: string): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return at;
  return new Intl.DateTimeFormat(formats, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

/** "3 minutes ago", "in 2 days": an age in the person's language. */
export function formatAge(seconds: number): string {
  const format = new Intl.RelativeTimeFormat(formats, { numeric: "auto" });
  const abs = Math.abs(seconds);
  const sign = seconds >= 0 ? -1 : 1;
  if (abs < 60) return format.format(sign * Math.round(abs), "second");
  if (abs < 3600) return format.format(sign * Math.round(abs / 60), "minute");
  if (abs < 86_400) return format.format(sign * Math.round(abs / 3600), "hour");
  return format.format(sign * Math.round(abs / 86_400), "day");
}

/** A language tag's name in the person's language ("fr" → "French" / "français" / "الفرنسية"). */
export function languageName(tag: string): string {
  try {
    return new Intl.DisplayNames([language], { type: "language" }).of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/** A country code's name in the person's language. */
export function countryName(code: string): string {
  try {
    return new Intl.DisplayNames([language], { type: "region" }).of(code) ?? code;
  } catch {
    return code;
  }
}
