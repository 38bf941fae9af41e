export * from "./model.js";
export { Deliveries, deliveriesSpecs, type IngestTarget } from "./deliveries.js";
export { fold, figures, readStatements, VERBS, type IngestState } from "./xapi.js";
