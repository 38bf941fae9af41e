export { CHECKPOINT_DOMAIN, CheckpointKind, checkpointProblem, encodeCheckpoint, nextSeq, signCheckpoint, type Checkpoint, type SignedCheckpoint } from "./checkpoint.js";
export { Checkpointer, type CheckpointerInit, type CheckpointerComponents } from "./checkpointer.js";
