/**
 * The documents `replication.adapters` syncs: a hub's roster of trainers, sharded and encoded exactly
 * as the node does it (node/roster/roster.ts, records.ts), and a small document for the change tests.
 *
 * The roster is what a fresh hub imported in one `ImportTrainers` call (what `concordat trainers
 * import` sends): the node starts a roster with `roster.shards` empty shard documents, and the import's
 * one transaction doubles the shard count until no shard holds more than `roster.maxPerShard`,
 * creates the new shard documents and writes every record, one Automerge change per document whose
 * message names the operator, the action and the trainers. Private parts are never replicated and
 * are left out.
 */
import { isDeepStrictEqual } from "node:util";
import * as A from "@automerge/automerge";
import { configSchema } from "../../node/config/index.js";
import { DocumentType, makeHeader } from "../../node/documents/index.js";
import { encodeTrainer } from "../../node/roster/records.js";
import {
  ACCREDITATION_STATUSES,
  CEFR_LEVELS,
  shardOf,
  validateTrainer,
  type RawTrainerDraft,
  type TrainerDraft,
} from "../../node/roster/index.js";
import type { AccreditationStatus, CefrLevel } from "../../node/roster/trainer.js";
import { makeFramework, makeHubs, profiles, toDraft } from "../availability/generate.js";

/** The roster settings a node runs with unless its config says otherwise (config/default.yaml). */
export function rosterDefaults(): { shards: number; maxPerShard: number } {
  return configSchema.shape.roster.parse(undefined);
}

/** The node's growth rule (Roster.#growth): double until every shard holds at most `maxPerShard`. */
export function shardCountFor(ids: readonly string[], initial: number, maxPerShard: number): number {
  let shards = initial;
  for (;;) {
    const counts = new Map<number, number>();
    for (const id of ids) counts.set(shardOf(id, shards), (counts.get(shardOf(id, shards)) ?? 0) + 1);
    if ([...counts.values()].every((c) => c <= maxPerShard) || shards >= 65_536) return shards;
    shards *= 2;
  }
}

export interface Roster {
  hub: string;
  trainers: number;
  shards: number;
  /** Each shard document, saved (A.save), in shard order. */
  saved: Uint8Array[];
  /** Each shard document's heads, in shard order. */
  heads: string[][];
  /** Trainers per shard. */
  perShard: number[];
  /** The stored records' JSON, summed: what the roster is, before Automerge. */
  recordBytes: number;
}

const meta = (operatorId: string, action: string, subjects: string[]) =>
  JSON.stringify({ operatorId, action, subjects });

/** A generated draft as the validated draft it is (checked against validateTrainer on a sample, below). */
function narrow(raw: RawTrainerDraft): TrainerDraft {
  const level = (l: string): CefrLevel => {
    const found = CEFR_LEVELS.find((x) => x === l);
    if (!found) throw new Error(`generated level ${l} is not a CEFR level`);
    return found;
  };
  const status = (st: string): AccreditationStatus => {
    const found = ACCREDITATION_STATUSES.find((x) => x === st);
    if (!found) throw new Error(`generated status ${st} is not an accreditation status`);
    return found;
  };
  return {
    ...raw,
    languages: raw.languages.map((l) => ({ tag: l.tag, level: level(l.level) })),
    accreditations: raw.accreditations.map((a) => ({ ...a, status: status(a.status) })),
  };
}

/**
 * `count` generated trainers of one hub (bench/availability/generate.ts, fixed seed). Every 20th is
 * validated as the node validates an import and must come out unchanged (validating all 10,000 takes
 * seconds and changes nothing).
 */
function trainers(seed: number, count: number): { hub: string; drafts: TrainerDraft[] } {
  const framework = makeFramework(seed);
  const [hub] = makeHubs(1);
  if (!hub) throw new Error("no hub generated");
  const drafts: TrainerDraft[] = [];
  for (const profile of profiles(seed, framework, [hub], count)) {
    const raw = toDraft(profile);
    const draft = narrow(raw);
    if (drafts.length % 20 === 0) {
      const { value, violations } = validateTrainer(raw, "");
      if (violations.length > 0)
        throw new Error(`generated trainer ${profile.id} does not validate: ${JSON.stringify(violations)}`);
      if (!isDeepStrictEqual(value, draft))
        throw new Error(`validating generated trainer ${profile.id} changes it: ${JSON.stringify(value)}`);
    }
    drafts.push(draft);
  }
  return { hub: hub.id, drafts };
}

type ShardDoc = { header: unknown; shard: number; shards: number; trainers: Record<string, A.ImmutableString> };

/** The roster of `count` trainers, built as a node builds it on one import into a fresh roster. */
export function makeRoster(seed: number, count: number): Roster {
  const { hub, drafts } = trainers(seed, count);
  const { shards: initial, maxPerShard } = rosterDefaults();
  const shards = shardCountFor(
    drafts.map((d) => d.id),
    initial,
    maxPerShard,
  );
  const create = (n: number, shardsThen: number): A.Doc<ShardDoc> =>
    A.change(A.init<ShardDoc>(), { message: meta("system", "document.create", [`roster/${n}`]) }, (d) => {
      Object.assign(d, { header: makeHeader(DocumentType.Roster, hub), shard: n, shards: shardsThen, trainers: {} });
    });
  // At start: `initial` shard documents. Then the import's transaction creates the others.
  const docs: Array<A.Doc<ShardDoc>> = [];
  for (let n = 0; n < shards; n += 1) docs.push(create(n, n < initial ? initial : shards));
  const byShard = new Map<number, TrainerDraft[]>();
  for (const d of drafts) {
    const n = shardOf(d.id, shards);
    const list = byShard.get(n) ?? [];
    list.push(d);
    byShard.set(n, list);
  }
  const now = new Date().toISOString();
  const time = Math.floor(Date.now() / 1000);
  let recordBytes = 0;
  for (let n = 0; n < shards; n += 1) {
    const list = byShard.get(n) ?? [];
    const records = list.map(
      (t) => [t.id, encodeTrainer({ ...t, homeHub: hub, updatedAt: now, updatedBy: "op-bench" })] as const,
    );
    for (const [, record] of records) recordBytes += Buffer.byteLength(record.val);
    docs[n] = A.change(
      docs[n] as A.Doc<ShardDoc>,
      {
        message: meta(
          "op-bench",
          "trainer.import",
          list.map((t) => t.id),
        ),
        time,
      },
      (d) => {
        if (shards !== initial) d.shards = shards; // the growth edit, on every shard
        for (const [id, record] of records) d.trainers[id] = record;
      },
    );
  }
  return {
    hub,
    trainers: drafts.length,
    shards,
    saved: docs.map((d) => A.save(d)),
    heads: docs.map((d) => A.getHeads(d)),
    perShard: Array.from({ length: shards }, (_, n) => (byShard.get(n) ?? []).length),
    recordBytes,
  };
}

/** The small document of the change tests: one field that each change sets. */
export interface Counter {
  value: number;
}
