export * from "./coverage.js";
export { Reports } from "./reports.js";
