import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { bookingsListCommand } from "../../cli/commands/bookings.js";
import { casesAddCommand, casesSearchCommand } from "../../cli/commands/cases.js";
import { coreAdoptCommand, federationReleasesCommand } from "../../cli/commands/core.js";
import { credentialsEndorseCommand } from "../../cli/commands/credentials.js";
import { curriculumAdaptCommand, curriculumConfirmCommand } from "../../cli/commands/curriculum.js";
import {
  federationAdmitCommand,
  federationRemoveCommand,
  federationRotateKeyCommand,
} from "../../cli/commands/federation.js";
import { peersCommand } from "../../cli/commands/peers.js";
import { reportCoverageCommand } from "../../cli/commands/report.js";
import { statusCommand } from "../../cli/commands/status.js";
import { ExitCode, toCliError } from "../../cli/errors.js";
import { PromMetrics } from "../../node/metrics.js";
import { coreItem, releaseCore } from "../helpers/core.js";
import {
  draft,
  startFederationWith,
  waitUntil,
  type FederationNode,
  type StartedFederation,
} from "../helpers/federation.js";
import { makeTempDir } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });
const day = (d: number) => new Date(Date.UTC(2027, 2, d)).toISOString(); // March 2027

/** The CLI error a command fails with (its exit code and message, as the entry file would print them). */
async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    return toCliError(error);
  }
  throw new Error("the command did not fail");
}

/**
 * What a new user met driving a federation through the CLI, each checked as a user sees it: the
 * secretariat s and hubs a, b, c (all dial s; b and c dial a too), policy manual everywhere.
 */
