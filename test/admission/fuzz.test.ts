import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { malformedFrames } from "../../bench/admission/malformed.js";
import { grpcSender, libp2pSender, type RawSender } from "../../bench/admission/senders.js";
import { charterIdOf, directoryIdOf } from "../../node/federation/index.js";
import {
  draft,
  logEntries,
  startFederationWith,
  waitForForeignTrainer,
  type StartedFederation,
  type Transport,
} from "../helpers/federation.js";

const FRAMES = 1000;

/**
 * A member with a valid key sends a node a thousand malformed frames of every kind over each
 * transport (garbage sync data, truncated and overrunning messages, unsigned changes, forged
 * attestations, bad checksums, an inflation bomb, unknown and 1 MB document ids, ephemeral and
 * gossip messages, wrong types, non-CBOR, another sender's id): the node answers its API throughout,
 * keeps replicating with honest hubs, drops only the sender's channels, and takes nothing in. (How
 * fast it answers meanwhile is measured by `npm run bench admission.fuzz`.)
 */
describe.each(["libp2p", "grpc"] as Transport[])("malformed frames from a member (%s)", (transport) => {
  let fed: StartedFederation;
  let sender: RawSender;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");

  beforeAll(async () => {
    fed = await startFederationWith(["s", "a"], [["a", "s"]], { transport, keyOnly: ["m"] });
    const m = fed.key("m");
    sender =
      transport === "libp2p"
        ? await libp2pSender(m.privateKey, m.peerId, a().node.running.network.libp2pAddresses()[0] as string)
        : await grpcSender((data) => m.privateKey.sign(data), m.peerId, "concordat-dev", a().node.address);
  });
  afterAll(async () => {
    await sender?.close();
    await fed?.stop();
  });

  it("the node answers, replicates and takes nothing in while they arrive", async () => {
    const m = fed.key("m");
    const logStart = a().node.logs.length;
    const documents = [
      directoryIdOf(a().peerId),
      charterIdOf(s().peerId),
      a().node.running.documents.idOf("curriculum"),
    ];
    const heads = () => documents.map((id) => a().node.running.replica.heads(id)?.join(",") ?? "");
    const before = heads();
    const kinds = new Map<string, number>();
    let answered = 0;
    let i = 0;
    for (const frame of malformedFrames({ sender: m.peerId, target: a().peerId, documents }, FRAMES)) {
      kinds.set(frame.kind, (kinds.get(frame.kind) ?? 0) + 1);
      await sender.send(frame.payload);
      if (frame.closesChannel) expect(await sender.awaitDrop(10_000)).toBe(true);
      // Every 100 frames: the API answers.
      if (++i % 100 === 0) {
        await a().node.clients(a().node.adminToken).node.getStatus({});
        answered += 1;
      }
    }
    expect(answered).toBe(FRAMES / 100);
    expect(kinds.size).toBeGreaterThanOrEqual(12);
    // Honest replication goes on: a write at the secretariat reaches a.
    await s().node.running.roster.add(draft(`S-${transport}`), "op");
    await waitForForeignTrainer(a(), s(), `S-${transport}`);
    // Nothing the member sent is in a's copies of what it targeted (a's own directory, its
    // curriculum, the charter), other than what their owners wrote meanwhile.
    const after = heads();
    expect(after[2]).toBe(before[2]);
    // Only the member's channels were dropped; the refusals were logged, bounded.
    const dropped = logEntries(a().node, "dropping sync channel", logStart);
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.filter((e) => e.authenticated !== m.peerId && e.peer !== m.peerId)).toEqual([]);
    expect(logEntries(a().node, "refused at admission", logStart).length).toBeLessThan(200);
    expect(
      a()
        .node.running.network.peers()
        .some((p) => p.peerId === s().peerId),
    ).toBe(true);
  });
});
