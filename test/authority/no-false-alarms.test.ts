import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  draft,
  logEntries,
  startFederationWith,
  waitForForeignTrainer,
  waitUntil,
  type ExternalMember,
  type FederationNode,
  type StartedFederation,
} from "../helpers/federation.js";
import { makeClients, makeTrainer } from "../helpers/harness.js";
import { startNode, type StartedNode } from "../../bench/lib/nodes.js";

/** How long the federation runs (heartbeats every 5 s, as often as the configuration allows). */
const RUN_MS = 60_000;

/**
 * An honest federation of four — the secretariat and three hubs in a ring, one of them a separate
 * process — runs for a minute of writes and heartbeats, with restarts and a SIGKILL. A checkpoint
 * already accepted, seen again (in a second read of a directory, after a restart, in a copy that lost
 * its last save to the SIGKILL), is not a replay: no node rejects any checkpoint, so that a real
 * replay stands out.
 */
describe("an honest federation raises no false alarms", () => {
  let fed: StartedFederation;
  let external: ExternalMember;
  let proc: StartedNode | undefined;
  const inProcess = () => fed.nodes;

  const startC = async () => {
    proc = await startNode(external.dataDir, {
      loopback: true,
      env: { ...external.env, CONCORDAT_LOG_LEVEL: "info" },
      timeoutMs: 60_000,
    });
  };
  const addAtC = async (id: string) => {
    const clients = makeClients(`127.0.0.1:${external.apiPort}`, external.token);
    try {
      await clients.trainers.addTrainer({ trainer: makeTrainer(id) });
    } finally {
      clients.close();
    }
  };
  /** Every "rejected a checkpoint" the external node logged, over all its runs. */
  const externalRejections: Array<Record<string, unknown>> = [];
  const collect = () => {
    if (proc) externalRejections.push(...proc.logs.filter((l) => l.msg === "rejected a checkpoint"));
  };

  /** The newest heartbeat checkpoint of `owner` that `reader` verified (seq), or -1. */
  const heartbeatAt = (reader: FederationNode, owner: FederationNode) =>
    Math.max(
      -1,
      ...reader.node.running.views
        .views()
        .filter((v) => v.hub === owner.hub && v.checkpoint.kind === "heartbeat")
        .map((v) => v.checkpoint.seq),
    );

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b", "c"],
      [
        ["a", "s"],
        ["b", "a"],
        ["c", "b"],
        ["s", "c"],
      ],
      {
        external: ["c"],
        config: (config) => {
          config.federation = { ...config.federation, heartbeatSeconds: 5 };
        },
      },
    );
    external = fed.external[0] as ExternalMember;
    await startC();
  }, 120_000);

  afterAll(async () => {
    await proc?.kill();
    await fed?.stop();
  });

  it(
    "a minute of writes, heartbeats, restarts and a SIGKILL: no node rejects a checkpoint",
    async () => {
      const [s, a, b] = ["s", "a", "b"].map((n) => fed.byName(n)) as [FederationNode, FederationNode, FederationNode];
      const started = Date.now();
      let round = 0;
      const events: Array<[number, () => Promise<void>]> = [
        [10_000, () => b.node.restart()],
        [
          20_000,
          async () => {
            collect();
            await proc?.kill();
            await startC();
          },
        ],
        [35_000, () => s.node.restart()],
        [45_000, () => a.node.restart()],
      ];
      while (Date.now() - started < RUN_MS) {
        round += 1;
        await a.node.running.roster.add(draft(`A-${round}`), "op");
        await b.node.running.roster
          .update({ ...draft("B-1"), displayName: `B round ${round}` }, ["display_name"], "op")
          .catch(async () => b.node.running.roster.add(draft("B-1"), "op"));
        await addAtC(`C-${round}`);
        const due = events.filter(([at]) => Date.now() - started >= at);
        for (const event of due) {
          events.splice(events.indexOf(event), 1);
          await event[1]();
        }
        // A round of writes per heartbeat of a (every 5 s): the federation also idles between them.
        const last = heartbeatAt(s, a);
        await waitUntil("s to verify a's next heartbeat", () => heartbeatAt(s, a) > last, 30_000, 100);
      }
      // Everyone converges on the last writes, through the restarts and the kill.
      for (const reader of [s, b]) await waitForForeignTrainer(reader, a, `A-${round}`);
      await waitForForeignTrainer(a, b, "B-1", (name) => name === `B round ${round}`);
      await waitUntil(
        "a to hold c's last trainer",
        async () => (await a.node.running.availability.indexed(fed.external[0]?.hub ?? "", `C-${round}`)) !== undefined,
        20_000,
      );
      collect();
      for (const n of inProcess()) {
        expect(logEntries(n.node, "rejected a checkpoint"), `${n.name} rejected a checkpoint`).toEqual([]);
        expect(n.node.running.views.rejections()).toEqual([]);
      }
      expect(externalRejections).toEqual([]);
      expect(round).toBeGreaterThanOrEqual(8);
    },
    RUN_MS + 120_000,
  );
});
