export {
  Roster,
  type RosterInit,
  type RosterComponents,
  type ImportOptions,
  type ImportOutcome,
  type ImportRowInput,
  type RowError,
  type RosterChange,
  type ListOptions,
} from "./roster.js";
export {
  validateTrainer,
  shardOf,
  CEFR_LEVELS,
  ACCREDITATION_STATUSES,
  UPDATABLE_FIELDS,
  type Trainer,
  type TrainerDraft,
  type RawTrainerDraft,
  type TrainerPrivate,
  type TrainerPublic,
  type Language,
  type Accreditation,
  type TimeRange,
} from "./trainer.js";
export { decodeTrainer } from "./records.js";
