/**
 * One change at the node, as `NodeService.WatchEvents` streams it (proto/concordat/v1/node.proto
 * documents each kind and action). `summary` is one short sentence for people built only from ids,
 * hub ids, states and counts: never personal data (emails, phones, national ids, notes), since
 * viewers may watch.
 */
export interface NodeEvent {
  kind: EventKind;
  action: string;
  /** What changed: a booking key, a version, a peer id, a trainer id, … ("" when none). */
  subject: string;
  /** The other hub concerned ("" when none). */
  hub: string;
  /** ISO 8601, when the node saw the change. */
  at: string;
  summary: string;
}

export const EVENT_KINDS = [
  "hello",
  "heartbeat",
  "overflow",
  "booking",
  "release",
  "peer",
  "checkpoint",
  "member",
  "roster",
  "curriculum",
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** An event as a source reports it; the hub stamps `at` when it is not given. */
export type EventDraft = Omit<NodeEvent, "at" | "subject" | "hub"> & { at?: string; subject?: string; hub?: string };

export function stamped(draft: EventDraft, now = new Date()): NodeEvent {
  return {
    kind: draft.kind,
    action: draft.action,
    subject: draft.subject ?? "",
    hub: draft.hub ?? "",
    at: draft.at ?? now.toISOString(),
    summary: draft.summary,
  };
}
