import type { Operator } from "../operators/index.js";
import type { RawTrainerDraft, Trainer } from "../roster/index.js";
import type { Operator as OperatorMessage } from "./generated/concordat/v1/node.js";
import type { Trainer as TrainerMessage } from "./generated/concordat/v1/trainers.js";

/** A trainer message from a client, as a draft for validation (node-set fields are ignored). */
export function draftFromMessage(message: TrainerMessage | undefined): RawTrainerDraft {
  const m = message;
  const draft: RawTrainerDraft = {
    id: m?.id ?? "",
    displayName: m?.displayName ?? "",
    languages: (m?.languages ?? []).map((l) => ({ tag: l.tag, level: l.level })),
    regions: [...(m?.regions ?? [])],
    accreditations: (m?.accreditations ?? []).map((a) => ({ ...a })),
    availability: (m?.availability ?? []).map((r) => ({ start: r.start, end: r.end })),
    blackouts: (m?.blackouts ?? []).map((r) => ({ start: r.start, end: r.end })),
  };
  if (m?.private) draft.private = { ...m.private };
  return draft;
}

export function trainerToMessage(trainer: Trainer): TrainerMessage {
  return {
    id: trainer.id,
    displayName: trainer.displayName,
    homeHub: trainer.homeHub,
    languages: trainer.languages.map((l) => ({ ...l })),
    regions: [...trainer.regions],
    accreditations: trainer.accreditations.map((a) => ({ ...a })),
    availability: trainer.availability.map((r) => ({ ...r })),
    blackouts: trainer.blackouts.map((r) => ({ ...r })),
    private: trainer.private ? { ...trainer.private } : undefined,
    updatedAt: trainer.updatedAt,
    updatedBy: trainer.updatedBy,
  };
}

export function operatorToMessage(operator: Operator): OperatorMessage {
  return {
    id: operator.id,
    name: operator.name,
    role: operator.role,
    createdAt: operator.createdAt,
    createdBy: operator.createdBy,
    revokedAt: operator.revokedAt ?? "",
  };
}
