import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { federationRemoveCommand } from "../../cli/commands/federation.js";
import { statusCommand } from "../../cli/commands/status.js";
import { Membership, REMOVAL_NOTICE_MS } from "../../node/federation/index.js";
import type { CharterMember, CharterState } from "../../node/federation/charter.js";
import { type DocumentId, directoryIdOf, hubId, peerId, type PeerId } from "../../node/ids.js";
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

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });
const REMOVED_LOG = "this hub was removed from the federation";
const removedLogLines = (n: FederationNode) => n.node.logs.filter((line) => line.includes(REMOVED_LOG)).length;

/** Does `reader` hold trainer `trainerId` in any copy of any document, whatever signed it (raw, not a verified view)? */
async function heldRaw(reader: FederationNode, trainerId: string): Promise<boolean> {
  const { replica } = reader.node.running;
  for (const id of await replica.documentIds()) {
    const trainers = (await replica.read(id, { path: ["trainers"] }))?.value as Record<string, unknown> | undefined;
    if (trainers !== undefined && trainers !== null && Object.hasOwn(trainers, trainerId)) return true;
  }
  return false;
}

/** Has `reader` indexed `owner`'s trainer `trainerId` (from a verified view)? */
function verified(reader: FederationNode, owner: FederationNode, trainerId: string): boolean {
  return reader.node.running.availability.indexed(owner.hub, trainerId) !== undefined;
}

async function freshPeerId(): Promise<PeerId> {
  return peerId(peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString());
}

describe("the removal notice window, in the membership alone", () => {
  const member = (hub: string, key: PeerId, removedAt?: string): CharterMember => ({
    hub: hubId(hub),
    name: hub,
    region: "",
    role: "hub",
    directoryId: directoryIdOf(key),
    addresses: [],
    keys: [{ peerId: key, from: "2027-01-01T00:00:00.000Z" }],
    admittedAt: "2027-01-01T00:00:00.000Z",
    ...(removedAt ? { removedAt } : {}),
  });

  it("a removed member's key may connect for min(rotation grace, REMOVAL_NOTICE_MS) after its removal, is never current, and then is refused", async () => {
    const removedAt = Date.parse("2027-03-01T12:00:00.000Z");
    const [kept, gone] = [await freshPeerId(), await freshPeerId()];
    let now = removedAt;
    const state: CharterState = {
      federationId: "f",
      anchor: "",
      members: [member("hub-k", kept), member("hub-r", gone, new Date(removedAt).toISOString())],
    };
    const membership = new Membership({
      federationId: "f",
      anchor: undefined,
      rotationGraceMs: 3_600_000,
      now: () => now,
    });
    membership.update(state, { kind: "verified" });
    expect(membership.allowed(gone)).toBe(true);
    expect(membership.isCurrentKey(gone)).toBe(false);
    // A clock behind the secretariat's: the removal reads as still to come, within the window.
    now = removedAt - 1_000;
    expect(membership.allowed(gone)).toBe(true);
    now = removedAt;
    expect(membership.isCurrentKey(kept)).toBe(true);
    expect(membership.nextExpiry()).toBe(removedAt + REMOVAL_NOTICE_MS);
    now = removedAt + REMOVAL_NOTICE_MS - 1;
    expect(membership.allowed(gone)).toBe(true);
    now = removedAt + REMOVAL_NOTICE_MS;
    expect(membership.allowed(gone)).toBe(false);
    expect(membership.allowed(kept)).toBe(true);
    expect(membership.nextExpiry()).toBeUndefined();

    // A shorter rotation grace shortens the window; none turns it off.
    const short = new Membership({
      federationId: "f",
      anchor: undefined,
      rotationGraceMs: 5_000,
      now: () => removedAt + 5_000,
    });
    short.update(state, { kind: "verified" });
    expect(short.allowed(gone)).toBe(false);
    const none = new Membership({ federationId: "f", anchor: undefined, rotationGraceMs: 0, now: () => removedAt });
    none.update(state, { kind: "verified" });
    expect(none.allowed(gone)).toBe(false);
  });
});

