/** The availability index, its reference scan, the federated query and free/busy (docs/architecture.md). */
export * from "./model.js";
export { scanQuery } from "./scan.js";
export { accreditationsOf } from "./accreditations.js";
export * from "./availability.js";
export { MAX_FREEBUSY_DAYS, MAX_FREEBUSY_MS } from "./freebusy.js";
export { primaryLanguage, servesRegion } from "./shared.js";
export * from "./availability-index.js";
