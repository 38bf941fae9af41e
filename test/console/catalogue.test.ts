import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The console's strings live in one catalogue per language (web/locales/<lang>/<file>.json, keys
 * prefixed by the file's name). A translator adds a language by copying web/locales/en: these checks
 * say what is missing, left over or broken in each, and which key the code uses that English lacks.
 */
const ROOT = new URL("../../", import.meta.url).pathname;
const LOCALES = join(ROOT, "web", "locales");
const SOURCE = join(ROOT, "web", "src");

type Entry = string | Record<string, string>;

function catalogue(lang: string): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  for (const file of readdirSync(join(LOCALES, lang)).filter((f) => f.endsWith(".json"))) {
    const prefix = file.slice(0, -".json".length);
    const parsed = JSON.parse(readFileSync(join(LOCALES, lang, file), "utf8")) as Record<string, Entry>;
    for (const [key, value] of Object.entries(parsed)) entries.set(`${prefix}.${key}`, value);
  }
  return entries;
}

const languages = readdirSync(LOCALES).filter((d) => statSync(join(LOCALES, d)).isDirectory());
const english = catalogue("en");

function placeholders(entry: Entry): string[] {
  const texts = typeof entry === "string" ? [entry] : Object.values(entry);
  return [...new Set(texts.flatMap((text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string)))].sort();
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.(ts|tsx)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

describe("the console's catalogues", () => {
  it("has English, French and Arabic", () => {
    expect(languages).toEqual(expect.arrayContaining(["en", "fr", "ar"]));
  });

  for (const lang of languages.filter((l) => l !== "en")) {
    it(`${lang} has every English key and no other, with the same placeholders`, () => {
      const other = catalogue(lang);
      const missing = [...english.keys()].filter((k) => !other.has(k));
      const extra = [...other.keys()].filter((k) => !english.has(k));
      const mismatched = [...english.entries()]
        .filter(([k, v]) => other.has(k) && placeholders(other.get(k) as Entry).join() !== placeholders(v).join())
        .map(([k]) => k);
      expect({ missing, extra, mismatched }).toEqual({ missing: [], extra: [], mismatched: [] });
    });

    it(`${lang} is translated, not copied (at most a tenth of its strings equal English)`, () => {
      const other = catalogue(lang);
      const same = [...english.entries()].filter(
        ([k, v]) => typeof v === "string" && other.get(k) === v && /[A-Za-z]{4,}/.test(v),
      );
      expect(same.length).toBeLessThanOrEqual(Math.ceil(english.size / 10));
    });
  }

  it("every plural entry has an 'other' form and only CLDR categories", () => {
    const categories = new Set(["zero", "one", "two", "few", "many", "other"]);
    for (const lang of languages) {
      for (const [key, value] of catalogue(lang)) {
        if (typeof value === "string") continue;
        expect(
          Object.keys(value).every((c) => categories.has(c)),
          `${lang} ${key}`,
        ).toBe(true);
        expect(value.other, `${lang} ${key} has no 'other' form`).toBeTypeOf("string");
      }
    }
  });

  it("every key the page's code names is in the English catalogue", () => {
    const unknown: string[] = [];
    for (const file of sourceFiles(SOURCE)) {
      const text = readFileSync(file, "utf8");
      for (const match of text.matchAll(/\bt\(\s*"([a-zA-Z0-9_.-]+)"/g)) {
        const key = match[1] as string;
        if (!english.has(key)) unknown.push(`${relative(ROOT, file)}: ${key}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it("the page's code holds no visible English outside the catalogue (JSX text)", () => {
    const found: string[] = [];
    for (const file of sourceFiles(SOURCE).filter((f) => f.endsWith(".tsx"))) {
      const text = readFileSync(file, "utf8");
      // Text between a closing '>' and the next '<' that holds a word: a string the catalogue should hold.
      for (const match of text.matchAll(/(?<!=)>\s*([A-Za-z][A-Za-z ,.'!?-]{2,})\s*</g)) {
        found.push(`${relative(ROOT, file)}: ${(match[1] as string).trim()}`);
      }
    }
    expect(found).toEqual([]);
  });
});
