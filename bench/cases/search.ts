/**
 * The case search: latency of the node's full-text index (CaseSearchIndex, MiniSearch with
 * our tokenizer and folding) over 10,000 cases from 20 hubs in English, French, Arabic, Russian and
 * Chinese, against a naive scan of the same cases in the same run; the index's build time, memory,
 * and the time to re-index one changed case. Every query's answer is checked first.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CaseSearchIndex } from "../../node/cases/search.js";
import { Random } from "../lib/random.js";
import { median, round, since, summarize, type Summary } from "../lib/stats.js";
import { figure, type Benchmark, type BenchmarkContext, type BenchmarkOutcome, type Figure } from "../lib/types.js";
import {
  HUB_COUNT,
  LANGUAGES,
  makeCases,
  makeFramework,
  makeHubs,
  makeQueries,
  revise,
  type CaseQuery,
  type Framework,
} from "./generate.js";
import type { MemoryMeasure } from "./memory.js";
import { caseFilter, FUZZY_MIN_LENGTH, PREFIX_MIN_LENGTH } from "../../node/cases/search.js";
import { nodeSearch, type IndexedCase, type SearchAnswer } from "./node-search.js";
import { indexMatches, queryTerms, scanSearch, TermTable, type ExpectedSets } from "./scan.js";

const execFileAsync = promisify(execFile);
const SEED = 8;
/** The page SearchCases answers by default. */
const PAGE = { size: 20, offset: 0 };

interface Plan {
  perHub: number;
  /** Index builds from scratch (the median is reported). */
  buildRuns: number;
  indexRounds: number;
  /** The naive scan tokenizes every case on every query: one round is plenty of samples. */
  scanRounds: number;
  /** Changed cases re-indexed one by one. */
  updates: number;
}

const FULL: Plan = { perHub: 500, buildRuns: 3, indexRounds: 20, scanRounds: 1, updates: 300 };
const QUICK: Plan = { perHub: 100, buildRuns: 1, indexRounds: 5, scanRounds: 1, updates: 100 };