describe("a federation driven through the CLI, as a new user does", () => {
  let fed: StartedFederation;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");
  const c = () => fed.byName("c");
  const request = (from: FederationNode, hub: string, trainer: string, start: number, end: number) =>
    from.node.running.bookings.request("op", {
      id: "",
      trainerHub: hub,
      trainerId: trainer,
      start: day(start),
      end: day(end),
      competency: "",
      course: "",
      note: "",
      expiresAt: "",
    });

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b", "c"],
      [
        ["a", "s"],
        ["b", "s"],
        ["c", "s"],
        ["b", "a"],
        ["c", "a"],
      ],
    );
    await releaseCore(s(), {
      items: [
        ["hr-1", "Competency"],
        ["uf-1", "Competency"],
      ],
    });
    await waitUntil(
      "a to verify release 1.0.0",
      async () => (await a().node.running.coreSource.releases()).length === 1,
      15_000,
    );
  }, 90_000);
  afterAll(async () => {
    await fed?.stop();
  });

  it("conflicts exit 6 (docs/cli.md), an unknown member 5", async () => {
    const again = await failure(
      federationAdmitCommand({ ...cli(s()), hub: a().hub, peerId: c().peerId, addresses: [] }, memoryIo(false)),
    );
    expect(again.message).toMatch(/ALREADY_EXISTS/);
    expect(again.details.join("\n")).toMatch(/hub 'hub-a' is already a member/);
    expect(again.exitCode).toBe(ExitCode.Conflict);
    const taken = await failure(
      federationRotateKeyCommand({ ...cli(s()), hub: a().hub, peerId: b().peerId }, memoryIo(false)),
    );
    expect(taken.exitCode).toBe(ExitCode.Conflict);
    const unknown = await failure(federationRemoveCommand({ ...cli(s()), hub: "hub-zz" }, memoryIo(false)));
    expect(unknown.exitCode).toBe(ExitCode.NotFound);
    // Bad input stays bad input.
    const bad = await failure(
      federationAdmitCommand({ ...cli(s()), hub: "Bad_Id", peerId: "nope", addresses: [] }, memoryIo(false)),
    );
    expect(bad.exitCode).toBe(ExitCode.Usage);
  });

  it("federation releases on a hub shows the hub's own adoption", async () => {
    await coreAdoptCommand({ ...cli(a()), version: "1.0.0" }, memoryIo(false));
    const io = memoryIo(false);
    await federationReleasesCommand(cli(a()), io);
    const line = io
      .out()
      .split("\n")
      .find((l) => l.includes("hub-a"));
    expect(line).toMatch(/1\.0\.0/);
    expect(line).toMatch(/this hub \(live\)/);
    expect(line).not.toMatch(/none verified/);
  });

  it("curriculum confirm before adopting the new release says to adopt it first", async () => {
    await curriculumAdaptCommand(
      { ...cli(a()), id: "ke-hr-1", item: "hr-1", statement: ["sw=Inatumia marufuku ya mateso"] },
      memoryIo(false),
    );
    const core = s().node.running.coreAuthoring;
    await core.put("op", "item", [
      { ...coreItem("hr-1"), statement: { en: "Applies the absolute prohibition of torture" } },
    ]);
    await core.release("op", "1.1.0", "");
    await waitUntil(
      "a to verify release 1.1.0",
      async () => (await a().node.running.coreSource.releases()).length === 2,
      15_000,
    );
    for (const release of [undefined, "1.1.0"]) {
      const error = await failure(
        curriculumConfirmCommand({ ...cli(a()), id: "ke-hr-1", ...(release ? { release } : {}) }, memoryIo(false)),
      );
      expect(error.message).toMatch(/^FAILED_PRECONDITION: .*adopt .*1\.1\.0/);
      expect(error.message).toContain("`concordat core adopt 1.1.0`");
      expect(error.exitCode).toBe(ExitCode.Conflict);
    }
    await coreAdoptCommand({ ...cli(a()), version: "1.1.0" }, memoryIo(false));
    const io = memoryIo(false);
    await curriculumConfirmCommand({ ...cli(a()), id: "ke-hr-1" }, io);
    expect(io.out()).toContain("now pinned to core 1.1.0");
  });

  it("peers --documents shows each document's type and owner", async () => {
    await waitUntil(
      "a to list synced documents",
      async () => {
        const io = memoryIo(false);
        await peersCommand({ ...cli(a()), documents: true }, io);
        const lines = io.out().split("\n");
        return (
          lines.some((l) => /│ charter +│ hub-s +│/.test(l)) &&
          lines.some((l) => /│ roster +│ hub-a +│/.test(l)) &&
          lines.some((l) => /│ directory +│ hub-b +│/.test(l))
        );
      },
      15_000,
      200,
    );
  });

  it("report coverage lists every document it counts, the secretariat's too", async () => {
    const io = memoryIo(false);
    await reportCoverageCommand({ ...cli(s()), from: "2027-01-01", to: "2027-03-31" }, io);
    const out = io.out();
    const counted = Number(/and (\d+) signed document\(s\):/.exec(out)?.[1]);
    const listed = [...out.matchAll(/^ {2}(\S+): (\d+) document\(s\)/gm)];
    expect(counted).toBeGreaterThan(0);
    expect(listed.reduce((sum, m) => sum + Number(m[2]), 0)).toBe(counted);
    expect(listed.map((m) => m[1])).toContain("hub-s");
  });

  it("credentials endorse names who endorses whom", async () => {
    const io = memoryIo(false);
    await credentialsEndorseCommand({ ...cli(s()), subject: "hub-a", comment: "Recognised for deployment" }, io);
    expect(io.out()).toMatch(/^'.+' \(this node\) endorses hub-a \(did:key:z6Mk\S+\): urn:uuid:/);
  });

  it("status and bookings list say how many requests wait for a decision (policy manual)", async () => {
    await a().node.running.roster.add(
      { ...draft("A-1"), availability: [{ start: "2027-01-01T00:00:00Z", end: "2027-06-30T00:00:00Z" }] },
      "op",
    );
    await c().node.running.roster.add(
      { ...draft("C-1"), availability: [{ start: "2027-01-01T00:00:00Z", end: "2027-06-30T00:00:00Z" }] },
      "op",
    );
    await waitUntil(
      "b and c to know A-1, b to know C-1",
      () =>
        [b(), c()].every((n) => n.node.running.availability.indexed("hub-a", "A-1")) &&
        b().node.running.availability.indexed("hub-c", "C-1"),
      20_000,
    );
    await request(b(), "hub-a", "A-1", 1, 5);
    await request(c(), "hub-a", "A-1", 10, 12);
    await waitUntil(
      "a to see both requests",
      async () => {
        await a().node.running.bookings.idle();
        return a().node.running.bookings.list({ direction: "incoming", state: "pending" }).length === 2;
      },
      20_000,
    );
    const status = memoryIo(false);
    await statusCommand(cli(a()), status);
    expect(status.out()).toMatch(/bookings +policy 'manual'; 2 request\(s\) wait for a decision/);
    const list = memoryIo(false);
    await bookingsListCommand(cli(a()), list);
    expect(list.out()).toContain("2 request(s) wait for a decision");
  }, 60_000);

  it("a removed hub's waiting requests end instead of hanging", async () => {
    const toC = await request(b(), "hub-c", "C-1", 2, 3);
    const fromC = a()
      .node.running.bookings.list({ direction: "incoming" })
      .find((x) => x.request.requester === "hub-c");
    expect(fromC?.state).toBe("pending");
    await federationRemoveCommand({ ...cli(s()), hub: c().hub }, memoryIo(false));
    // At the home hub: the removed requester's request is answered, signed like any answer.
    await waitUntil(
      "a to end c's request",
      () => a().node.running.bookings.show(fromC?.key as string).engagement?.reason === "member-removed",
      20_000,
    );
    const answered = a().node.running.bookings.show(fromC?.key as string);
    expect(answered.state).toBe("declined");
    expect(answered.engagement?.detail).toMatch(/the requesting hub 'hub-c' was removed from the federation at /);
    // At the requester: a request for a removed hub's trainer ends too.
    await waitUntil(
      "b to see its request to c end",
      () => b().node.running.bookings.show(toC.booking.key).state === "declined",
      20_000,
    );
    expect(b().node.running.bookings.show(toC.booking.key).engagement?.reason).toBe("member-removed");
    expect(a().node.running.bookings.awaitingDecision()).toBe(1);
    // At the removed hub itself, which receives the charter removing it: its own request ends, and
    // its status says why.
    await waitUntil(
      "c to see its own request end",
      () => c().node.running.bookings.show(fromC?.key as string).engagement?.reason === "member-removed",
      20_000,
    );
    expect(c().node.running.bookings.show(fromC?.key as string).engagement?.detail).toMatch(
      /this hub 'hub-c' was removed from the federation at /,
    );
    const status = memoryIo(false);
    await statusCommand(cli(c()), status);
    expect(status.out()).toMatch(/REMOVED +the federation's charter removed this hub at /);
  }, 60_000);

  it("cases search --competency hr finds the cases of HR-1 (by code family, as docs/hub-operator.md shows)", async () => {
    const dir = await makeTempDir();
    const file = join(dir, "uof.md");
    await writeFile(
      file,
      `---\nid: uof-1\nkind: case-study\ntitle: Use of force in detention\nlanguage: en\ncountry: KE\ncompetencies: [hr-1]\nvisibility: public\n---\nDe-escalation first.\n`,
    );
    await casesAddCommand({ ...cli(a()), file }, memoryIo(false));
    const search = async (competency: string) => {
      const io = memoryIo(true);
      await casesSearchCommand({ ...cli(b()), text: "", competency }, io);
      return (JSON.parse(io.out()) as { results: Array<{ case: { hub: string; id: string } }> }).results.map(
        (r) => `${r.case.hub}/${r.case.id}`,
      );
    };
    await waitUntil("b to index a's case", async () => (await search("hr-1")).length === 1, 20_000, 200);
    expect(await search("hr")).toEqual(["hub-a/uof-1"]);
    expect(await search("HR-1")).toEqual(["hub-a/uof-1"]);
    expect(await search("uf")).toEqual([]);
  }, 60_000);
});

