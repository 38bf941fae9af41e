export { EVENT_KINDS, type EventDraft, type EventKind, type NodeEvent } from "./event.js";
export {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_QUEUE_LIMIT,
  EventHub,
  type EventHubComponents,
  type EventHubInit,
  type EventSource,
} from "./event-hub.js";
export { EventWatcher } from "./watcher.js";
export {
  bookingEvents,
  checkpointEvents,
  COALESCE_MS,
  curriculumEvents,
  memberEvents,
  peerEvents,
  releaseEvents,
  rosterEvents,
} from "./sources.js";
