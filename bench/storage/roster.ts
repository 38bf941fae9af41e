/**
 * A hub's roster of N trainers, made by the node's own code: a NodeStore, OwnedDocuments and a Roster
 * with the default configuration (config/default.yaml: 4 shards, a shard past 2,000 trainers doubles
 * them), into which one `Roster.import` writes every trainer, as `concordat roster import` does. The
 * shard count is whatever the Roster's growth rule reached (10,000 trainers: 8 shards). What the
 * benchmark stores through each adapter is the Repo's copy of each public shard document
 * (`roster/n`); the private shards never enter the Repo.
 *
 * The trainers are those of availability/generate.ts (same seed, same hub), as roster drafts
 * (`toDraft`), so each record is the canonical JSON ImmutableString of node/roster/records.ts.
 */
import { openBenchHub } from "./hub.js";
import type { DocumentId } from "@automerge/automerge-repo";
import type { ImportRowInput } from "../../node/roster/index.js";
import { makeFramework, makeHubs, profiles, toDraft } from "../availability/generate.js";
import { idsDigest, type RosterShardDoc } from "./adapters.js";

export interface RosterShard {
  id: DocumentId;
  /** The Repo's copy, as `Repo.export` gives it (Automerge.save). */
  bytes: Uint8Array;
}

export interface BuiltRoster {
  trainers: number;
  shards: RosterShard[];
  /** SHA-256 of the sorted trainer ids over every shard: what a load must find. */
  idsDigest: string;
  /** Per-shard trainer counts. */
  shardSizes: number[];
  initialShards: number;
  maxPerShard: number;
  buildMs: number;
}

export async function buildRoster(dir: string, trainers: number, seed: number): Promise<BuiltRoster> {
  const start = performance.now();
  // As node/components.ts opens them: the store, the Repo in the replica worker, the documents.
  const { config, replica, documents, roster, close } = await openBenchHub(dir, { hubId: "hub-bench", sync: false });
  try {
    const framework = makeFramework(seed);
    const [hub] = makeHubs(1);
    if (!hub) throw new Error("no hub");
    const rows: ImportRowInput[] = [];
    for (const p of profiles(seed, framework, [hub], trainers))
      rows.push({ line: rows.length + 2, trainer: toDraft(p) });
    const outcome = await roster.import(rows, { skipInvalid: false, dryRun: false, upsert: false }, "bench");
    if (!outcome.committed || outcome.imported !== trainers) {
      throw new Error(
        `the roster import took ${outcome.imported} of ${trainers} trainers: ${JSON.stringify(outcome.errors.slice(0, 3))}`,
      );
    }
    await documents.ensure(roster.documentSpecs());

    const shards: RosterShard[] = [];
    const ids: string[] = [];
    for (let n = 0; n < roster.shardCount; n += 1) {
      const id = documents.idOf(`roster/${n}`);
      const bytes = await replica.export(id);
      if (!bytes) throw new Error(`the Repo holds no copy of roster/${n}`);
      shards.push({ id, bytes });
      ids.push(...Object.keys(documents.get<RosterShardDoc>(`roster/${n}`).trainers));
    }
    if (ids.length !== trainers)
      throw new Error(`the roster's shards hold ${ids.length} trainers, expected ${trainers}`);
    const built: BuiltRoster = {
      trainers,
      shards,
      idsDigest: idsDigest(ids),
      shardSizes: roster.shardSizes(),
      initialShards: config.roster.shards,
      maxPerShard: config.roster.maxPerShard,
      buildMs: 0,
    };
    await documents.idle();
    await replica.flush();
    built.buildMs = performance.now() - start;
    return built;
  } finally {
    await close();
  }
}
