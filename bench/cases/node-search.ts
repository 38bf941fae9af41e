/**
 * The node's case search without the node around it: `Cases.search` (node/cases/cases.ts) needs a
 * hub's documents, verified views and membership, so the benchmark holds the same two things it
 * searches — a CaseSearchIndex keyed `hub/id` and the indexed records by key — and answers as it
 * does: the same hits (`caseHits`, node/cases/search.ts, which Cases.search calls), then the page
 * cut from them. What
 * is left out costs nothing here: `await idle()` (no indexing queued) and the secretariat's
 * endorsements (none).
 */
import type { CaseRecord } from "../../node/cases/index.js";
import { caseHits, type CaseFilters, type CaseHit, type CaseSearchIndex } from "../../node/cases/search.js";
import type { CompetencyTree } from "../../node/query/index.js";

export interface IndexedCase {
  hub: string;
  record: CaseRecord;
}

/** What the node answers: the ranked page, and how many matched in all. */
export interface SearchAnswer {
  page: CaseHit[];
  total: number;
}

export function nodeSearch(
  index: CaseSearchIndex,
  indexed: ReadonlyMap<string, IndexedCase>,
  tree: CompetencyTree,
  text: string,
  filters: CaseFilters,
  page: { size: number; offset: number },
): SearchAnswer {
  const hits = caseHits(index, indexed, text, filters, tree);
  return { page: hits.slice(page.offset, page.offset + page.size), total: hits.length };
}
