export * from "./model.js";
export { Deliveries, deliveriesSpecs, type IngestTarget } from "./deliveries.js";
export { assessmentJudge, fold, figures, readStatements, VERBS, type IngestState } from "./xapi.js";
export * from "./evaluation.js";
export { parsePeriod, type Period } from "./period.js";
