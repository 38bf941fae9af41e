import { pino } from "pino";
import { configSchema } from "../../node/config/schema.js";
import { OwnedDocuments } from "../../node/documents/index.js";
import { Replica } from "../../node/replica/index.js";
import { Roster } from "../../node/roster/index.js";
import { LevelStorageAdapter } from "../../node/storage/index.js";
import { NodeStore } from "../../node/storage/node-store.js";
import { settleThrottledSaves } from "./adapters.js";

/**
 * A hub's store, documents and roster opened as node/components.ts opens them (the NodeStore, the
 * Repo in the replica worker on its `repo` sublevel, OwnedDocuments, a Roster at the default
 * configuration), with no network and no API: what the storage benchmarks write through.
 */
export async function openBenchHub(dir: string, init: { hubId: string; sync: boolean }) {
  const config = configSchema.parse({ hub: { id: init.hubId, name: "Bench hub" } });
  const logger = pino({ level: "silent" });
  const store = await NodeStore.open(dir, { sync: init.sync });
  const repoStorage = new LevelStorageAdapter(store.repoLevel());
  const replica = new Replica({ peerId: "bench" }, { storage: repoStorage, logger });
  let documents: OwnedDocuments | undefined;
  const close = async () => {
    await documents?.idle();
    await replica.stop();
    await settleThrottledSaves();
    await repoStorage.close();
    await store.close();
  };
  try {
    await replica.start();
    documents = new OwnedDocuments({ owner: init.hubId }, { store, replica, repoStorage, logger });
    await documents.open();
    const roster = new Roster(
      { hubId: init.hubId, shards: config.roster.shards, maxPerShard: config.roster.maxPerShard },
      { documents, logger },
    );
    await documents.ensure(roster.documentSpecs());
    return { config, store, replica, documents, roster, close };
  } catch (error) {
    await close();
    throw error;
  }
}