/**
 * A hub removed by the secretariat learns it: members let it connect for the removal notice window
 * (the default: REMOVAL_NOTICE_MS, well beyond this test), show it only the charter and the
 * secretariat's directory, dial it no more and admit nothing it sends.
 * s is the secretariat; a and c dial s; r (removed here) dials s and a, and s also dials r.
 */
describe("a removed hub is told it was removed, and shown nothing else", () => {
  let fed: StartedFederation;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const c = () => fed.byName("c");
  const r = () => fed.byName("r");

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "c", "r"],
      [
        ["a", "s"],
        ["c", "s"],
        ["c", "a"],
        ["r", "s"],
        ["r", "a"],
        ["s", "r"],
      ],
    );
    const available = [{ start: "2027-01-01T00:00:00Z", end: "2027-06-30T00:00:00Z" }];
    await a().node.running.roster.add({ ...draft("A-0"), availability: available }, "op");
    await s().node.running.roster.add(draft("S-0"), "op");
    await Promise.all([a(), s()].map((x) => x.node.running.checkpointer.flush()));
    // The rosters of a and s already sync with r before it is removed.
    await waitUntil(
      "r to hold a's and s's rosters",
      () => verified(r(), a(), "A-0") && verified(r(), s(), "S-0"),
      20_000,
    );
  }, 90_000);
  afterAll(async () => {
    await fed?.stop();
  });

  it("its status says REMOVED, it logs it once, and its waiting booking requests end", async () => {
    const asked = await r().node.running.bookings.request("op", {
      id: "",
      trainerHub: a().hub,
      trainerId: "A-0",
      start: "2027-03-02T00:00:00.000Z",
      end: "2027-03-03T00:00:00.000Z",
      competency: "",
      course: "",
      note: "",
      expiresAt: "",
    });
    expect(r().node.running.bookings.show(asked.booking.key).state).toBe("pending");
    // a holds the request before r is removed (after it, a takes nothing r signs).
    await waitUntil(
      "a to receive r's request",
      () => {
        try {
          a().node.running.bookings.show(asked.booking.key);
          return true;
        } catch {
          return false;
        }
      },
      20_000,
    );
    const since = r().node.logs.length;

    await federationRemoveCommand({ ...cli(s()), hub: r().hub }, memoryIo(false));
    await waitForLog(
      r().node,
      `${REMOVED_LOG}: members no longer take what it signs, and refuse its connections once the removal notice window ends`,
      () => true,
      since,
      20_000,
    );
    const status = memoryIo(false);
    await statusCommand(cli(r()), status);
    expect(status.out()).toMatch(/REMOVED +the federation's charter removed this hub at /);
    // Its own request ends: no answer from a would count any more.
    const ended = r().node.running.bookings.show(asked.booking.key);
    expect(ended.state).toBe("declined");
    expect(ended.engagement?.reason).toBe("member-removed");
    expect(ended.engagement?.detail).toMatch(/this hub 'hub-r' was removed from the federation at /);
    // At a, the request of the removed hub ends too.
    await waitUntil(
      "a to end r's request",
      () => a().node.running.bookings.show(asked.booking.key).engagement?.reason === "member-removed",
      20_000,
    );
    // Said once, though more charters come.
    await s().node.running.charter.admit("test", { hub: "hub-later", peerId: await freshPeerId(), name: "Later" });
    await waitForCharter(r(), (members) => members.some((m) => m.hub === "hub-later"), 20_000);
    expect(removedLogLines(r())).toBe(1);
  }, 60_000);

  it("while it may still connect, only the charter and the secretariat's directory reach it: a new trainer at a hub or at the secretariat never does", async () => {
    await Promise.all(
      [s(), a(), c()].map((n) =>
        waitUntil(
          `${n.name} to see r removed`,
          () => n.node.running.membership.member(r().hub)?.removedAt !== undefined,
          20_000,
        ),
      ),
    );
    // It is still connected (to s and to a), and allowed: the notice window has not ended.
    for (const n of [s(), a()]) {
      expect(n.node.running.federation.allowed(r().peerId)).toBe(true);
      expect(n.node.running.network.peers().some((p) => p.peerId === r().peerId)).toBe(true);
      // No one calls it: not even s, which had it in its config.
      expect(n.node.running.federation.dialTargets().some((t) => t.peerId === r().peerId)).toBe(false);
    }
    // Nothing it signs counts for admission.
    const rShard = r()
      .node.running.documents.describe()
      .find((d) => d.header.type === "roster") as { id: DocumentId };
    const owner = a().node.running.federation.ownerOf(rShard.id);
    expect(owner?.kind === "member" && owner.mayAttest(r().peerId)).toBe(false);

    // New trainers at a hub and at the secretariat, in rosters whose sync with r began before.
    await a().node.running.roster.add(draft("A-NEW"), "op");
    await s().node.running.roster.add(draft("S-NEW"), "op");
    await r().node.running.roster.add(draft("R-NEW"), "op");
    await Promise.all([a(), s(), r()].map((x) => x.node.running.checkpointer.flush()));
    await waitUntil(
      "c to verify both new trainers",
      () => verified(c(), a(), "A-NEW") && verified(c(), s(), "S-NEW"),
      20_000,
    );
    // A charter written after them reaches r: its channels were open all along.
    await s().node.running.charter.admit("test", { hub: "hub-after", peerId: await freshPeerId(), name: "After" });
    await waitForCharter(r(), (members) => members.some((m) => m.hub === "hub-after"), 20_000);
    await waitForCharter(a(), (members) => members.some((m) => m.hub === "hub-after"), 20_000);
    expect(await heldRaw(r(), "A-NEW")).toBe(false);
    expect(await heldRaw(r(), "S-NEW")).toBe(false);
    expect(await heldRaw(r(), "A-0")).toBe(true);
    // And what it wrote after its removal entered no one's copy.
    for (const n of [s(), a(), c()]) expect(await heldRaw(n, "R-NEW")).toBe(false);
    for (const n of [s(), a()]) expect(n.node.running.network.peers().some((p) => p.peerId === r().peerId)).toBe(true);
  }, 60_000);
});

