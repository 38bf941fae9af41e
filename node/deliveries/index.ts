export * from "./model.js";
export { Deliveries, deliveriesSpecs, type IngestTarget } from "./deliveries.js";
export {
  assessmentJudge,
  completionJudge,
  fold,
  figures,
  readStatements,
  VERBS,
  type IngestState,
  type Statement,
} from "./xapi.js";
export * from "./evaluation.js";
export { parsePeriod, type Period } from "./period.js";
export {
  endpointOf,
  LrsError,
  pullStatements,
  sourceOf,
  XAPI_VERSION,
  type LrsCredentials,
  type LrsQuery,
} from "./lrs.js";
