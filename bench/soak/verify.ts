/**
 * What every hub holds, read through the API, and what must hold of it:
 *
 * - at each trainer's owner (ListTrainers): exactly what the acknowledged writes left — a trainer
 *   present with the last acknowledged content, or absent after an acknowledged remove; a write
 *   whose call was cut by the kill may have happened or not (either is accepted). A difference is a
 *   lost (or phantom) write: it never converges away;
 * - at every other member (FindAvailableTrainers for the owner's hub, in a window every trainer
 *   declares free): the owner's trainers, with their names, as of its latest verified checkpoint;
 * - every acknowledged booking request at its requester (a missing one is lost), answered there
 *   (not pending) and at the home hub with the same state; no request the soak did not make;
 * - every member's newest verified checkpoint of each owner from the same signing (GetStatus);
 * - every member's copy of each owner's roster, outbox, engagements and directory documents at the
 *   owner's heads (ListPeers with documents, against the owner's GetStatus).
 *
 * And of the bookings, whenever they are read: no two confirmed engagements of one trainer overlap
 * (at the home hub, and across what the requesters see), and every decline for `overlap` overlaps
 * a confirmed engagement.
 */
import { decodeHeads, type UrlHeads } from "@automerge/automerge-repo";
import type { FindAvailableTrainersResponse } from "../../node/api/generated/concordat/v1/availability.js";
import type { Booking } from "../../node/api/generated/concordat/v1/bookings.js";
import type { GetStatusResponse } from "../../node/api/generated/concordat/v1/node.js";
import type { Trainer } from "../../node/api/generated/concordat/v1/trainers.js";
import type { Cluster, Member } from "./cluster.js";
import { describeError } from "../../node/api/index.js";
import { findAll, listAllTrainers } from "../lib/api.js";
import { canonical, overlaps, PROBE, stateOf, type TrainerState } from "./model.js";
import { Workload } from "./workload.js";

const CHECKED_TYPES = new Set(["roster", "outbox", "engagements", "directory"]);

export interface Snapshot {
  /** Owner's roster: hub → id → trainer. */
  rosters: Map<string, Map<string, Trainer>>;
  /** reader → owner hub → id → display name (FindAvailableTrainers in PROBE). */
  views: Map<string, Map<string, Map<string, string>>>;
  /** hub → every booking it lists (both directions). */
  bookings: Map<string, Booking[]>;
  statuses: Map<string, GetStatusResponse>;
  /** reader → document id → its heads (ListPeers with documents). */
  heads: Map<string, Map<string, string[]>>;
  /** Calls that failed while reading (a member down or slow): the snapshot is incomplete. */
  readErrors: string[];
}

export interface Problems {
  /** Acknowledged writes the owner (or requester) does not hold, or holds differently. */
  lost: string[];
  /** Trainers or bookings nobody wrote. */
  phantom: string[];
  /** Replication not (yet) where it must end: views, answers, checkpoints, heads. */
  lagging: string[];
  doubleBookings: string[];
  /** Answers that contradict the rules (a decline for overlap with nothing confirmed it overlaps). */
  inconsistent: string[];
  readErrors: string[];
}

export function problemCount(p: Problems): number {
  return (
    p.lost.length +
    p.phantom.length +
    p.lagging.length +
    p.doubleBookings.length +
    p.inconsistent.length +
    p.readErrors.length
  );
}

async function settle<T>(what: string, errors: string[], promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    errors.push(`${what}: ${describeError(error)}`);
    return undefined;
  }
}

