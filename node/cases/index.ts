export * from "./model.js";
export { Cases, CASE_SHARDS, ENDORSEMENTS_KEY, type CaseSearch, type FoundCase } from "./cases.js";
export { CaseSearchIndex, foldTerm, tokenize } from "./search.js";
