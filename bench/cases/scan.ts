/**
 * The baseline and the answer check of the case-search benchmark.
 *
 * `scanSearch` is the naive full-text search a node without an index would do: on every query it
 * goes through every case, applies the node's filter, splits and folds the case's title, summary,
 * body and tags with the index's own `tokenize` and `foldTerm`, and scores the case by the query
 * terms it contains (each occurrence counted, weighted by field as the index boosts them: title 3,
 * summary and tags 2, body 1); then it sorts and cuts the page. It matches exact terms only (no
 * prefix, no fuzzy): less work per case than the index does, so the ratio is not flattered.
 *
 * `TermTable` holds every case's folded terms, computed once: it answers the same scan without
 * re-tokenizing (a fairer "no index" baseline, reported beside the naive one) and gives the sets the
 * index's answers are checked against.
 */
import type { CaseRecord } from "../../node/cases/index.js";
import { FUZZY_MIN_LENGTH, foldTerm, PREFIX_MIN_LENGTH, tokenize, type CaseHit } from "../../node/cases/search.js";
import type { IndexedCase, SearchAnswer } from "./node-search.js";

/** The fields CaseSearchIndex indexes, with its boosts (tags are indexed joined by spaces). */
function fields(record: CaseRecord): Array<readonly [string, number]> {
  return [
    [record.title, 3],
    [record.summary, 2],
    [record.body, 1],
    [record.tags.join(" "), 2],
  ];
}

/** The query's terms as the index sees them: segmented, folded, function words dropped, each once. */
export function queryTerms(text: string): string[] {
  const out = new Set<string>();
  for (const token of tokenize(text)) {
    const term = foldTerm(token);
    if (term !== null) out.add(term);
  }
  return [...out];
}

/** Highest score first, then by key: a total order, so two scans of the same cases agree on the page. */
function rank(hits: CaseHit[], page: { size: number; offset: number }): SearchAnswer {
  hits.sort((a, b) => b.score - a.score || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { page: hits.slice(page.offset, page.offset + page.size), total: hits.length };
}

/** The naive scan: every case tokenized and folded again on every query. */
export function scanSearch(
  indexed: ReadonlyMap<string, IndexedCase>,
  accept: (key: string) => boolean,
  text: string,
  page: { size: number; offset: number },
): SearchAnswer {
  const terms = new Set(queryTerms(text));
  const hits: CaseHit[] = [];
  if (terms.size === 0) return { page: [], total: 0 };
  for (const [key, { record }] of indexed) {
    if (!accept(key)) continue;
    let score = 0;
    for (const [value, boost] of fields(record)) {
      for (const token of tokenize(value)) {
        const term = foldTerm(token);
        if (term !== null && terms.has(term)) score += boost;
      }
    }
    if (score > 0) hits.push({ key, score });
  }
  return rank(hits, page);
}

/** At most one insertion, deletion or substitution apart (Levenshtein distance ≤ 1, in UTF-16 code units as MiniSearch counts). */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  if (long.length - short.length > 1) return false;
  let i = 0;
  while (i < short.length && short[i] === long[i]) i += 1;
  // Same length: one substitution at i; otherwise one insertion at i.
  return short.length === long.length ? short.slice(i + 1) === long.slice(i + 1) : short.slice(i) === long.slice(i + 1);
}

/**
 * Does the query term `q` match the case's term `t` as CaseSearchIndex searches: the term itself,
 * a term it begins (query terms of PREFIX_MIN_LENGTH+ characters), or one edit away (FUZZY_MIN_LENGTH+)?
 * Keep in step with the searchOptions in node/cases/search.ts.
 */
export function indexMatches(q: string, t: string): boolean {
  return (
    t === q ||
    (q.length >= PREFIX_MIN_LENGTH && t.startsWith(q)) ||
    (q.length >= FUZZY_MIN_LENGTH && withinOneEdit(q, t))
  );
}

/** The sets a query's answer is checked against (keys of cases that pass the filter). */
export interface ExpectedSets {
  /** Every query term, exactly. */
  all: Set<string>;
  /** Some query term, exactly: what the scan finds. */
  any: Set<string>;
  /** Some query term as the index matches it (exact, prefix, one edit): what the index must find. */
  index: Set<string>;
}

/** Every case's folded terms with their field-weighted counts, computed once. */
export class TermTable {
  readonly #terms = new Map<string, Map<string, number>>();
  /** Every distinct term of every case (rebuilt after a change). */
  #vocabulary: Set<string> | undefined;

  constructor(indexed: ReadonlyMap<string, IndexedCase>) {
    for (const [key, { record }] of indexed) this.set(key, record);
  }

  set(key: string, record: CaseRecord): void {
    const counts = new Map<string, number>();
    for (const [value, boost] of fields(record)) {
      for (const token of tokenize(value)) {
        const term = foldTerm(token);
        if (term !== null) counts.set(term, (counts.get(term) ?? 0) + boost);
      }
    }
    this.#terms.set(key, counts);
    this.#vocabulary = undefined;
  }

  terms(key: string): ReadonlyMap<string, number> | undefined {
    return this.#terms.get(key);
  }

  /** The scan again, from the stored terms: the same hits and scores as `scanSearch`. */
  search(accept: (key: string) => boolean, text: string, page: { size: number; offset: number }): SearchAnswer {
    const terms = queryTerms(text);
    const hits: CaseHit[] = [];
    if (terms.length === 0) return { page: [], total: 0 };
    for (const [key, counts] of this.#terms) {
      if (!accept(key)) continue;
      let score = 0;
      for (const term of terms) score += counts.get(term) ?? 0;
      if (score > 0) hits.push({ key, score });
    }
    return rank(hits, page);
  }

  expected(accept: (key: string) => boolean, text: string): ExpectedSets {
    const terms = queryTerms(text);
    // The distinct terms the index would match for some query term, found once per query.
    if (!this.#vocabulary) {
      this.#vocabulary = new Set();
      for (const counts of this.#terms.values()) for (const term of counts.keys()) this.#vocabulary.add(term);
    }
    const matching = new Set([...this.#vocabulary].filter((t) => terms.some((q) => indexMatches(q, t))));
    const out: ExpectedSets = { all: new Set(), any: new Set(), index: new Set() };
    for (const [key, counts] of this.#terms) {
      if (!accept(key)) continue;
      const present = terms.filter((q) => counts.has(q)).length;
      if (present > 0) out.any.add(key);
      if (terms.length > 0 && present === terms.length) out.all.add(key);
      for (const term of counts.keys()) {
        if (matching.has(term)) {
          out.index.add(key);
          break;
        }
      }
    }
    return out;
  }
}
