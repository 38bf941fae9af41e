import * as A from "@automerge/automerge";
import type { DocumentId } from "@automerge/automerge-repo";
import { join } from "node:path";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointKind, signCheckpoint } from "../../node/authority/index.js";
import { loadIdentityFile } from "../../node/identity/index.js";
import {
  federationAdmitCommand,
  federationListCommand,
  federationRemoveCommand,
  federationRotateKeyCommand,
} from "../../cli/commands/federation.js";
import { keysRotateCommand } from "../../cli/commands/keys.js";
import {
  draft,
  startFederationWith,
  waitForCharter,
  waitForLog,
  waitUntil,
  type FederationNode,
  type StartedFederation,
} from "../helpers/federation.js";
import { memoryIo } from "../helpers/io.js";
import { changeReplicaCopy } from "../helpers/replica.js";

type Trainers = { trainers: Record<string, unknown> };
type Directory = { checkpoints: Record<string, unknown> };

/** The CLI's connection options for a node (its API address and admin token). */
const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });

/** The roster shard of `owner` that holds `trainerId`, by document id. */
function shardOf(owner: FederationNode, trainerId: string): { id: DocumentId; key: string } {
  const { documents } = owner.node.running;
  const shard = documents
    .describe()
    .find((d) => d.header.type === "roster" && Object.hasOwn((documents.get(d.key) as Trainers).trainers, trainerId));
  if (!shard) throw new Error(`no shard holds ${trainerId}`);
  return shard;
}

function viewHas(reader: FederationNode, owner: FederationNode, trainerId: string): boolean {
  const view = reader.node.running.views.view(shardOf(owner, trainerId).id);
  return view !== undefined && Object.hasOwn((view.doc as Trainers).trainers, trainerId);
}

/** Writes a signed checkpoint entry into `reader`'s copy of `owner`'s directory, as a relay would deliver it. */
async function relayCheckpoint(
  reader: FederationNode,
  directoryId: DocumentId,
  documentId: string,
  entry: unknown,
): Promise<void> {
  await changeReplicaCopy<Directory>(reader.node.running, directoryId, (d) => {
    d.checkpoints[documentId] = new A.ImmutableString(JSON.stringify(entry));
  });
}

/**
 * Membership from the signed charter: the secretariat (s) admits, removes and re-keys hubs; every
 * node's allow-list, dial targets and document owners follow the charter it verified.
 * s is the secretariat; a and b dial s, b also dials a; n is initialised with s as its trust anchor
 * but not admitted at first.
 */