/** When the notice window ends, members hang up on the removed hub and refuse it from then on. */
describe("the removal notice window ends", () => {
  const GRACE_SECONDS = 4;
  let fed: StartedFederation;
  const s = () => fed.byName("s");
  const r = () => fed.byName("r");

  beforeAll(async () => {
    // A rotation grace of a few seconds shortens the notice window to as much.
    fed = await startFederationWith(["s", "r"], [["r", "s"]], {
      config: (config) => {
        config.federation = { ...config.federation, rotationGraceSeconds: GRACE_SECONDS };
      },
    });
  }, 60_000);
  afterAll(async () => {
    await fed?.stop();
  });

  it("the secretariat disconnects it when the window ends, not before, and refuses its redials", async () => {
    const since = s().node.logs.length;
    await s().node.running.charter.remove("op", r().hub);
    const removedAt = Date.parse(s().node.running.membership.member(r().hub)?.removedAt as string);
    const hungUp = await waitForLog(
      s().node,
      "disconnected a peer the charter no longer allows",
      (e) => e.peer === r().peerId,
      since,
      20_000,
    );
    expect(hungUp.time as number).toBeGreaterThanOrEqual(removedAt + GRACE_SECONDS * 1000);
    await waitForLog(s().node, "refused a peer that is not allowed", (e) => e.peer === r().peerId, since, 20_000);
    expect(s().node.running.federation.allowed(r().peerId)).toBe(false);
    expect(
      s()
        .node.running.network.peers()
        .some((p) => p.peerId === r().peerId),
    ).toBe(false);
  }, 40_000);
});
