export * from "./model.js";
export type { Candidate } from "./candidates.js";
export { Feedback, feedbackSpec, type ProposalFilter, type ProposalView } from "./feedback.js";
