/** Audit bundles: what a hub exports for offline verification, and that verification (docs/auditor.md). */
export * from "./bundle.js";
export * from "./export.js";
export * from "./verify.js";