/** Reads everything the checks need from every member (hubs in parallel, each member's calls in turn). */
export async function snapshot(cluster: Cluster): Promise<Snapshot> {
  const out: Snapshot = {
    rosters: new Map(),
    views: new Map(),
    bookings: new Map(),
    statuses: new Map(),
    heads: new Map(),
    readErrors: [],
  };
  const owners = cluster.hubs;
  await Promise.all(
    cluster.members.map(async (m) => {
      const errors = out.readErrors;
      if (!m.secretariat) {
        const list = await settle(`${m.hub} ListTrainers`, errors, listAllTrainers(m.client));
        if (list) out.rosters.set(m.hub, new Map(list.map((t) => [t.id, t])));
        const bookings = await settle(
          `${m.hub} ListBookings`,
          errors,
          m.client.bookings.listBookings({ direction: "", state: "", trainerId: "" }),
        );
        if (bookings) out.bookings.set(m.hub, bookings.bookings);
      }
      const views = new Map<string, Map<string, string>>();
      for (const owner of owners) {
        if (owner === m) continue;
        const found: FindAvailableTrainersResponse["trainers"] | undefined = await settle(
          `${m.hub} FindAvailableTrainers hub=${owner.hub}`,
          errors,
          findAll(m.client, { hub: owner.hub, from: PROBE.from, to: PROBE.to }),
        );
        if (found) views.set(owner.hub, new Map(found.map((t) => [t.trainerId, t.displayName])));
      }
      out.views.set(m.hub, views);
      const status = await settle(`${m.hub} GetStatus`, errors, m.client.node.getStatus({}));
      if (status) out.statuses.set(m.hub, status);
      const peers = await settle(`${m.hub} ListPeers`, errors, m.client.node.listPeers({ includeDocuments: true }));
      if (peers) {
        const heads = new Map<string, string[]>();
        // ListPeers gives automerge-repo's URL heads (bs58check); GetStatus gives Automerge's hex heads.
        for (const d of peers.documents) heads.set(d.documentId, decodeHeads(d.heads as UrlHeads));
        out.heads.set(m.hub, heads);
      }
    }),
  );
  return out;
}

const sameHeads = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((h, i) => h === [...b].sort()[i]);