describe("metrics: one hub label per member", () => {
  it("what arrived before the charter named the secretariat is labelled with its hub id, not a second label", async () => {
    let charter = false;
    const metrics = new PromMetrics({
      hubOf: (peer) => (charter && peer === "12D3KooWsecretariat" ? "ssr-secretariat" : ""),
      hubOfDirectory: (directory) => (charter && directory === "dir-s" ? "ssr-secretariat" : ""),
      census: { documents: async () => [] },
    });
    // Before this node has verified a charter: the anchor's first messages and its charter checkpoint.
    metrics.syncMessage("12D3KooWsecretariat", "libp2p", "in", 100);
    metrics.checkpointVerified("dir-s");
    charter = true;
    metrics.syncMessage("12D3KooWsecretariat", "libp2p", "in", 50);
    metrics.checkpointVerified("dir-s");
    const text = await metrics.registry.metrics();
    const hubs = (name: string) =>
      [...text.matchAll(new RegExp(`^${name}\\{[^}]*hub="([^"]*)"[^}]*\\} (\\S+)`, "gm"))].map((m) => [
        m[1],
        Number(m[2]),
      ]);
    expect(hubs("concordat_sync_bytes_total")).toEqual([["ssr-secretariat", 150]]);
    expect(hubs("concordat_sync_messages_total")).toEqual([["ssr-secretariat", 2]]);
    expect(hubs("concordat_checkpoint_verifications_total")).toEqual([["ssr-secretariat", 2]]);
  });
});
