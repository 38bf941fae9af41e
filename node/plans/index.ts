export * from "./model.js";
export { Plans, plansSpec, type PlanSource, type PlanView } from "./plans.js";
