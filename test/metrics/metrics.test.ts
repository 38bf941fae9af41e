import * as A from "@automerge/automerge";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trainersFindCommand } from "../../cli/commands/find.js";
import { loadConfigFile } from "../../node/config/index.js";
import { ConcordatError } from "../../node/errors.js";
import { directoryIdOf } from "../../node/federation/index.js";
import {
  draft,
  startFederationWith,
  waitUntil,
  type FederationNode,
  type StartedFederation,
} from "../helpers/federation.js";
import { makeTempDir } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";
import { changeReplicaCopy } from "../helpers/replica.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });

/** Samples of one metric from a Prometheus text exposition, with their labels. */
function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ labels, value: Number(m[3]) });
  }
  return out;
}

const sum = (list: Array<{ value: number }>) => list.reduce((s, x) => s + x.value, 0);

/**
 * The Prometheus endpoint of a real node in a federation of two: sync messages and bytes per peer,
 * checkpoint verifications and rejections, query latency, documents by type, Node's event-loop lag;
 * served on loopback only.
 */
describe("metrics", () => {
  let fed: StartedFederation;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const endpoint = async (n: FederationNode) => {
    const runtime = JSON.parse(await readFile(join(n.node.dataDir, "node.json"), "utf8")) as { metrics?: string };
    if (!runtime.metrics) throw new Error("node.json names no metrics endpoint");
    return `http://${runtime.metrics}`;
  };
  const scrape = async (n: FederationNode) => {
    const res = await fetch(`${await endpoint(n)}/metrics`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    return res.text();
  };

  beforeAll(async () => {
    fed = await startFederationWith(["s", "a"], [["a", "s"]], {
      env: { s: { CONCORDAT_METRICS_PORT: "0" }, a: { CONCORDAT_METRICS_PORT: "0" } },
    });
    await a().node.running.roster.add(draft("M-1"), "op");
    await a().node.running.checkpointer.flush();
    await waitUntil(
      "s to verify a's roster",
      () =>
        s()
          .node.running.views.views()
          .some(
            (v) =>
              v.hub === "hub-a" && (v.doc as { trainers?: Record<string, unknown> }).trainers?.["M-1"] !== undefined,
          ),
      15_000,
    );
  }, 60_000);
  afterAll(async () => {
    await fed?.stop();
  });

  it("counts sync messages and bytes per peer, and checkpoint verifications per hub", async () => {
    const text = await scrape(s());
    const fromA = samples(text, "concordat_sync_bytes_total").filter((x) => x.labels.peer === a().peerId);
    expect(
      fromA.find((x) => x.labels.direction === "in" && x.labels.transport === "libp2p" && x.labels.hub === "hub-a")
        ?.value,
    ).toBeGreaterThan(0);
    expect(fromA.find((x) => x.labels.direction === "out")?.value).toBeGreaterThan(0);
    expect(
      sum(samples(text, "concordat_sync_messages_total").filter((x) => x.labels.peer === a().peerId)),
    ).toBeGreaterThan(1);
    expect(
      sum(samples(text, "concordat_checkpoint_verifications_total").filter((x) => x.labels.hub === "hub-a")),
    ).toBeGreaterThan(0);
    // Every sample names the node it comes from.
    expect(samples(text, "concordat_sync_bytes_total").every((x) => x.labels.node === "hub-s")).toBe(true);
  });

  it("counts a rejected checkpoint", async () => {
    const before = sum(
      samples(await scrape(s()), "concordat_checkpoint_rejections_total").filter((x) => x.labels.hub === "hub-a"),
    );
    // A relay's garbage in a's directory, as s's own copy of it holds it.
    await changeReplicaCopy<{ checkpoints: Record<string, unknown> }>(
      s().node.running,
      directoryIdOf(a().peerId),
      (d) => {
        d.checkpoints["not-a-document"] = new A.ImmutableString("{ not json");
      },
    );
    await waitUntil(
      "s to count the rejection",
      async () =>
        sum(
          samples(await scrape(s()), "concordat_checkpoint_rejections_total").filter((x) => x.labels.hub === "hub-a"),
        ) > before,
      10_000,
      100,
    );
  });

  it("times queries, and counts and sizes the documents held by type", async () => {
    await trainersFindCommand(
      { ...cli(s()), from: "2027-03-01T00:00:00Z", to: "2027-03-05T00:00:00Z" },
      memoryIo(true),
    );
    const text = await scrape(s());
    expect(
      samples(text, "concordat_query_duration_seconds_count").find((x) => x.labels.query === "availability")?.value,
    ).toBeGreaterThanOrEqual(1);
    const docs = samples(text, "concordat_documents");
    const bytes = samples(text, "concordat_document_bytes");
    expect(docs.find((x) => x.labels.type === "charter" && x.labels.owner === "self")?.value).toBe(1);
    expect(bytes.find((x) => x.labels.type === "charter" && x.labels.owner === "self")?.value).toBeGreaterThan(100);
    // What s stored of a's rosters (counted once saved, shortly after they arrived).
    await waitUntil(
      "a's rosters counted and sized at s",
      async () => {
        const now = await scrape(s());
        const roster = (name: string) =>
          sum(samples(now, name).filter((x) => x.labels.type === "roster" && x.labels.owner === "others"));
        return roster("concordat_documents") >= 1 && roster("concordat_document_bytes") > 200;
      },
      10_000,
      100,
    );
    // The replica worker's: its memory, and the documents it holds loaded (s's own stay loaded).
    expect(samples(text, "concordat_replica_heap_bytes")[0]?.value).toBeGreaterThan(1_000_000);
    expect(samples(text, "concordat_replica_external_bytes")[0]?.value).toBeGreaterThan(1_000_000);
    expect(samples(text, "concordat_replica_documents_loaded")[0]?.value).toBeGreaterThanOrEqual(1);
    for (const name of [
      "concordat_replica_unloads_total",
      "concordat_replica_reloads_total",
      "concordat_replica_reloads_soon_total",
    ])
      expect(samples(text, name)[0]?.value, name).toBeGreaterThanOrEqual(0);
    // Node's own: the event loop's lag, the heap.
    expect(samples(text, "nodejs_eventloop_lag_p99_seconds").length).toBe(1);
    expect(samples(text, "nodejs_heap_size_used_bytes").length).toBe(1);
  });

  it("document bytes follow writes after the first count", async () => {
    const before = sum(
      samples(await scrape(a()), "concordat_document_bytes").filter(
        (x) => x.labels.type === "roster" && x.labels.owner === "self",
      ),
    );
    for (let i = 0; i < 20; i += 1)
      await a().node.running.roster.add(
        { ...draft(`M-B${i}`), displayName: `Trainer ${randomBytes(70).toString("hex")}` },
        "op",
      );
    await waitUntil(
      "a's roster bytes to grow",
      async () =>
        sum(
          samples(await scrape(a()), "concordat_document_bytes").filter(
            (x) => x.labels.type === "roster" && x.labels.owner === "self",
          ),
        ) >
        before + 2000,
      10_000,
      100,
    );
  });

  it("answers only GET /metrics", async () => {
    const res = await fetch(`${await endpoint(s())}/other`, { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("GET /metrics");
  });
});

describe("metrics configuration", () => {
  it("refuses a host that is not loopback, naming the key", async () => {
    const dir = await makeTempDir("concordat-metrics-config-");
    const file = join(dir, "node.yaml");
    await writeFile(file, "hub:\n  id: hub-ke-01\n  name: Nairobi\nmetrics:\n  host: 0.0.0.0\n  port: 9464\n");
    const error = (await loadConfigFile(file).catch((e: unknown) => e)) as ConcordatError;
    expect(error).toBeInstanceOf(ConcordatError);
    expect(error.message).toContain("metrics.host");
    expect(error.message).toContain("loopback");
    const fromEnv = (await loadConfigFile(file, { CONCORDAT_METRICS_HOST: "::1" }).catch((e: unknown) => e)) as {
      metrics: { host: string; port: number };
    };
    expect(fromEnv.metrics).toEqual({ host: "::1", port: 9464 });
  });
});
