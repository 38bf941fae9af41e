import { afterAll, beforeAll, describe, it } from "vitest";
import { draft, startFederationWith, waitForForeignTrainer, type StartedFederation } from "../helpers/federation.js";

/**
 * Relays pass on the owner's signatures with what they relay; they keep the ones they verified
 * across a restart, so that a relay restarted while the owner is away still gets the owner's
 * changes admitted by the hubs it serves.
 */
describe("a relay restarted while the owner is away", () => {
  let fed: StartedFederation;
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");
  const c = () => fed.byName("c");

  beforeAll(async () => {
    // A line s – a – b – c: c hears of a only through b.
    fed = await startFederationWith(
      ["s", "a", "b", "c"],
      [
        ["a", "s"],
        ["b", "a"],
        ["c", "b"],
      ],
    );
  });
  afterAll(async () => {
    await fed?.stop();
  });

  it("still passes the owner's changes on, admitted", async () => {
    await a().node.running.roster.add(draft("W-1"), "op");
    await waitForForeignTrainer(c(), a(), "W-1");
    // c is away while a writes; then a leaves, and b restarts.
    await c().node.stop();
    await a().node.running.roster.add(draft("W-2"), "op");
    await waitForForeignTrainer(b(), a(), "W-2");
    await a().node.stop();
    await b().node.restart();
    // c comes back: only b can give it W-2, with a's signature kept from before its restart.
    await c().node.restart();
    await waitForForeignTrainer(c(), a(), "W-2");
  });
});