/** Checks a snapshot against the workload's model; the problems found, by kind (first ones named). */
export function check(cluster: Cluster, workload: Workload, snap: Snapshot): Problems {
  const p: Problems = {
    lost: [],
    phantom: [],
    lagging: [],
    doubleBookings: [],
    inconsistent: [],
    readErrors: [...snap.readErrors],
  };
  const describe = (s: TrainerState | undefined) => (s ? s.displayName : "absent");

  // 1. Each owner holds exactly what the acknowledged writes left.
  for (const owner of cluster.hubs) {
    const roster = snap.rosters.get(owner.hub);
    if (!roster) continue;
    const known = new Set<string>();
    for (const t of workload.trainers.values()) {
      if (t.hub !== owner.hub) continue;
      known.add(t.id);
      const held = roster.get(t.id);
      const heldState = held ? stateOf(held) : undefined;
      const matches = (s: TrainerState | undefined) =>
        s === undefined ? held === undefined : held !== undefined && canonical(s) === canonical(stateOf(held));
      if (t.possible) {
        if (!t.possible.some(matches))
          p.lost.push(
            `${owner.hub}/${t.id}: the owner holds ${describe(heldState)}, expected one of ${t.possible.map(describe).join(" | ")} (a write cut by the kill)`,
          );
      } else if (!matches(t.state)) {
        p.lost.push(
          `${owner.hub}/${t.id}: the owner holds ${held ? canonical(stateOf(held)) : "nothing"}, the last acknowledged write left ${t.state ? canonical(t.state) : "it removed"}`,
        );
      }
    }
    for (const id of roster.keys())
      if (!known.has(id)) p.phantom.push(`${owner.hub}/${id}: at its owner, never written by the soak`);
  }

  // 2. Every other member sees each owner's roster (ids and names) as the owner holds it.
  for (const [reader, views] of snap.views) {
    for (const [ownerHub, view] of views) {
      const roster = snap.rosters.get(ownerHub);
      if (!roster) continue;
      const missing = [...roster.values()].filter((t) => view.get(t.id) !== t.displayName);
      const extra = [...view.keys()].filter((id) => !roster.has(id));
      if (missing.length > 0 || extra.length > 0) {
        p.lagging.push(
          `${reader} sees ${ownerHub}'s roster differently: ${missing.length} missing or older (e.g. ${missing
            .slice(0, 2)
            .map((t) => `${t.id} '${view.get(t.id) ?? "absent"}' vs '${t.displayName}'`)
            .join(", ")}), ${extra.length} removed still shown (${extra.slice(0, 3).join(", ")})`,
        );
      }
    }
  }

  // 3. Bookings: every acknowledged request at its requester, answered, the same at the home hub.
  const byHub = (hub: string, direction: "outgoing" | "incoming") =>
    new Map(
      (snap.bookings.get(hub) ?? [])
        .filter((b) => b.direction === direction || b.direction === "both")
        .map((b) => [b.key, b]),
    );
  const outgoing = new Map(cluster.hubs.map((m) => [m.hub, byHub(m.hub, "outgoing")]));
  const incoming = new Map(cluster.hubs.map((m) => [m.hub, byHub(m.hub, "incoming")]));
  for (const r of workload.requests.values()) {
    if (!snap.bookings.has(r.requester) || !snap.bookings.has(r.trainerHub)) continue;
    const atRequester = outgoing.get(r.requester)?.get(r.key);
    const atHome = incoming.get(r.trainerHub)?.get(r.key);
    if (!atRequester) {
      if (r.ack === "acked") p.lost.push(`booking ${r.key}: acknowledged, not in its requester's outbox`);
      else if (atHome)
        p.lost.push(
          `booking ${r.key}: the home hub ${r.trainerHub} answered it (${atHome.state}) but its requester no longer holds it`,
        );
      continue;
    }
    const req = atRequester.request;
    if (
      req &&
      (req.trainerHub !== r.trainerHub ||
        req.trainerId !== r.trainerId ||
        Date.parse(req.from) !== Date.parse(r.from) ||
        Date.parse(req.to) !== Date.parse(r.to))
    ) {
      p.lost.push(
        `booking ${r.key}: its requester holds ${req.trainerHub}/${req.trainerId} ${req.from}–${req.to}, the soak asked ${r.trainerHub}/${r.trainerId} ${r.from}–${r.to}`,
      );
    }
    if (!atHome) p.lagging.push(`booking ${r.key}: not (yet) at its home hub ${r.trainerHub}`);
    else if (atHome.state === "pending")
      p.lagging.push(`booking ${r.key}: still pending at its home hub ${r.trainerHub}`);
    else if (atRequester.state !== atHome.state)
      p.lagging.push(`booking ${r.key}: ${atHome.state} at ${r.trainerHub}, ${atRequester.state} at its requester`);
  }
  for (const [hub, bookings] of incoming) {
    for (const key of bookings.keys())
      if (!workload.requests.has(key)) p.phantom.push(`booking ${key} at ${hub}: never requested by the soak`);
  }
  for (const [hub, bookings] of outgoing) {
    for (const key of bookings.keys())
      if (!workload.requests.has(key)) p.phantom.push(`booking ${key} in ${hub}'s outbox: never requested by the soak`);
  }
  p.doubleBookings.push(...doubleBookings(snap));
  p.inconsistent.push(...inconsistentDeclines(snap));

  // 4. Every member verified the same newest checkpoint of each owner. Compared by its signed time:
  // GetStatus's verified_seq is the seq of *a* view with the newest time, and the documents of one
  // batch share a time, so two members holding the same views may name different seqs of it.
  for (const owner of cluster.members) {
    const times = new Map<string, string>();
    for (const [reader, status] of snap.statuses) {
      if (reader === owner.hub) continue;
      times.set(reader, status.members.find((x) => x.hub === owner.hub)?.verifiedTime ?? "");
    }
    const distinct = new Set(times.values());
    if (distinct.size > 1 || distinct.has("")) {
      const newest = [...distinct].sort().at(-1) ?? "";
      p.lagging.push(
        `${owner.hub}'s newest verified checkpoint: ${[...times]
          .filter(([, t]) => t !== newest)
          .map(([r, t]) => `${r} at ${t || "none"}`)
          .join(", ")}; others at ${newest}`,
      );
    }
  }

  // 5. Every member's copy of each owner's documents at the owner's heads.
  for (const owner of cluster.members) {
    const status = snap.statuses.get(owner.hub);
    if (!status) continue;
    for (const doc of status.documents) {
      if (!doc.replicated || !CHECKED_TYPES.has(doc.type)) continue;
      const behind: string[] = [];
      for (const reader of cluster.members) {
        if (reader === owner) continue;
        const heads = snap.heads.get(reader.hub);
        if (!heads) continue;
        const theirs = heads.get(doc.id);
        if (!theirs || !sameHeads(theirs, doc.heads)) behind.push(`${reader.hub}${theirs ? "" : " (not listed)"}`);
      }
      if (behind.length > 0)
        p.lagging.push(
          `${owner.hub}'s ${doc.type} ${doc.id.slice(0, 8)}…: not at the owner's heads at ${behind.join(", ")}`,
        );
    }
  }
  return p;
}

