import type { Logger } from "pino";
import type { Rejection, VerifiedView, VerifiedViews } from "../authority/index.js";
import { type Booking, type BookingLedger, ENGAGEMENTS_KEY, OUTBOX_KEY } from "../bookings/index.js";
import type { CoreSource, Curriculum } from "../core/index.js";
import { DocumentType, documentTypeOf, type OwnedDocuments } from "../documents/index.js";
import type { Membership } from "../federation/index.js";
import type { NodeNetwork } from "../network/index.js";
import type { Roster } from "../roster/index.js";
import type { EventSource } from "./event-hub.js";

/**
 * The change sources of the event hub, one per kind. Each subscribes to what the node already
 * tells (commits, applied and rejected checkpoints, charter changes, peers, roster and curriculum
 * writes) and reports events; the ones that compare states (bookings, releases, members) gather
 * what arrives within `COALESCE_MS` into one comparison. Summaries are built from ids, hub ids,
 * states and counts only: never a trainer's contact details or a note.
 */

/** How long a source that compares states waits for more changes before it compares (ms). */
export const COALESCE_MS = 50;

/** Runs `job` once, `ms` after the first `schedule` since it last ran; one run at a time. */
function coalesced(ms: number, job: () => void | Promise<void>, log: Logger) {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let chain: Promise<void> = Promise.resolve();
  const run = () => {
    chain = chain
      .then(job)
      .catch((error: unknown) => log.error({ err: error }, "an event source failed to compare states"));
  };
  return {
    /** Runs now (queued behind a run in progress): the first look, which reports nothing. */
    now: run,
    schedule(): void {
      if (timer || stopped) return;
      timer = setTimeout(() => {
        timer = undefined;
        if (!stopped) run();
      }, ms);
      timer.unref();
    },
    stop(): void {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

const day = (iso: string) => iso.slice(0, 10);

/** The action a booking's state is reported as. */
function bookingAction(booking: Booking): string {
  if (booking.state === "declined" && booking.engagement?.reason === "request-expired") return "expired";
  if (booking.cancellation && booking.state !== "cancelled" && booking.state !== "declined") return "cancelling";
  return booking.state;
}

/**
 * Every change of a booking this hub takes part in (its requests, requests for its trainers): the
 * ledger as it is now against the ledger as last seen, whenever its outbox or engagements change,
 * another member's verified outbox or engagements move, or the charter changes.
 */
export function bookingEvents(init: {
  hubId: string;
  ledger: Pick<BookingLedger, "list">;
  documents: Pick<OwnedDocuments, "onCommit">;
  views: Pick<VerifiedViews, "onApplied">;
  membership: Pick<Membership, "onChange">;
  logger: Logger;
  coalesceMs?: number;
}): EventSource {
  return (emit) => {
    const seen = new Map<string, string>();
    const other = (b: Booking) =>
      b.direction === "outgoing"
        ? b.request.trainer.hub
        : b.direction === "incoming"
          ? b.request.requester
          : init.hubId;
    const report = (b: Booking, action: string) => {
      const { trainer, requester, start, end } = b.request;
      const reason = action === "declined" || action === "cancelled" ? b.engagement?.reason : undefined;
      emit({
        kind: "booking",
        action,
        subject: b.key,
        hub: other(b),
        summary: `${requester} asked for trainer ${trainer.hub}/${trainer.id} from ${day(start)} to ${day(end)}: ${action}${reason ? ` (${reason})` : ""}`,
      });
    };
    const compare = (quiet: boolean) => {
      for (const booking of init.ledger.list()) {
        const action = bookingAction(booking);
        const before = seen.get(booking.key);
        seen.set(booking.key, action);
        if (quiet || before === action) continue;
        if (before === undefined) {
          report(booking, "requested");
          if (action === "pending") continue;
        }
        report(booking, action);
      }
    };
    compare(true);
    const later = coalesced(init.coalesceMs ?? COALESCE_MS, () => compare(false), init.logger);
    const unsubscribes = [
      init.documents.onCommit((keys) => {
        if (keys.includes(OUTBOX_KEY) || keys.includes(ENGAGEMENTS_KEY)) later.schedule();
      }),
      init.views.onApplied((view) => {
        const type = documentTypeOf(view.doc);
        if (type === DocumentType.Outbox || type === DocumentType.Engagements) later.schedule();
      }),
      init.membership.onChange(() => later.schedule()),
    ];
    return () => {
      later.stop();
      for (const unsubscribe of unsubscribes) unsubscribe();
    };
  };
}

/**
 * Core releases: published here (the secretariat) or arrived verified from the secretariat (a hub):
 * the releases as they are now against those last seen, whenever the core's verified view moves or
 * this node commits.
 */
export function releaseEvents(init: {
  isSecretariat: boolean;
  core: Pick<CoreSource, "releases">;
  documents: Pick<OwnedDocuments, "onCommit">;
  views: Pick<VerifiedViews, "onApplied">;
  logger: Logger;
  coalesceMs?: number;
}): EventSource {
  return (emit) => {
    const seen = new Set<string>();
    let first = true;
    const action = init.isSecretariat ? "published" : "arrived";
    const compare = async () => {
      for (const release of await init.core.releases()) {
        const key = `${release.version}@${release.seq}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (first) continue;
        emit({
          kind: "release",
          action,
          subject: release.version,
          summary: init.isSecretariat
            ? `core release ${release.version} published`
            : `core release ${release.version} arrived from the secretariat, verified`,
        });
      }
      first = false;
    };
    const later = coalesced(init.coalesceMs ?? COALESCE_MS, compare, init.logger);
    later.now();
    const unsubscribes = [
      init.documents.onCommit(() => later.schedule()),
      // Only the core's own view carries releases: other members' views need no new look.
      init.views.onApplied((view) => {
        if (documentTypeOf(view.doc) === DocumentType.Core) later.schedule();
      }),
    ];
    return () => {
      later.stop();
      for (const unsubscribe of unsubscribes) unsubscribe();
    };
  };
}

/** Peers connecting and disconnecting, per transport. */
export function peerEvents(network: Pick<NodeNetwork, "onPeer">): EventSource {
  return (emit) =>
    network.onPeer((change) =>
      emit({
        kind: "peer",
        action: change.event,
        subject: change.peerId,
        hub: change.hub,
        summary: `peer ${change.hub || "(not a member)"} ${change.event} over ${change.transport}`,
      }),
    );
}

/**
 * Checkpoints of members' documents: each rejection at once; verifications gathered per member over
 * `coalesceMs` (a member's heartbeat verifies a checkpoint per document), one event per member.
 */
export function checkpointEvents(init: {
  views: Pick<VerifiedViews, "onApplied" | "onRejected">;
  logger: Logger;
  coalesceMs?: number;
}): EventSource {
  return (emit) => {
    const pending = new Map<string, { count: number; seq: number }>();
    const flush = () => {
      for (const [hub, { count, seq }] of pending) {
        emit({
          kind: "checkpoint",
          action: "verified",
          hub,
          subject: String(seq),
          summary: `verified ${count} checkpoint${count === 1 ? "" : "s"} of ${hub} (newest seq ${seq})`,
        });
      }
      pending.clear();
    };
    const later = coalesced(init.coalesceMs ?? COALESCE_MS, flush, init.logger);
    const unsubscribes = [
      init.views.onApplied((view: VerifiedView) => {
        const entry = pending.get(view.hub) ?? { count: 0, seq: 0 };
        entry.count += 1;
        entry.seq = Math.max(entry.seq, view.checkpoint.seq);
        pending.set(view.hub, entry);
        later.schedule();
      }),
      init.views.onRejected((rejection: Rejection) =>
        emit({
          kind: "checkpoint",
          action: "rejected",
          hub: rejection.hub,
          subject: rejection.documentId,
          summary: `rejected a checkpoint of ${rejection.hub}: ${rejection.reason}`,
        }),
      ),
    ];
    return () => {
      later.stop();
      for (const unsubscribe of unsubscribes) unsubscribe();
    };
  };
}

/** Members admitted, removed or re-keyed: the charter as now against the charter as last seen. */
export function memberEvents(membership: Pick<Membership, "onChange" | "members">): EventSource {
  return (emit) => {
    const seen = new Map<string, { removed: boolean; keys: number }>();
    const compare = (quiet: boolean) => {
      for (const member of membership.members()) {
        const now = { removed: member.removedAt !== undefined && member.removedAt !== "", keys: member.keys.length };
        const before = seen.get(member.hub);
        seen.set(member.hub, now);
        if (quiet) continue;
        const report = (action: string, summary: string) =>
          emit({ kind: "member", action, hub: member.hub, subject: member.hub, summary });
        if (!before) report("admitted", `${member.hub} admitted to the federation`);
        else if (now.removed && !before.removed) report("removed", `${member.hub} removed from the federation`);
        else if (now.keys > before.keys) report("key-rotated", `${member.hub} rotated its key`);
      }
    };
    compare(true);
    return membership.onChange(() => compare(false));
  };
}

/** Trainers of this hub added, changed or removed (an import is one event). */
export function rosterEvents(roster: Pick<Roster, "onChange">): EventSource {
  return (emit) =>
    roster.onChange((change) => {
      if (change.action === "imported") {
        const n = change.ids.length;
        emit({
          kind: "roster",
          action: "imported",
          subject: n === 1 ? (change.ids[0] as string) : "",
          summary: `${n} trainer${n === 1 ? "" : "s"} imported into the roster`,
        });
        return;
      }
      for (const id of change.ids) {
        emit({ kind: "roster", action: change.action, subject: id, summary: `trainer ${id} ${change.action}` });
      }
    });
}

/** The curriculum's writes; adopting a release is reported as a release event. */
export function curriculumEvents(curriculum: Pick<Curriculum, "onChange">): EventSource {
  return (emit) =>
    curriculum.onChange((change) => {
      if (change.action === "adopted") {
        emit({
          kind: "release",
          action: "adopted",
          subject: change.subject,
          summary: `this hub adopted core release ${change.subject}`,
        });
        return;
      }
      const [record, verb] = change.action.split("-") as [string, string];
      emit({
        kind: "curriculum",
        action: change.action,
        subject: change.subject,
        summary: `${record} ${change.subject} ${verb}`,
      });
    });
}
