import MiniSearch from "minisearch";
import { competenciesNamed, withAncestors, type CompetencyTree } from "../core/index.js";
import { primaryLanguage, servesRegion } from "../query/index.js";
import type { CaseRecord } from "./model.js";

/** What a search filters on, besides its text. */
export interface CaseFilters {
  competency?: string;
  /** A country or subdivision (ISO 3166), or a region's name. */
  region?: string;
  language?: string;
  hub?: string;
  kind?: string;
  /** Only cases marked public. */
  publicOnly?: boolean;
}

/**
 * A search's filter over indexed cases (by `hub/id` key): hub, kind, public only, language by its
 * primary subtag, region as a country or subdivision or a region's name, and competency (by
 * identifier or code, or a code family such as `hr`) with every competency under it. Whether a case's competency lies under the one asked is worked out once per
 * competency per query, not once per case.
 */
export function caseFilter(
  indexed: ReadonlyMap<string, { hub: string; record: CaseRecord }>,
  query: CaseFilters,
  tree: CompetencyTree,
): (key: string) => boolean {
  const region = query.region?.trim();
  const asCountry =
    region !== undefined && /^[A-Za-z]{2}(-[A-Za-z0-9]{1,3})?$/.test(region) ? region.toUpperCase() : undefined;
  const wanted = query.competency;
  // The competency asked by identifier or code (any case), or the family its name prefixes (`hr`: HR-1, HR-2…).
  const targets = wanted ? competenciesNamed(tree, wanted) : new Set<string>();
  const under = new Map<string, boolean>();
  const isUnder = (c: string): boolean => {
    let v = under.get(c);
    if (v === undefined) {
      v = [...withAncestors(tree, c)].some((a) => targets.has(a));
      under.set(c, v);
    }
    return v;
  };
  return (key: string): boolean => {
    const entry = indexed.get(key);
    if (!entry) return false;
    const r = entry.record;
    if (query.hub && entry.hub !== query.hub) return false;
    if (query.kind && r.kind !== query.kind) return false;
    if (query.publicOnly && r.visibility !== "public") return false;
    if (query.language && primaryLanguage(r.language) !== primaryLanguage(query.language)) return false;
    if (
      region &&
      !(
        (r.country !== "" && asCountry !== undefined && servesRegion(r.country, asCountry)) ||
        r.region.toLowerCase() === region.toLowerCase()
      )
    )
      return false;
    if (wanted && !r.competencies.some(isUnder)) return false;
    return true;
  };
}

/**
 * Full-text search over cases in many scripts. MiniSearch ranks with BM25+; what it is
 * given as terms decides whether French, Arabic, Russian and Chinese work:
 * - words come from `Intl.Segmenter` (ICU): spaces for Latin, Cyrillic and Arabic, a dictionary for
 *   Chinese, which has no spaces (拘留期间使用武力 → 拘留 | 期间 | 使用 | 武力);
 * - each term is folded: NFKC, lower case, combining marks removed (détention = detention, Arabic
 *   short vowels dropped; not in Cyrillic, where й is a letter), Arabic letter variants unified (أ إ آ → ا, ى → ي, ة → ه) and the definite
 *   article and its clitics taken off (الاحتجاز → احتجاز), Russian case endings cut (силы, сила → сил),
 *   and the commonest function words of each language dropped;
 * - at query time, prefix and (for terms of 7 letters or more) one-edit fuzzy matches count too, which covers the
 *   inflection of Russian and French nouns (сила ~ силы, force ~ forces) without a stemmer per language.
 */
const SEGMENTER = new Intl.Segmenter("und", { granularity: "word" });
const ARABIC_ARTICLE = /^(?:وال|بال|كال|فال|لل|ال)(?=\p{Script=Arabic}{2,})/u;

export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const s of SEGMENTER.segment(text)) if (s.isWordLike) out.push(s.segment);
  return out;
}