/** Confirmed engagements of one trainer that overlap: at its home hub, and across its requesters' views. */
export function doubleBookings(snap: Snapshot): string[] {
  const out: string[] = [];
  const scan = (where: string, list: Booking[]) => {
    const byTrainer = new Map<string, Booking[]>();
    for (const b of list) {
      if (b.state !== "confirmed" || !b.request) continue;
      const k = `${b.request.trainerHub}/${b.request.trainerId}`;
      byTrainer.set(k, [...(byTrainer.get(k) ?? []), b]);
    }
    for (const [trainer, confirmed] of byTrainer) {
      for (const [i, x] of confirmed.entries()) {
        for (const y of confirmed.slice(i + 1)) {
          if (x.key !== y.key && x.request && y.request && overlaps(x.request, y.request))
            out.push(
              `${where}: ${trainer} confirmed for ${x.key} (${x.request.from}–${x.request.to}) and ${y.key} (${y.request.from}–${y.request.to})`,
            );
        }
      }
    }
  };
  for (const [hub, list] of snap.bookings)
    scan(
      `at home hub ${hub}`,
      list.filter((b) => b.direction !== "outgoing"),
    );
  // What the requesters see, together (each request once, as its requester sees it).
  const seen = new Map<string, Booking>();
  for (const list of snap.bookings.values()) for (const b of list) if (b.direction !== "incoming") seen.set(b.key, b);
  scan("across the requesters", [...seen.values()]);
  return out;
}

/** Declines for `overlap` with no confirmed engagement of the trainer they overlap (at the home hub). */
export function inconsistentDeclines(snap: Snapshot): string[] {
  const out: string[] = [];
  for (const [hub, list] of snap.bookings) {
    const mine = list.filter((b) => b.direction !== "outgoing" && b.request);
    for (const d of mine) {
      if (d.state !== "declined" || d.answer?.reason !== "overlap" || !d.request) continue;
      const req = d.request;
      const clash = mine.some(
        (c) =>
          c.state === "confirmed" && c.request && c.request.trainerId === req.trainerId && overlaps(c.request, req),
      );
      if (!clash)
        out.push(
          `at ${hub}: ${d.key} declined for overlap, but no confirmed engagement of ${req.trainerId} overlaps ${req.from}–${req.to}`,
        );
    }
  }
  return out;
}

export interface HistoryCheck {
  /** Live trainers whose history was read at their owner. */
  trainers: number;
  /** Acknowledged adds and updates those histories cover. */
  writes: number;
  /** Histories with fewer entries than acknowledged writes (a lost write), or more than the writes made. */
  problems: string[];
}

/** Each live trainer's history at its owner has an entry for every acknowledged add and update. */
export async function checkHistories(cluster: Cluster, workload: Workload, parallel = 4): Promise<HistoryCheck> {
  const out: HistoryCheck = { trainers: 0, writes: 0, problems: [] };
  const queue = [...workload.trainers.values()].filter((t) => t.state && !t.possible);
  const byHub = new Map(cluster.hubs.map((m) => [m.hub, m]));
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let t = queue.shift(); t; t = queue.shift()) {
        const owner = byHub.get(t.hub) as Member;
        try {
          const entries = (await owner.client.trainers.getTrainerHistory({ id: t.id })).entries.length;
          out.trainers += 1;
          out.writes += t.ackedWrites;
          if (entries < t.ackedWrites)
            out.problems.push(
              `${Workload.key(t.hub, t.id)}: ${entries} history entries at its owner, ${t.ackedWrites} acknowledged writes`,
            );
          else if (entries > t.ackedWrites + t.unknownWrites)
            out.problems.push(
              `${Workload.key(t.hub, t.id)}: ${entries} history entries at its owner, only ${t.ackedWrites} writes made`,
            );
        } catch (error) {
          out.problems.push(`${Workload.key(t.hub, t.id)}: history: ${describeError(error)}`);
        }
      }
    }),
  );
  return out;
}
