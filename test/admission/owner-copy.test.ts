import { join } from "node:path";
import * as A from "@automerge/automerge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupCommand, restoreCommand } from "../../cli/commands/backup.js";
import { decodeTrainer } from "../../node/roster/records.js";
import {
  draft,
  logEntries,
  startFederationWith,
  waitForForeignTrainer,
  waitUntil,
  type FederationNode,
  type StartedFederation,
} from "../helpers/federation.js";
import { makeTempDir, makeTrainer, startTestNode, type TestNode } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

type Trainers = { trainers: Record<string, unknown> };

/** The roster shard holding `trainerId` at a node (its key, id and authoring copy). */
function shardOf(node: TestNode, trainerId: string) {
  const { documents } = node.running;
  const shard = documents
    .describe()
    .find((d) => d.header.type === "roster" && Object.hasOwn((documents.get(d.key) as Trainers).trainers, trainerId));
  if (!shard) throw new Error(`no shard holds ${trainerId}`);
  return shard;
}

/**
 * What a node trusts of its own documents is its authoring copy and what it signed, never the
 * Repo's copy: a change that got into the Repo's copy (below admission, as before it existed) can
 * neither turn a durable write into an error nor stop the node from starting.
 */
describe("the owner's Repo copy", () => {
  let node: TestNode;

  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node?.cleanup();
  });

  it("a conflicting change in it does not fail a write that is durable, and the next start rebuilds it from the authoring copy", async () => {
    await node.clients(node.adminToken).trainers.addTrainer({ trainer: makeTrainer("O-1") });
    const shard = shardOf(node, "O-1");
    // The attack admission now refuses, done from inside: a change under the authoring copy's actor
    // with its next seq, straight into the Repo's copy.
    const authoring = node.running.documents.get<Trainers>(shard.key);
    const last = A.decodeChange(A.getLastLocalChange(authoring) as Uint8Array);
    const forged = A.change(A.clone(authoring, { actor: last.actor }), (d) => {
      d.trainers.FORGED = "x";
    });
    const { replica } = node.running;
    await waitUntil("the shard in the Repo", () => replica.heads(shard.id) !== undefined);
    await replica.apply(shard.id, A.getLastLocalChange(forged) as Uint8Array);
    const forgedHeads = A.getHeads(forged);
    expect(await replica.hasHeads(shard.id, forgedHeads)).toBe(true);

    // The next write is acknowledged and durable (the Repo's copy refuses it: duplicate seq)…
    const updated = await node.clients(node.adminToken).trainers.updateTrainer({
      trainer: makeTrainer("O-1", { displayName: "After the forgery" }),
      updateMask: ["display_name"],
    });
    expect(updated.displayName).toBe("After the forgery");
    const refused =
      "the Repo's copy refused a committed change; the change is durable, and the copy is rebuilt from the authoring copy at the next start";
    await waitUntil("the Repo's copy to refuse the write", () => logEntries(node, refused).length > 0);
    expect(logEntries(node, refused)).toHaveLength(1);
    // …and the node starts again, its Repo copy rebuilt from what it wrote, without the forgery.
    await node.restart();
    const got = await node.clients(node.adminToken).trainers.getTrainer({ id: "O-1" });
    expect(got.displayName).toBe("After the forgery");
    const restarted = node.running.replica;
    const rebuilt = await waitUntil("the rebuilt shard in the Repo", () => restarted.heads(shard.id));
    expect(await restarted.hasHeads(shard.id, forgedHeads)).toBe(false);
    expect([...rebuilt].sort()).toEqual(A.getHeads(node.running.documents.get(shard.key)).sort());
    // What the Repo stores of it was rebuilt too: nothing stale waits there for a later load.
    await restarted.flush();
    let stored = A.init<Trainers>();
    for (const { data } of await node.running.repoStorage.loadRange([shard.id]))
      if (data && data.byteLength > 0) stored = A.loadIncremental(stored, data);
    expect(A.getHeads(stored).length).toBeGreaterThan(0);
    expect(A.hasHeads(stored, forgedHeads)).toBe(false);
  });
});

/**
 * A node restored from an older backup writes under a fresh actor (every start loads the authoring
 * copy with a new one), so it never reuses a sequence number its peers already hold from the writes
 * it made after the backup: they keep taking its writes.
 */
describe("a hub restored from an older backup", () => {
  let fed: StartedFederation;
  let restored: TestNode | undefined;
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b"],
      [
        ["a", "s"],
        ["b", "s"],
        ["b", "a"],
      ],
    );
  });
  afterAll(async () => {
    await restored?.cleanup();
    await fed?.stop();
  });

  it("keeps reaching its peers with new writes, without a duplicate sequence number anywhere", async () => {
    await a().node.running.roster.add(draft("R-1"), "op");
    const dir = await makeTempDir("concordat-restore-");
    const file = join(dir, "a.backup");
    await backupCommand({ data: a().node.dataDir, out: file }, memoryIo());
    // Written after the backup: the peers hold these changes, the backup does not.
    await a().node.running.roster.add(draft("R-2"), "op");
    await a().node.running.roster.update({ ...draft("R-1"), displayName: "Lost edit" }, ["display_name"], "op");
    await waitForForeignTrainer(b(), a(), "R-1", (name) => name === "Lost edit");
    const actorBefore = A.decodeChange(
      A.getLastLocalChange(a().node.running.documents.get(shardOf(a().node, "R-1").key)) as Uint8Array,
    ).actor;
    const env = a().node.env;
    await a().node.stop();
    const restoredDir = join(dir, "restored");
    await restoreCommand({ file, data: restoredDir }, memoryIo());
    restored = await startTestNode({ dataDir: restoredDir, env });
    await restored.running.roster.update({ ...draft("R-1"), displayName: "After the restore" }, ["display_name"], "op");
    const shard = shardOf(restored, "R-1");
    const actorAfter = A.decodeChange(
      A.getLastLocalChange(restored.running.documents.get(shard.key)) as Uint8Array,
    ).actor;
    expect(actorAfter).not.toBe(actorBefore);
    // The peers' copies hold both branches (the lost edits and the new ones, all signed by a); what
    // they serve is a's newest checkpoint, which is the restored history.
    const served = (reader: FederationNode, id: string) => {
      const view = reader.node.running.views.view(shardOf(restored as TestNode, id).id)?.doc as Trainers | undefined;
      const record = view?.trainers[id];
      return record === undefined ? undefined : decodeTrainer(record).displayName;
    };
    await restored.running.checkpointer.flush();
    await waitUntil("b to serve a's edit after the restore", () => served(b(), "R-1") === "After the restore", 20_000);
    await restored.running.roster.add(draft("R-3"), "op");
    await restored.running.checkpointer.flush();
    await waitUntil(
      "s to serve a's trainer added after the restore",
      () => served(fed.byName("s"), "R-3") !== undefined,
      20_000,
    );
    // R-2 was written after the backup: its shard at the restored node does not hold it.
    expect(() => shardOf(restored as TestNode, "R-2")).toThrow(/no shard holds/);
    for (const n of [b().node, fed.byName("s").node, restored]) {
      expect(n.logs.filter((l) => l.includes("duplicate seq"))).toEqual([]);
    }
  });
});
