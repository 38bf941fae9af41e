import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Libp2pNetworkAdapter } from "../../node/network/libp2p-adapter.js";
import {
  draft,
  foreignTrainerNow,
  startFederationWith,
  waitForForeignTrainer,
  waitUntil,
  type FederationNode,
  type StartedFederation,
} from "../helpers/federation.js";
import { within } from "./support.js";

const hubsOf = (n: FederationNode) =>
  n.node.running.network
    .peers()
    .map((p) => p.hub)
    .sort();

/**
 * A line a – b – c over libp2p. The link b – c is cut both ways by disconnecting c's libp2p adapter
 * (its sync channels close and it stops serving the protocol, so b's redials fail), both sides write,
 * then the adapter is connected again: nothing written on either side is lost.
 */
describe.each([
  {
    variant: "c also dials b",
    dials: [
      ["b", "a"],
      ["b", "c"],
      ["c", "b"],
    ] as Array<[string, string]>,
  },
  {
    variant: "only b dials c: healed by b's redials",
    dials: [
      ["b", "a"],
      ["b", "c"],
    ] as Array<[string, string]>,
  },
])("a partition between b and c, healed ($variant)", ({ variant, dials }) => {
  let fed: StartedFederation | undefined;
  const node = (name: string) => (fed as StartedFederation).byName(name);

  beforeAll(async () => {
    fed = await startFederationWith(["a", "b", "c"], dials, { transport: "libp2p" });
  });
  afterAll(async () => {
    await fed?.stop();
  });

  it("loses nothing written on either side while cut off", async () => {
    const [a, b, c] = [node("a"), node("b"), node("c")];
    // Before: b's trainer is everywhere.
    await b.node.running.roster.add(draft("B-1", "B-1 before the cut"), "op");
    await Promise.all([waitForForeignTrainer(a, b, "B-1"), waitForForeignTrainer(c, b, "B-1")]);
    expect(hubsOf(b)).toEqual(["hub-a", "hub-c"]);

    // Cut: c's adapter closes its channels and stops serving the sync protocol.
    const adapter = c.node.running.network.libp2pAdapter as Libp2pNetworkAdapter;
    const closed = new Promise<void>((resolve) => adapter.once("close", () => resolve()));
    adapter.disconnect();
    await within(closed, 5000, "c's adapter to close");
    await waitUntil("b to lose c", () => !hubsOf(b).includes("hub-c"), 5000);
    expect(hubsOf(c)).toEqual([]);

    // Both sides write.
    const aRoster = a.node.running.roster;
    const cRoster = c.node.running.roster;
    await Promise.all([
      ...[1, 2, 3].map((i) => aRoster.add(draft(`A-${i}`), "op")),
      ...[1, 2, 3].map((i) => cRoster.add(draft(`C-${i}`), "op")),
      b.node.running.roster.update(
        { ...draft("B-1"), displayName: "B-1 renamed while cut off" },
        ["display_name"],
        "op",
      ),
    ]);
    // a – b still works; nothing crosses to or from c.
    await Promise.all([1, 2, 3].map((i) => waitForForeignTrainer(b, a, `A-${i}`)));
    await waitForForeignTrainer(a, b, "B-1", (name) => name === "B-1 renamed while cut off");
    for (const i of [1, 2, 3]) {
      expect(await foreignTrainerNow(c, a, `A-${i}`)).toBeUndefined();
      expect(await foreignTrainerNow(b, c, `C-${i}`)).toBeUndefined();
      expect(await foreignTrainerNow(a, c, `C-${i}`)).toBeUndefined();
    }
    expect(await foreignTrainerNow(c, b, "B-1")).toBe("B-1 before the cut");
    // b kept trying and kept failing: still no channel to c.
    expect(hubsOf(b)).toEqual(["hub-a"]);

    // Heal: connect c's adapter again, with the peer id and metadata its Repo gave it.
    const healed = performance.now();
    adapter.connect(adapter.peerId!, adapter.peerMetadata);
    await Promise.all([
      ...[1, 2, 3].map((i) => waitForForeignTrainer(c, a, `A-${i}`, () => true, 20_000)),
      ...[1, 2, 3].map((i) => waitForForeignTrainer(a, c, `C-${i}`, () => true, 20_000)),
      ...[1, 2, 3].map((i) => waitForForeignTrainer(b, c, `C-${i}`, () => true, 20_000)),
      waitForForeignTrainer(c, b, "B-1", (name) => name === "B-1 renamed while cut off", 20_000),
    ]);
    console.log(
      `[figure] partition b–c (${variant}): heal to convergence ${(performance.now() - healed).toFixed(0)} ms`,
    );
    expect(hubsOf(b)).toEqual(["hub-a", "hub-c"]);
    expect(hubsOf(c)).toEqual(["hub-b"]);
    // Every node sees every trainer: nothing was lost.
    for (const reader of [a, b, c]) {
      for (const [owner, ids] of [
        [a, ["A-1", "A-2", "A-3"]],
        [b, ["B-1"]],
        [c, ["C-1", "C-2", "C-3"]],
      ] as const) {
        for (const id of ids) {
          if (reader === owner) expect(owner.node.running.roster.get(id, false).id).toBe(id);
          else
            expect(
              await foreignTrainerNow(reader, owner, id),
              `${reader.name} sees ${owner.name}'s ${id}`,
            ).toBeDefined();
        }
      }
    }
  });
});