/** The index's memory, measured in a fresh process (memory.ts) so that nothing else sits on its heap. */
async function measureMemory(perHub: number): Promise<MemoryMeasure> {
  const script = fileURLToPath(new URL("./memory.js", import.meta.url));
  const { stdout } = await execFileAsync(process.execPath, ["--expose-gc", script, String(perHub), String(SEED)], {
    timeout: 120_000,
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout) as MemoryMeasure;
}

/** What the check found for a query: the index's matches, the cases with some / every query term exactly, and its first page. */
interface Counts {
  hits: number;
  any: number;
  all: number;
  /** Cases on the first page that hold a query term exactly. */
  pageExact: number;
  /** A prefix or fuzzy match took a place on the first page while a case with an exact term was left off it. */
  displaced: boolean;
}

const describe = (q: CaseQuery) =>
  `[${q.language}] "${q.text}" ${q.filter === "none" ? "without filters" : `with ${JSON.stringify(q.filters)}`}`;

/**
 * The answer check, for every query, before anything is timed (and again after the updates).
 *
 * The index ORs the query's terms and also matches a term by prefix (3+ characters) and within one
 * edit (FUZZY_MIN_LENGTH+, node/cases/search.ts), so its answers are not the scan's (exact terms only), and their order is BM25's, not
 * the scan's count of occurrences: comparing first pages would prove nothing. What is checked instead
 * is the index's whole answer as a set, against sets the check computes from every case's terms
 * (tokenized and folded with the same functions, filtered with the same filter):
 * - it equals the set of cases holding some query term as the index defines matching (exact, prefix,
 *   one edit): nothing missing, nothing extra, whatever the ranking;
 * - hence it contains every case the scan finds (some term exactly), and every case with all of them;
 * - the page is the top of that answer (while no case has been replaced; see below), the total its size.
 * Matching itself is MiniSearch's; this says the index, the filter and the folding find exactly the
 * cases they should, so the speed compared below is that of correct answers.
 */
function checkAnswers(
  label: string,
  replaced: boolean,
  queries: readonly CaseQuery[],
  answer: (q: CaseQuery) => { all: SearchAnswer; page: SearchAnswer },
  expected: (q: CaseQuery) => ExpectedSets,
  table: TermTable,
): Map<CaseQuery, Counts> {
  const counts = new Map<CaseQuery, Counts>();
  for (const q of queries) {
    const { all, page } = answer(q);
    const want = expected(q);
    const got = new Set(all.page.map((h) => h.key));
    const missing = [...want.index].filter((k) => !got.has(k));
    const extra = [...got].filter((k) => !want.index.has(k));
    if (missing.length > 0 || extra.length > 0 || got.size !== all.page.length) {
      const terms = queryTerms(q.text);
      // A case and its terms that match a query term as the index should match them.
      const show = (k: string) =>
        `${k} (${[...(table.terms(k)?.keys() ?? [])].filter((t) => terms.some((x) => indexMatches(x, t))).join(" ") || "no matching term"})`;
      throw new Error(
        `${label}: the index answered ${describe(q)} (terms ${terms.join(" ")}) with ${got.size} cases, the check expects ${want.index.size}; ` +
          `missing ${missing.length}: ${missing.slice(0, 3).map(show).join(", ") || "-"}; extra ${extra.length}: ${extra.slice(0, 3).map(show).join(", ") || "-"}`,
      );
    }
    // The page: as many as asked (or all there are), ranked, from the answer, with the answer's total;
    // and, until a case is replaced, exactly the answer's first cases. Not after: MiniSearch drops a
    // replaced case's old postings lazily, one occurrence per search that meets them, and counts them
    // in document frequencies until then, so scores (and near-ties) move between identical searches
    // until they are gone or vacuumed.
    const ranked = page.page.every((h, i) => i === 0 || (page.page[i - 1] as { score: number }).score >= h.score);
    const top =
      replaced ||
      page.page.map((h) => h.key).join() ===
        all.page
          .slice(0, PAGE.size)
          .map((h) => h.key)
          .join();
    if (
      page.total !== got.size ||
      page.page.length !== Math.min(PAGE.size, got.size) ||
      !ranked ||
      !top ||
      page.page.some((h) => !got.has(h.key))
    ) {
      throw new Error(
        `${label}: the page of ${describe(q)} is not a ranked page of its answer (total ${page.total} vs ${got.size}, ${page.page.length} on the page)`,
      );
    }
    const pageExact = page.page.filter((h) => want.any.has(h.key)).length;
    counts.set(q, {
      hits: got.size,
      any: want.any.size,
      all: want.all.size,
      pageExact,
      displaced: pageExact < Math.min(PAGE.size, want.any.size),
    });
  }
  return counts;
}

function pick(s: Summary): Record<string, number> {
  return {
    samples: s.samples,
    p50: round(s.p50, 4),
    p99: round(s.p99, 4),
    mean: round(s.mean, 4),
    max: round(s.max, 4),
  };
}

/** Samples grouped by a key of the query (its language, its filter), summarised. */
function grouped(
  samples: ReadonlyArray<readonly [CaseQuery, number]>,
  keyOf: (q: CaseQuery) => string,
): Map<string, Summary> {
  const groups = new Map<string, number[]>();
  for (const [q, ms] of samples) {
    const list = groups.get(keyOf(q)) ?? [];
    list.push(ms);
    groups.set(keyOf(q), list);
  }
  return new Map([...groups].map(([k, list]) => [k, summarize(list)]));
}

async function measure(context: BenchmarkContext, plan: Plan, framework: Framework): Promise<BenchmarkOutcome> {
  const hubs = makeHubs();
  const tree = framework.tree;
  const generateStart = performance.now();
  const cases = makeCases(SEED, framework, hubs, plan.perHub);
  const total = cases.length;
  const label = `${total.toLocaleString("en")} cases`;
  const languageCounts = Object.fromEntries(LANGUAGES.map((l) => [l, cases.filter((c) => c.language === l).length]));
  const medianChars = median(
    cases.map(
      (c) => c.record.title.length + c.record.summary.length + c.record.body.length + c.record.tags.join(" ").length,
    ),
  );
  context.log(
    `  generated ${label} from ${hubs.length} hubs in ${round(since(generateStart) / 1000, 1)} s (${LANGUAGES.map((l) => `${l} ${languageCounts[l]}`).join(", ")}), every one accepted by validateCase`,
  );

  const memory = await measureMemory(plan.perHub);
  if (memory.cases !== total) throw new Error(`memory measured over ${memory.cases} cases, expected ${total}`);

  // Build: every case upserted into a fresh index, as a node does when it starts over its documents.
  const builds: number[] = [];
  let index = new CaseSearchIndex();
  for (let run = 0; run < plan.buildRuns; run += 1) {
    index = new CaseSearchIndex();
    const start = performance.now();
    for (const c of cases) index.upsert(c.key, c.record);
    builds.push(since(start));
  }
  if (index.size !== total) throw new Error(`the index holds ${index.size} cases, expected ${total}`);
  const buildMs = median(builds);
  context.log(
    `  built the index in ${round(buildMs, 0)} ms (median of ${plan.buildRuns}); index ${round(memory.indexBytes / 2 ** 20, 1)} MiB on the heap`,
  );

  const indexed = new Map<string, IndexedCase>(cases.map((c) => [c.key, { hub: c.hub, record: c.record }]));
  const tableStart = performance.now();
  const table = new TermTable(indexed);
  const tableMs = since(tableStart);
  const queries = makeQueries(SEED + 1, hubs);

  const everything = { size: Number.MAX_SAFE_INTEGER, offset: 0 };
  const check = (label: string, replaced: boolean) =>
    checkAnswers(
      label,
      replaced,
      queries,
      (q) => ({
        all: nodeSearch(index, indexed, tree, q.text, q.filters, everything),
        page: nodeSearch(index, indexed, tree, q.text, q.filters, PAGE),
      }),
      (q) => table.expected(caseFilter(indexed, q.filters, tree), q.text),
      table,
    );
  const checkStart = performance.now();
  const counts = check("before timing", false);
  context.log(
    `  ${queries.length} queries: the index's answers are exactly the cases the check expects (${round(since(checkStart) / 1000, 1)} s)`,
  );

  // Timed: the first page, as SearchCases answers by default (the filter built per query, as the node does).
  let sink = 0;
  const timed = (search: () => SearchAnswer): { answer: SearchAnswer; ms: number } => {
    const start = performance.now();
    const answer = search();
    const ms = performance.now() - start;
    sink += answer.total;
    return { answer, ms };
  };
  const indexSamples: Array<readonly [CaseQuery, number]> = [];
  for (let r = 0; r < plan.indexRounds; r += 1) {
    for (const q of queries)
      indexSamples.push([q, timed(() => nodeSearch(index, indexed, tree, q.text, q.filters, PAGE)).ms]);
  }
  // The naive scan, each answer checked (untimed) against the same scan over the stored terms and the check's count.
  const scanSamples: Array<readonly [CaseQuery, number]> = [];
  const scanStart = performance.now();
  for (let r = 0; r < plan.scanRounds; r += 1) {
    for (const q of queries) {
      const { answer, ms } = timed(() => scanSearch(indexed, caseFilter(indexed, q.filters, tree), q.text, PAGE));
      scanSamples.push([q, ms]);
      const again = table.search(caseFilter(indexed, q.filters, tree), q.text, PAGE);
      if (answer.total !== again.total || JSON.stringify(answer.page) !== JSON.stringify(again.page))
        throw new Error(`the naive scan answered ${describe(q)} differently from the scan over stored terms`);
      if (answer.total !== counts.get(q)?.any)
        throw new Error(
          `the naive scan found ${answer.total} cases for ${describe(q)}, the check ${counts.get(q)?.any}`,
        );
    }
  }
  const scanWall = since(scanStart);
  const storedSamples: Array<readonly [CaseQuery, number]> = [];
  for (let r = 0; r < Math.max(1, Math.round(plan.indexRounds / 4)); r += 1) {
    for (const q of queries)
      storedSamples.push([q, timed(() => table.search(caseFilter(indexed, q.filters, tree), q.text, PAGE)).ms]);
  }
  const ours = summarize(indexSamples.map(([, ms]) => ms));
  const scan = summarize(scanSamples.map(([, ms]) => ms));
  const stored = summarize(storedSamples.map(([, ms]) => ms));
  context.log(
    `  index p50 ${round(ours.p50, 2)} ms, p99 ${round(ours.p99, 2)} ms; naive scan p50 ${round(scan.p50, 1)} ms, p99 ${round(scan.p99, 1)} ms (${round(scanWall / 1000, 1)} s of scans); scan over stored terms p50 ${round(stored.p50, 2)} ms`,
  );

  // Incremental update: a case edited by its hub, re-indexed as the node does (upsert: MiniSearch's
  // replace, i.e. discard the old version and add the new one), one at a time.
  const random = new Random(SEED + 2);
  const updateSamples: number[] = [];
  for (const c of random.sample(cases, plan.updates)) {
    const changed = revise(c, random);
    const start = performance.now();
    index.upsert(c.key, changed);
    updateSamples.push(since(start));
    indexed.set(c.key, { hub: c.hub, record: changed });
    table.set(c.key, changed);
  }
  if (index.size !== total)
    throw new Error(`after ${plan.updates} updates the index holds ${index.size} cases, expected ${total}`);
  const updates = summarize(updateSamples);
  const recheck = check(`after ${plan.updates} updates`, true);
  context.log(
    `  re-indexed ${plan.updates} changed cases: p50 ${round(updates.p50, 3)} ms, p99 ${round(updates.p99, 3)} ms; the index's answers still exactly as expected`,
  );
  if (sink < 0) throw new Error("unreachable"); // keeps the answers alive

  const conditions = {
    hubs: HUB_COUNT,
    cases: total,
    page: PAGE.size,
    queries: queries.length,
    indexRuns: indexSamples.length,
    scanRuns: scanSamples.length,
  };
  // With and without filters apart too: the scan applies the filter before reading a case, the index
  // (MiniSearch) only to the cases its terms matched.
  const split = (filtered: boolean) => {
    const only = (samples: ReadonlyArray<readonly [CaseQuery, number]>) =>
      summarize(samples.filter(([q]) => (q.filter !== "none") === filtered).map(([, ms]) => ms));
    const i = only(indexSamples);
    const s = only(scanSamples);
    const cond = {
      ...conditions,
      queries: queries.filter((q) => (q.filter !== "none") === filtered).length,
      indexRuns: i.samples,
      scanRuns: s.samples,
    };
    const what = filtered ? "with filters" : "without filters";
    return [
      figure({
        name: `query p50 ${what}, ${label}`,
        unit: "ms",
        ours: i.p50,
        baseline: { name: "naive scan", value: s.p50 },
        conditions: cond,
      }),
      figure({
        name: `query p99 ${what}, ${label}`,
        unit: "ms",
        ours: i.p99,
        baseline: { name: "naive scan", value: s.p99 },
        conditions: cond,
      }),
    ];
  };
  const figures: Figure[] = [
    figure({
      name: `query p50 (first page), ${label}`,
      unit: "ms",
      ours: ours.p50,
      baseline: { name: "naive scan", value: scan.p50 },
      conditions,
    }),
    figure({
      name: `query p99 (first page), ${label}`,
      unit: "ms",
      ours: ours.p99,
      baseline: { name: "naive scan", value: scan.p99 },
      conditions,
    }),
    figure({
      name: `query mean (first page), ${label}`,
      unit: "ms",
      ours: ours.mean,
      baseline: { name: "naive scan", value: scan.mean },
      conditions,
    }),
    ...split(false),
    ...split(true),
    figure({
      name: `index build, ${label}`,
      unit: "ms",
      ours: buildMs,
      conditions: { hubs: HUB_COUNT, cases: total, runs: plan.buildRuns },
    }),
    figure({
      name: `index memory, ${label}`,
      unit: "MiB",
      ours: memory.indexBytes / 2 ** 20,
      conditions: {
        hubs: HUB_COUNT,
        cases: total,
        runs: 1,
        measured: "V8 heap after GC, fresh process: the index's structures (it keeps no record)",
      },
    }),
    figure({
      name: `index memory per case, ${label}`,
      unit: "bytes",
      ours: memory.indexBytes / total,
      conditions: { hubs: HUB_COUNT, cases: total, runs: 1 },
    }),
    figure({
      name: `re-index one changed case p50, ${label}`,
      unit: "ms",
      ours: updates.p50,
      conditions: { hubs: HUB_COUNT, cases: total, runs: plan.updates },
    }),
    figure({
      name: `re-index one changed case p99, ${label}`,
      unit: "ms",
      ours: updates.p99,
      conditions: { hubs: HUB_COUNT, cases: total, runs: plan.updates },
    }),
  ];

  const byKey = (keyOf: (q: CaseQuery) => string) => {
    const i = grouped(indexSamples, keyOf);
    const s = grouped(scanSamples, keyOf);
    return Object.fromEntries(
      [...i].map(([k, summary]) => {
        const list = queries.filter((q) => keyOf(q) === k);
        const of = (f: (c: Counts) => number) =>
          median(list.map((q) => f(counts.get(q) ?? { hits: 0, any: 0, all: 0, pageExact: 0, displaced: false })));
        const scanned = s.get(k);
        return [
          k,
          {
            queries: list.length,
            medianHits: of((c) => c.hits),
            medianExactAny: of((c) => c.any),
            medianExactAll: of((c) => c.all),
            index: pick(summary),
            scan: scanned ? pick(scanned) : undefined,
            ratioP50: scanned ? round(scanned.p50 / summary.p50, 1) : undefined,
          },
        ];
      }),
    );
  };
  const hits = queries.map((q) => counts.get(q)?.hits ?? 0);
  const displaced = queries.filter((q) => counts.get(q)?.displaced === true);
  const medianMs = (q: CaseQuery) => median(indexSamples.filter(([x]) => x === q).map(([, ms]) => ms));
  const slowest = queries.map((q) => ({ q, ms: medianMs(q) })).reduce((a, b) => (b.ms > a.ms ? b : a));
  const details = {
    cases: total,
    hubs: HUB_COUNT,
    perHub: plan.perHub,
    languages: languageCounts,
    medianCharsPerCase: medianChars,
    buildMs: builds.map((ms) => round(ms, 1)),
    memory: { ...memory, indexBytesPerCase: Math.round(memory.indexBytes / total) },
    index: pick(ours),
    naiveScan: pick(scan),
    storedTermsScan: {
      note: "the same scan over each case's folded terms computed once (not re-tokenized per query)",
      buildMs: round(tableMs, 1),
      ...pick(stored),
    },
    ratio: {
      p50: round(scan.p50 / ours.p50, 1),
      p99: round(scan.p99 / ours.p99, 1),
      mean: round(scan.mean / ours.mean, 1),
      storedTermsP50: round(stored.p50 / ours.p50, 2),
    },
    byLanguage: byKey((q) => q.language),
    byFilter: byKey((q) => q.filter),
    filtered: byKey((q) => (q.filter === "none" ? "without filters" : "with filters")),
    answers: {
      medianHits: median(hits),
      maxHits: Math.max(...hits),
      empty: hits.filter((h) => h === 0).length,
      displaced: displaced.map(describe),
      recheckedAfterUpdates: recheck.size,
    },
    updates: pick(updates),
    queries: queries.map((q) => ({
      language: q.language,
      text: q.text,
      filter: q.filter,
      filters: q.filters,
      terms: queryTerms(q.text),
      ...counts.get(q),
      indexMedianMs: round(medianMs(q), 3),
      indexMaxMs: round(Math.max(...indexSamples.filter(([x]) => x === q).map(([, ms]) => ms)), 3),
      scanMs: round(median(scanSamples.filter(([x]) => x === q).map(([, ms]) => ms)), 1),
    })),
  };
  const notes = [
    `${label} from ${HUB_COUNT} hubs (${plan.perHub} each) in ${LANGUAGES.map((l) => `${l} ${languageCounts[l]}`).join(", ")}, a median of ${medianChars.toLocaleString("en")} characters of text each (title, summary, Markdown body, tags); ${queries.length} queries: ${queries.length / 2} texts (7 per language, a typo or a missing accent among them), each without filters and with a filter (competency with its descendants, country, subdivision, region name, language, competency + language + public only, hub + kind).`,
    `Answers checked before timing and again after the updates: for every query the index's whole answer (with the node's filter) is exactly the set of cases holding some query term as the index matches terms (exact, prefix for ${PREFIX_MIN_LENGTH}+ characters, one edit for ${FUZZY_MIN_LENGTH}+), computed from every case's terms with the same tokenize/foldTerm — so it contains every case the scan finds; its page is the top of that answer. First pages are not compared: the index ranks by BM25 with prefix and fuzzy matches, the scan counts exact occurrences.`,
    `Timed: the first page of ${PAGE.size} as the node answers it (CaseSearchIndex.search with Cases.search's filter, then the page cut; reproduced in bench/cases/node-search.ts), and the naive scan (every case tokenized and folded again on every query, the filter first, exact terms scored by field, sorted, the page cut), whose answers were checked against the same scan over stored terms.`,
    `Ranking: on ${displaced.length} of ${queries.length} queries the first page holds a prefix or fuzzy match while a case with an exact query term is left off it (listed in details.answers.displaced).`,
    `The scan over stored terms (no re-tokenizing) answers in ${round(stored.p50, 2)} ms at p50 and ${round(stored.p99, 2)} ms at p99: the index is ${round(stored.p50 / ours.p50, 2)}× faster than that at p50 and ${round(stored.p99 / ours.p99, 2)}× at p99 (its slowest query, ${describe(slowest.q)}, has ${(counts.get(slowest.q)?.hits ?? 0).toLocaleString("en")} matches to rank before the page is cut: ${round(slowest.ms, 2)} ms at its median). Most of the naive scan's time goes into segmenting and folding text, which also takes ${round(tableMs, 0)} ms of the index build's ${round(buildMs, 0)} ms (measured once, for the stored terms).`,
    `Re-indexing a changed case: CaseSearchIndex.upsert of the edited record (MiniSearch replace = discard + add), as the node does when a case's stored text changes; ${plan.updates} cases, too few for MiniSearch's automatic vacuum to start (at about a tenth of the index discarded). Until then it drops a replaced case's old postings lazily, one occurrence per search that meets them, and counts them in document frequencies: identical searches can rank near-ties differently for a while after edits. The answers themselves (which cases) are unaffected, as the second check shows.`,
    "Memory: V8 heap used after forced GCs in a fresh process, before and after building the index over the generated cases.",
  ];
  if (context.quick)
    notes.push(
      `Quick run: ${plan.perHub} cases per hub (full: ${FULL.perHub}), ${plan.indexRounds} index rounds (full: ${FULL.indexRounds}), ${plan.buildRuns} build (full: ${FULL.buildRuns}), ${plan.updates} updates (full: ${FULL.updates}).`,
    );
  return {
    conditions: {
      seed: SEED,
      hubs: HUB_COUNT,
      cases: total,
      competencies: framework.items.length,
      languages: LANGUAGES.join(" "),
      page: PAGE.size,
      indexRounds: plan.indexRounds,
      mode: context.quick ? "quick" : "full",
    },
    figures,
    details,
    notes,
  };
}

export const casesSearch: Benchmark = {
  name: "cases.search",
  title: "Case search: index vs naive scan, build time, memory, update",
  async run(context: BenchmarkContext): Promise<BenchmarkOutcome> {
    return measure(context, context.quick ? QUICK : FULL, makeFramework());
  },
};
