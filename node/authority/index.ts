export {
  CHECKPOINT_DOMAIN,
  CheckpointKind,
  checkpointProblem,
  encodeCheckpoint,
  nextSeq,
  signCheckpoint,
  type Checkpoint,
  type SignedCheckpoint,
} from "./checkpoint.js";
export { Checkpointer, type CheckpointerInit, type CheckpointerComponents } from "./checkpointer.js";
export {
  VerifiedViews,
  type VerifiedView,
  type Rejection,
  type VerifiedViewsInit,
  type VerifiedViewsComponents,
} from "./verified-views.js";
