export * from "./model.js";
export { Grievances, grievancesSpecs, type HeldGrievance } from "./grievances.js";
