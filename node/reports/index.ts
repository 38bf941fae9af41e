export * from "./coverage.js";
export * from "./baseline.js";
export { Reports } from "./reports.js";
export { reportInputOf, sourcesOf, REPORTED_TYPES, type SignedState, type SignedDocument } from "./signed-state.js";
export { verifyReport, type ReportVerification } from "./verify.js";
