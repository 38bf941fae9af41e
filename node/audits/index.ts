export * from "./model.js";
export { Audits, type DrawnAudit, type HeldFinding } from "./audits.js";