describe("membership from the charter", () => {
  let fed: StartedFederation;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");
  const n = () => fed.byName("n");

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b", "n"],
      [
        ["a", "s"],
        ["b", "s"],
        ["b", "a"],
        ["n", "s"],
      ],
      { notAdmitted: ["n"] },
    );
    await a().node.running.roster.add(draft("M-A1"), "op");
    await b().node.running.roster.add(draft("M-B1"), "op");
    await Promise.all([a(), b()].map((x) => x.node.running.checkpointer.flush()));
    await waitUntil("a to hold b's verified roster", () => viewHas(a(), b(), "M-B1"), 15_000);
  }, 60_000);
  afterAll(async () => {
    await fed?.stop();
  });

  it("a hub the charter does not list is refused, even with the secretariat as its trust anchor; admitted, it joins", async () => {
    await waitForLog(s().node, "refused a peer that is not allowed", (e) => e.peer === n().peerId, 0, 15_000);
    expect(n().node.running.membership.state).toBeUndefined();
    expect(
      s()
        .node.running.network.peers()
        .some((p) => p.peerId === n().peerId),
    ).toBe(false);

    // The secretariat admits n, with its address: s dials it, and n learns the charter from s.
    const io = memoryIo(false);
    const address = n()
      .node.running.network.libp2pAddresses()[0]
      ?.replace(/\/p2p\/.*$/, "") as string;
    await federationAdmitCommand(
      { ...cli(s()), hub: n().hub, peerId: n().peerId, addresses: [address], name: "Newcomer", region: "EU" },
      io,
    );
    expect(io.out()).toContain(`Admitted '${n().hub}' (Newcomer, EU)`);
    await waitForCharter(n(), (members) => members.some((m) => m.hub === n().hub), 15_000);
    expect(n().node.running.membership.source?.kind).toBe("verified");
    // n now replicates: it verifies a's roster through s.
    await waitUntil("n to verify a's roster", () => viewHas(n(), a(), "M-A1"), 15_000);

    // Everyone lists the same members.
    await waitUntil("b to trust the charter admitting n", () => b().node.running.membership.member(n().hub), 15_000);
    const list = memoryIo(true);
    await federationListCommand(cli(b()), list);
    const members = (JSON.parse(list.out()) as { members: Array<{ hub: string; role: string }> }).members;
    expect(members.map((m) => m.hub).sort()).toEqual([a().hub, b().hub, n().hub, s().hub].sort());
    expect(members.find((m) => m.hub === s().hub)?.role).toBe("secretariat");

    // Bad input is refused with the field named, and nothing is written.
    const before = A.getHeads(s().node.running.documents.get("charter"));
    await expect(
      federationAdmitCommand({ ...cli(s()), hub: "Bad Id", peerId: "nope", addresses: ["somewhere"] }, memoryIo(false)),
    ).rejects.toThrow(
      /hub: 'Bad Id' is not a hub id.*peer_id: 'nope' is not an Ed25519 libp2p peer id.*addresses\[0\]/s,
    );
    await expect(
      federationAdmitCommand({ ...cli(s()), hub: a().hub, peerId: n().peerId, addresses: [] }, memoryIo(false)),
    ).rejects.toThrow(/already a member/);
    await expect(
      federationAdmitCommand({ ...cli(a()), hub: "hub-x", peerId: n().peerId, addresses: [] }, memoryIo(false)),
    ).rejects.toThrow(/only the secretariat/);
    const fresh = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
    await expect(
      federationAdmitCommand(
        {
          ...cli(s()),
          hub: "hub-y",
          peerId: fresh,
          addresses: [],
          directoryId: a().node.running.federation.self.directoryId,
        },
        memoryIo(false),
      ),
    ).rejects.toThrow(/directory_id: .* is the directory of hub 'hub-a'/);
    expect(A.getHeads(s().node.running.documents.get("charter"))).toEqual(before);
  });

  it("a removed member is shown only the charter (refused once the notice window ends: removal-notice.test.ts); its data stays readable as of its last checkpoint before removal, marked", async () => {
    const removed = b();
    const shard = shardOf(removed, "M-B1");
    const lastSeq = a().node.running.views.view(shard.id)?.checkpoint.seq;
    expect(lastSeq).toBeGreaterThan(0);

    const io = memoryIo(false);
    await federationRemoveCommand({ ...cli(s()), hub: removed.hub }, io);
    expect(io.out()).toContain(`Removed '${removed.hub}'`);

    // It learns it was removed: members do not hang up on it during the removal notice window, but
    // show it nothing but the charter and the secretariat's directory, and call it no more.
    await waitForCharter(
      removed,
      (members) => members.some((m) => m.hub === removed.hub && m.removedAt !== undefined),
      15_000,
    );
    await waitUntil(
      "a to verify the charter removing b",
      () => a().node.running.membership.member(removed.hub)?.removedAt !== undefined,
      15_000,
    );
    for (const x of [s(), a()]) {
      const { federation } = x.node.running;
      expect(federation.mayShare(removed.peerId, federation.charterId!)).toBe(true);
      expect(federation.mayShare(removed.peerId, shardOf(a(), "M-A1").id)).toBe(false);
      expect(federation.mayShare(removed.peerId, a().node.running.federation.self.directoryId)).toBe(false);
      expect(federation.dialTargets().some((t) => t.peerId === removed.peerId)).toBe(false);
    }

    // Its documents stay readable at a, as of its last checkpoint before removal, marked as such.
    const view = a().node.running.views.view(shard.id);
    expect(view?.checkpoint.seq).toBe(lastSeq);
    expect(view?.removedAt).toBeDefined();
    expect(Object.hasOwn((view?.doc as Trainers | undefined)?.trainers ?? {}, "M-B1")).toBe(true);
    const status = await a().node.clients(a().node.adminToken).node.getStatus({});
    expect(status.members.find((m) => m.hub === removed.hub)?.removedAt).toBe(view?.removedAt);

    // Anything it signs after the removal is rejected, even if a relay delivers it.
    await removed.node.running.roster.add(draft("M-B2"), "op");
    await removed.node.running.checkpointer.flush();
    const after = removed.node.running.checkpointer.latest(shardOf(removed, "M-B2").id);
    await relayCheckpoint(a(), removed.node.running.federation.self.directoryId, shardOf(removed, "M-B2").id, after);
    await waitUntil("a to reject the removed member's new checkpoint", () =>
      a()
        .node.running.views.rejections()
        .some((r) => r.hub === removed.hub && /was removed at .*before the checkpoint's time/.test(r.reason)),
    );
    // Back-dated to before the removal: refused all the same, by seq (the charter recorded the newest
    // seq the secretariat had verified from it).
    const backdated = await signCheckpoint(
      {
        ...(after as NonNullable<typeof after>).checkpoint,
        seq: (after?.checkpoint.seq ?? 0) + 10,
        time: new Date(
          Date.parse(a().node.running.membership.member(removed.hub)?.removedAt as string) - 60_000,
        ).toISOString(),
      },
      (d) => removed.node.running.identity.sign(d),
    );
    await relayCheckpoint(
      a(),
      removed.node.running.federation.self.directoryId,
      shardOf(removed, "M-B2").id,
      backdated,
    );
    await waitUntil("a to reject the back-dated checkpoint", () =>
      a()
        .node.running.views.rejections()
        .some((r) => r.hub === removed.hub && /was removed after seq \d+; this checkpoint has seq/.test(r.reason)),
    );
    expect(a().node.running.views.view(shard.id)?.checkpoint.seq).toBe(lastSeq);
  });

  it("a hub's key rotation: `keys rotate`, the secretariat confirms, the hub switches by itself; checkpoints by the old key after the rotation are rejected", async () => {
    const oldPeerId = a().peerId;
    const directoryId = a().node.running.federation.self.directoryId;
    await expect(keysRotateCommand(cli(s()), memoryIo(false))).rejects.toThrow(/trust anchor/);
    const rotate = memoryIo(false);
    await keysRotateCommand(cli(a()), rotate);
    const next = /new key waiting: (\S+)/.exec(rotate.out())?.[1] as string;
    expect(next).toMatch(/^12D3KooW/);
    expect(rotate.out()).toContain(`concordat federation rotate-key ${a().hub} --peer-id ${next}`);
    // Nothing changes until the secretariat confirms.
    expect(a().node.running.identity.peerId).toBe(oldPeerId);

    const confirm = memoryIo(false);
    await federationRotateKeyCommand({ ...cli(s()), hub: a().hub, peerId: next }, confirm);
    expect(confirm.out()).toContain(`until `);
    // a switches by itself once it verifies the charter that names its new key.
    await waitUntil(
      "a to run with its new key",
      () => {
        try {
          return a().node.running.identity.peerId === next;
        } catch {
          return false; // restarting
        }
      },
      20_000,
    );
    // Same hub, same directory, same documents: only the key changed.
    expect(a().node.running.federation.self.directoryId).toBe(directoryId);
    expect(a().node.running.roster.count()).toBeGreaterThanOrEqual(1);

    // a's new checkpoints (signed with the new key) are verified at n.
    await a().node.running.roster.add(draft("M-A2"), "op");
    await a().node.running.checkpointer.flush();
    await waitUntil("n to verify a's checkpoint signed with the new key", () => viewHas(n(), a(), "M-A2"), 20_000);
    expect(n().node.running.views.view(shardOf(a(), "M-A2").id)?.checkpoint.owner).toBe(next);

    // A checkpoint signed with the old key, dated after the rotation, is rejected and named.
    const oldKey = await loadIdentityFile(join(a().node.dataDir, `identity.${oldPeerId}.retired.key`));
    const shard = shardOf(a(), "M-A2");
    const current = n().node.running.views.view(shard.id)?.checkpoint;
    const late = await signCheckpoint(
      {
        federationId: "concordat-dev",
        owner: oldPeerId,
        documentId: shard.id,
        heads: current?.heads ?? [],
        seq: (current?.seq ?? 0) + 1,
        time: new Date().toISOString(),
        kind: CheckpointKind.Checkpoint,
      },
      (d) => oldKey.sign(d),
    );
    await relayCheckpoint(n(), directoryId, shard.id, late);
    await waitUntil("n to reject the old key's late checkpoint", () =>
      n()
        .node.running.views.rejections()
        .some((r) => r.documentId === shard.id && /was rotated out at .*before the checkpoint's time/.test(r.reason)),
    );
    // Back-dated before the rotation: refused by seq.
    const rotatedAt = Date.parse(s().node.running.membership.member(a().hub)?.keys[0]?.until as string);
    const backdated = await signCheckpoint(
      {
        federationId: "concordat-dev",
        owner: oldPeerId,
        documentId: shard.id,
        heads: current?.heads ?? [],
        seq: (current?.seq ?? 0) + 2,
        time: new Date(rotatedAt - 60_000).toISOString(),
        kind: CheckpointKind.Checkpoint,
      },
      (d) => oldKey.sign(d),
    );
    await relayCheckpoint(n(), directoryId, shard.id, backdated);
    await waitUntil("n to reject the old key's back-dated checkpoint", () =>
      n()
        .node.running.views.rejections()
        .some(
          (r) => r.documentId === shard.id && /was rotated out after seq \d+; this checkpoint has seq/.test(r.reason),
        ),
    );
    expect(n().node.running.views.view(shard.id)?.checkpoint.seq).toBe(current?.seq);
  });
});
