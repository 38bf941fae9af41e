import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, describe, expect, test } from "vitest";
import { NodeServiceClient } from "../../node/api/generated/concordat/v1/node.js";
import { Trainer, TrainerServiceClient } from "../../node/api/generated/concordat/v1/trainers.js";
import { initDataDir } from "../../node/setup.js";
import { startNode } from "../../bench/lib/nodes.js";

const ROUNDS = 10;
const IN_FLIGHT = 8;

function unary<Req, Res>(
  fn: (req: Req, md: Metadata, opts: { deadline: Date }, cb: (e: ServiceError | null, r: Res) => void) => unknown,
  req: Req,
  md: Metadata,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    fn(req, md, { deadline: new Date(Date.now() + 20_000) }, (e, r) => (e ? reject(e) : resolve(r))),
  );
}

/**
 * The durability guarantee: a write the API acknowledged survives kill -9. The node runs as a child
 * process; writes stream in (adds and updates, several in flight); at a random number of
 * acknowledgements the process is SIGKILLed; after a restart every acknowledged write must be there,
 * and the stored documents must load. Ten rounds on the same data directory.
 */
describe("acknowledged writes survive kill -9", () => {
  let dir = "";
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test(`${ROUNDS} rounds of write, SIGKILL at a random moment, restart, check`, async () => {
    dir = await mkdtemp(join(tmpdir(), "concordat-kill9-"));
    const dataDir = join(dir, "node");
    await initDataDir({
      dataDir,
      hubId: "durable",
      name: "Durability hub",
      secretariat: false,
      baseConfig: await readFile(new URL("../../config/default.yaml", import.meta.url), "utf8"),
      baseConfigSource: "config/default.yaml",
    });
    const token = (await readFile(join(dataDir, "admin.token"), "utf8")).trim();
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${token}`);

    /** id -> highest acknowledged revision of its display name. */
    const acknowledged = new Map<string, number>();
    let nextId = 0;
    let totalAcks = 0;

    for (let round = 0; round < ROUNDS; round += 1) {
      const node = await startNode(dataDir, { loopback: true });
      const client = new TrainerServiceClient(node.address, credentials.createInsecure());
      const killAfter = 5 + Math.floor(Math.random() * 120);
      let acks = 0;
      let killed = false;

      const writer = async () => {
        while (!killed) {
          const known = [...acknowledged.keys()];
          const update = known.length > 0 && Math.random() < 0.3;
          try {
            if (update) {
              const id = known[Math.floor(Math.random() * known.length)] as string;
              const revision = (acknowledged.get(id) ?? 0) + 1;
              await unary(
                client.updateTrainer.bind(client),
                { trainer: Trainer.fromPartial({ id, displayName: `rev ${revision}` }), updateMask: ["display_name"] },
                metadata,
              ).catch((error: ServiceError) => {
                // The trainer's add was acknowledged in an earlier round: NOT_FOUND means it was lost.
                if (error.code === status.NOT_FOUND)
                  throw new Error(`acknowledged trainer ${id} was lost across kill -9`);
                throw error;
              });
              acknowledged.set(id, Math.max(acknowledged.get(id) ?? 0, revision));
            } else {
              const id = `T-${String(nextId++).padStart(6, "0")}`;
              await unary(
                client.addTrainer.bind(client),
                {
                  trainer: Trainer.fromPartial({
                    id,
                    displayName: "rev 0",
                    languages: [{ tag: "fr", level: "B2" }],
                    regions: ["SN"],
                    private: { email: `${id.toLowerCase()}@example.org` },
                  }),
                },
                metadata,
              );
              acknowledged.set(id, Math.max(acknowledged.get(id) ?? 0, 0));
            }
            acks += 1;
            totalAcks += 1;
            if (acks >= killAfter && !killed) {
              killed = true;
              node.child.kill("SIGKILL");
            }
          } catch (error) {
            // A call cut off by the kill was never acknowledged: it may or may not have landed.
            if (killed) return;
            throw error;
          }
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, writer));
      const exit = await node.exited;
      expect(exit.signal).toBe("SIGKILL");
      client.close();
    }

    // Restart once more and check everything acknowledged across all rounds.
    const node = await startNode(dataDir, { loopback: true });
    try {
      const trainers = new TrainerServiceClient(node.address, credentials.createInsecure());
      const status = new NodeServiceClient(node.address, credentials.createInsecure());
      const info = await unary(status.getStatus.bind(status), {}, metadata);
      expect(info.documents.filter((d) => d.type === "roster").length).toBeGreaterThanOrEqual(4);
      const seen = new Map<string, Trainer>();
      let pageToken = "";
      do {
        const page = await unary(trainers.listTrainers.bind(trainers), { pageSize: 1000, pageToken }, metadata);
        for (const t of page.trainers) seen.set(t.id, t);
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      const missing: string[] = [];
      const stale: string[] = [];
      for (const [id, revision] of acknowledged) {
        const t = seen.get(id);
        if (!t) missing.push(id);
        else if (Number(t.displayName.slice(4)) < revision)
          stale.push(`${id}: has '${t.displayName}', acknowledged rev ${revision}`);
        else expect(t.private?.email).toBe(`${id.toLowerCase()}@example.org`);
      }
      expect({ missing, stale }).toEqual({ missing: [], stale: [] });
      expect(totalAcks).toBeGreaterThan(ROUNDS * 5);
      trainers.close();
      status.close();
    } finally {
      node.child.kill("SIGTERM");
      await node.exited;
    }
  }, 240_000);
});