/** Function words that would match nearly every case (after folding). */
const STOPWORDS = new Set([
  ...["a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "is", "of", "on", "or", "the", "to", "with"],
  ...[
    "a",
    "au",
    "aux",
    "avec",
    "dans",
    "de",
    "des",
    "du",
    "en",
    "et",
    "l",
    "la",
    "le",
    "les",
    "ou",
    "par",
    "pour",
    "sur",
    "un",
    "une",
    "d",
  ],
  ...["في", "من", "علي", "الي", "عن", "و", "مع", "او", "ان", "هذا", "هذه"],
  ...["в", "во", "на", "при", "и", "с", "со", "по", "к", "о", "об", "от", "для", "из", "или", "не"],
  ...["的", "在", "中", "地", "和", "与", "及", "了", "是"],
]);

/** Russian case endings, longest first: сила, силы, силой → сил (a light stemmer; index and query agree). */
const RUSSIAN_ENDINGS =
  /(?:иями|ями|ами|ого|его|ому|ему|ыми|ими|ых|их|ой|ей|ий|ый|ая|яя|ое|ее|ые|ие|ов|ев|ах|ях|ам|ям|ом|ем|ию|ия|а|я|ы|и|у|ю|е|о|ь)$/u;

export function foldTerm(term: string): string | null {
  let t = term.normalize("NFKC").toLowerCase();
  // Accents and Arabic short vowels go; Cyrillic keeps its letters (й is not и), only ё is written е.
  t = /\p{Script=Cyrillic}/u.test(t)
    ? t.replace(/ё/g, "е")
    : t.normalize("NFD").replace(/\p{M}/gu, "").normalize("NFC");
  if (/\p{Script=Arabic}/u.test(t)) {
    t = t
      .replace(/[أإآٱ]/g, "ا")
      .replace(/ى/g, "ي")
      .replace(/ة/g, "ه")
      .replace(/ـ/g, "");
    if (STOPWORDS.has(t)) return null;
    t = t.replace(ARABIC_ARTICLE, "");
  }
  if (STOPWORDS.has(t)) return null;
  if (/^\p{Script=Cyrillic}+$/u.test(t) && t.length > 4) t = t.replace(RUSSIAN_ENDINGS, "");
  else if (/^\p{Script=Cyrillic}+$/u.test(t) && t.length === 4) t = t.replace(/[аяыиуюеоь]$/u, "");
  return t === "" ? null : t;
}

/** Query terms of at least this many letters also match terms they begin. */
export const PREFIX_MIN_LENGTH = 3;
/** Query terms of at least this many letters also match terms one edit away (shorter ones would match other words: допрос, вопрос). */
export const FUZZY_MIN_LENGTH = 7;

export interface IndexedCase {
  key: string;
  hub: string;
  record: CaseRecord;
}

export interface CaseHit {
  key: string;
  score: number;
}

/**
 * A case query's ranked hits over the indexed cases: full-text ranked when it has text, else every
 * case the filters accept (score 0, in index order). `Cases.search` pages these.
 */
export function caseHits(
  index: CaseSearchIndex,
  indexed: ReadonlyMap<string, { hub: string; record: CaseRecord }>,
  text: string,
  filters: CaseFilters,
  tree: CompetencyTree,
): CaseHit[] {
  const accept = caseFilter(indexed, filters, tree);
  return text.trim() === ""
    ? [...indexed.keys()].filter(accept).map((key) => ({ key, score: 0 }))
    : index.search(text, accept);
}

/** The search index: add, replace and remove one case at a time; search with a filter over keys. */
export class CaseSearchIndex {
  readonly #search = new MiniSearch<{ id: string; title: string; summary: string; body: string; tags: string }>({
    fields: ["title", "summary", "body", "tags"],
    storeFields: [],
    tokenize,
    processTerm: foldTerm,
    searchOptions: {
      boost: { title: 3, tags: 2, summary: 2 },
      prefix: (term) => term.length >= PREFIX_MIN_LENGTH,
      fuzzy: (term) => (term.length >= FUZZY_MIN_LENGTH ? 1 : false),
      weights: { fuzzy: 0.45, prefix: 0.6 },
      combineWith: "OR",
    },
  });

  get size(): number {
    return this.#search.documentCount;
  }

  upsert(key: string, record: CaseRecord): void {
    const doc = {
      id: key,
      title: record.title,
      summary: record.summary,
      body: record.body,
      tags: record.tags.join(" "),
    };
    if (this.#search.has(key)) this.#search.replace(doc);
    else this.#search.add(doc);
  }

  remove(key: string): void {
    if (this.#search.has(key)) this.#search.discard(key);
  }

  /** Keys of the cases matching `text` (ranked), among those `accept` lets through. */
  search(text: string, accept: (key: string) => boolean): CaseHit[] {
    return this.#search
      .search(text, { filter: (r) => accept(String(r.id)) })
      .map((r) => ({ key: String(r.id), score: r.score }));
  }
}
