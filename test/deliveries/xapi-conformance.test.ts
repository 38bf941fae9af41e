import { readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImmutableString } from "@automerge/automerge";
import {
  deliveriesIngestCommand,
  deliveriesPullCommand,
  deliveriesScoresCommand,
} from "../../cli/commands/deliveries.js";
import { fieldViolations } from "../../node/api/index.js";
import { VERBS, type Statement } from "../../node/deliveries/index.js";
import { startFederationWith, type FederationNode, type StartedFederation } from "../helpers/federation.js";
import { makeClients, makeTempDir } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";
import { adoptRelease, releaseCore } from "../helpers/core.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });
const fixture = (name: string) => join(import.meta.dirname, "..", "fixtures", "xapi", name);
const COURSE = { module: "mod-hr", start: "2027-02-01", end: "2027-02-28" };
const ACTIVITY = "https://academy.example/courses/mod-hr";
const LAUNCHED = "http://adlnet.gov/expapi/verbs/launched";

const statement = (
  n: number,
  learner: string,
  verb: string,
  extra: Partial<Statement> & { context?: unknown } = {},
): Statement => ({
  id: `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`,
  actor: { mbox: `mailto:${learner}@academy.example` },
  verb: { id: verb },
  object: { id: ACTIVITY },
  ...extra,
});
const voiding = (n: number, target: number): Statement => ({
  id: `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`,
  actor: { mbox: "mailto:admin@academy.example" },
  verb: { id: VERBS.voided },
  object: { objectType: "StatementRef", id: `00000000-0000-4000-8000-${target.toString(16).padStart(12, "0")}` },
});

/**
 * A small LRS on 127.0.0.1 that follows xAPI 1.0.3's GET /statements: the version header and Basic
 * auth required, `since` (exclusive), `activity` (+ `related_activities`) and `verb` filters, voided
 * statements left out, newest first, pages of `pageSize` linked by a relative `more`.
 */
class TestLrs {
  readonly statements: (Statement & { stored: string; context?: unknown })[] = [];
  readonly requests: { url: URL; version: string | undefined; auth: string | undefined }[] = [];
  /** A `more` link to send instead of the LRS's own (to test that it is not followed elsewhere). */
  moreOverride: string | undefined;
  #server: Server | undefined;
  #clock = Date.parse("2027-03-01T00:00:00Z");
  #results = new Map<string, unknown[]>();
  constructor(
    readonly user: string,
    readonly password: string,
    readonly pageSize = 3,
  ) {}

  add(...statements: Statement[]): void {
    for (const s of statements) {
      this.#clock += 1000;
      this.statements.push({ ...s, stored: new Date(this.#clock).toISOString() });
    }
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const version = req.headers["x-experience-api-version"] as string | undefined;
      this.requests.push({ url, version, auth: req.headers.authorization });
      const send = (code: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(code, { "content-type": "application/json", "x-experience-api-version": "1.0.3", ...headers });
        res.end(JSON.stringify(body));
      };
      if (!version?.startsWith("1.0.")) return send(400, { error: "X-Experience-API-Version header missing" });
      if (!this.#authorized(req))
        return send(401, { error: "unauthorized" }, { "www-authenticate": 'Basic realm="LRS"' });
      if (req.method !== "GET" || url.pathname !== "/xapi/statements") return send(404, { error: "not found" });
      const token = url.searchParams.get("page");
      let rest: unknown[];
      if (token !== null) {
        const kept = this.#results.get(token);
        if (!kept) return send(400, { error: "unknown page" });
        rest = kept;
      } else rest = this.#query(url.searchParams);
      const page = rest.slice(0, this.pageSize);
      let more = "";
      if (rest.length > this.pageSize) {
        const next = `${this.#results.size + 1}`;
        this.#results.set(next, rest.slice(this.pageSize));
        more = this.moreOverride ?? `/xapi/statements?page=${next}`;
      }
      send(200, { statements: page, more });
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/xapi`;
  }

  #authorized(req: IncomingMessage): boolean {
    const expected = `Basic ${Buffer.from(`${this.user}:${this.password}`).toString("base64")}`;
    return req.headers.authorization === expected;
  }

  #query(params: URLSearchParams): unknown[] {
    const since = params.get("since");
    const activity = params.get("activity");
    const verb = params.get("verb");
    const related = params.get("related_activities") === "true";
    const voided = new Set(
      this.statements.filter((s) => s.verb?.id === VERBS.voided).map((s) => String(s.object?.id).toLowerCase()),
    );
    const byId = new Map(this.statements.map((s) => [String(s.id).toLowerCase(), s]));
    // xAPI 1.0.3: a statement whose object is a StatementRef meets a filter when its target does.
    const matches = (s: (typeof this.statements)[number]): boolean => {
      if (s.object?.objectType === "StatementRef") {
        const target = byId.get(String(s.object.id).toLowerCase());
        return target !== undefined && matches(target);
      }
      if (verb !== null && s.verb?.id !== verb) return false;
      if (activity === null || s.object?.id === activity) return true;
      if (!related) return false;
      const ca = (s.context as { contextActivities?: Record<string, { id: string }[]> } | undefined)?.contextActivities;
      return Object.values(ca ?? {}).some((list) => list.some((a) => a.id === activity));
    };
    return this.statements
      .filter((s) => !voided.has(String(s.id).toLowerCase()))
      .filter((s) => since === null || Date.parse(s.stored) > Date.parse(since))
      .filter(matches)
      .reverse();
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

/**
 * xAPI / cmi5 as LRSs and the conformance suite write them: LRS pages, single statements, cmi5
 * result fields, `https` ADL verbs, voiding (in the same file, a later one, or before its target),
 * invalid statements refused, and pulling from an LRS's /statements with a kept cursor.
 */
describe("xAPI conformance: statements as LRSs write them, and pulling from an LRS", () => {
  let fed: StartedFederation;
  let dir: string;
  let lrs: TestLrs;
  let endpoint: string;
  let passwordFile: string;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const delivery = (id: string) => a().node.running.deliveries.get(id);
  const counts = (id: string) => {
    const d = delivery(id);
    return { learners: d.participants[0]?.unspecified ?? 0, completed: d.completed, passed: d.passed };
  };

  beforeAll(async () => {
    [fed, dir] = await Promise.all([
      startFederationWith(["s", "a"], [["a", "s"]]),
      makeTempDir("concordat-xapi-conformance-"),
    ]);
    await releaseCore(s(), {
      items: [["hr-1", "Competency"]],
      modules: [
        {
          id: "mod-hr",
          code: "M-HR",
          title: { en: "Human rights for police" },
          durationMinutes: 60,
          deliveryMode: "blended",
          units: [],
          competencies: ["hr-1"],
          materials: [],
        },
      ],
    });
    await adoptRelease(a());
    lrs = new TestLrs("lms-key", "s3cret:with colon");
    endpoint = await lrs.start();
    passwordFile = join(dir, "lrs-password");
    await writeFile(passwordFile, "s3cret:with colon\n");
  }, 90_000);
  afterAll(async () => {
    await lrs?.stop();
    await fed?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("reads an LRS page of cmi5 statements: result.success / completion, https ADL verbs, voiding in the same file", async () => {
    const io = memoryIo(true);
    await deliveriesIngestCommand({ ...cli(a()), id: "c-1", ...COURSE, file: fixture("cmi5-session.json") }, io);
    // Amina passed (https verb, success), u-2002 failed (took part), u-2003 completed (result.completion on
    // "experienced"), the sha1 learner passed (success on "answered"); the voided completion and the voiding
    // administrator count for nothing.
    expect(JSON.parse(io.out())).toMatchObject({ added: 9, duplicates: 0, voided: 1 });
    expect(counts("c-1")).toEqual({ learners: 4, completed: 3, passed: 2 });

    // The same file again: nothing changes.
    const again = memoryIo(true);
    await deliveriesIngestCommand({ ...cli(a()), id: "c-1", file: fixture("cmi5-session.json") }, again);
    expect(JSON.parse(again.out())).toMatchObject({ added: 0, duplicates: 9, voided: 0 });
    expect(counts("c-1")).toEqual({ learners: 4, completed: 3, passed: 2 });
  });

  it("accepts one statement object, as an LRS returns it for ?statementId=", async () => {
    const io = memoryIo();
    await deliveriesIngestCommand({ ...cli(a()), id: "c-1", file: fixture("single-statement.json") }, io);
    expect(io.out()).toContain("Counted 1 new statement(s)");
    expect(counts("c-1")).toEqual({ learners: 5, completed: 4, passed: 2 });
  });

  it("un-counts a learner whose only statement a later file voids; ingesting either file again changes nothing", async () => {
    const io = memoryIo(true);
    await deliveriesIngestCommand({ ...cli(a()), id: "c-1", file: fixture("voiding-later.json") }, io);
    expect(JSON.parse(io.out())).toMatchObject({ added: 1, voided: 1 });
    expect(counts("c-1")).toEqual({ learners: 4, completed: 3, passed: 2 });
    for (const name of ["cmi5-session.json", "voiding-later.json", "single-statement.json"])
      await deliveriesIngestCommand({ ...cli(a()), id: "c-1", file: fixture(name) }, memoryIo());
    expect(counts("c-1")).toEqual({ learners: 4, completed: 3, passed: 2 });
  });

  it("never counts a statement whose voiding came first, in the same file or an earlier one", async () => {
    const file = join(dir, "void-first.json");
    await writeFile(
      file,
      JSON.stringify([voiding(101, 102), statement(102, "v1", VERBS.completed), voiding(103, 104)]),
    );
    await deliveriesIngestCommand({ ...cli(a()), id: "c-2", ...COURSE, file }, memoryIo());
    expect(counts("c-2")).toEqual({ learners: 0, completed: 0, passed: 0 });
    await writeFile(file, JSON.stringify([statement(104, "v2", VERBS.passed), statement(105, "v3", LAUNCHED)]));
    await deliveriesIngestCommand({ ...cli(a()), id: "c-2", file }, memoryIo());
    expect(counts("c-2")).toEqual({ learners: 1, completed: 0, passed: 0 });
  });

  it("refuses statements xAPI calls invalid (no object, a voiding statement without a StatementRef), naming each; counts nothing", async () => {
    const file = join(dir, "invalid.json");
    const { object: _o, ...noObject } = statement(201, "x1", VERBS.completed);
    await writeFile(
      file,
      JSON.stringify([
        noObject,
        { ...voiding(202, 5), object: { objectType: "Activity", id: ACTIVITY } },
        statement(203, "x2", VERBS.completed, { object: { objectType: "Activity" } }),
        statement(204, "x3", VERBS.passed),
      ]),
    );
    const error = (await deliveriesIngestCommand({ ...cli(a()), id: "c-1", file }, memoryIo()).catch(
      (e: unknown) => e,
    )) as ServiceError;
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolations(error).map((v) => v.field)).toEqual([
      "statements[0].object",
      "statements[1].object.objectType",
      "statements[2].object.id",
    ]);
    expect(counts("c-1")).toEqual({ learners: 4, completed: 3, passed: 2 });
    await writeFile(join(dir, "one.json"), JSON.stringify(noObject));
    const single = (await deliveriesIngestCommand(
      { ...cli(a()), id: "c-1", file: join(dir, "one.json") },
      memoryIo(),
    ).catch((e: unknown) => e)) as ServiceError;
    expect(fieldViolations(single).map((v) => v.field)).toEqual(["statement.object"]);
  });

  it("a later voiding takes a score back: the learner's earlier score counts again, or none", async () => {
    const file = join(dir, "scores.json");
    const scored = (n: number, learner: string, scaled: number) =>
      statement(n, learner, VERBS.completed, { result: { score: { scaled } } });
    const reaction = async (statements: Statement[]) => {
      await writeFile(file, JSON.stringify(statements));
      await deliveriesScoresCommand({ ...cli(a()), id: "c-1", xapi: file, level: "reaction" }, memoryIo());
      const { responses, meanScore } = delivery("c-1").evaluation;
      return { responses, meanScore };
    };
    expect(await reaction([scored(601, "s1", 0.9), scored(602, "s2", 0.5)])).toEqual({ responses: 2, meanScore: 70 });
    expect(await reaction([scored(603, "s1", 0.7)])).toEqual({ responses: 2, meanScore: 60 });
    expect(await reaction([voiding(604, 603)])).toEqual({ responses: 2, meanScore: 70 });
    expect(await reaction([voiding(605, 602), scored(601, "s1", 0.9)])).toEqual({ responses: 1, meanScore: 90 });
  });

  it("reads an ingest state stored before statements kept their learner: counts stay, later statements add", async () => {
    const file = join(dir, "legacy.json");
    await writeFile(file, JSON.stringify([statement(701, "o1", VERBS.passed), statement(702, "o2", VERBS.completed)]));
    await deliveriesIngestCommand({ ...cli(a()), id: "c-6", ...COURSE, file }, memoryIo());
    // Rewrite the private state as the previous version stored it: bare statement hashes, learners' states.
    const documents = a().node.running.documents;
    await documents.transact({ operatorId: "test", action: "test.legacy", subjects: ["c-6"] }, () => ({
      edits: [
        {
          key: "deliveries-private",
          subject: "c-6",
          change: (doc) => {
            const ingest = doc.ingest as Record<string, { statements: ImmutableString; learners: ImmutableString }>;
            const kept = ingest["c-6"] as { statements: ImmutableString; learners: ImmutableString };
            const hashes = kept.statements
              .toString()
              .split(",")
              .map((item) => item.split(":")[0]);
            ingest["c-6"] = { statements: new ImmutableString(hashes.join(",")), learners: kept.learners };
          },
        },
      ],
      result: undefined,
    }));
    await writeFile(
      file,
      JSON.stringify([statement(701, "o1", VERBS.passed), statement(703, "o3", VERBS.completed), voiding(704, 702)]),
    );
    const io = memoryIo(true);
    await deliveriesIngestCommand({ ...cli(a()), id: "c-6", file }, io);
    expect(JSON.parse(io.out())).toMatchObject({ added: 2, duplicates: 1, voided: 1 });
    // o2's completion was read before its learner was kept: the voiding is remembered but cannot take it back.
    expect(counts("c-6")).toEqual({ learners: 3, completed: 3, passed: 1 });
  });

  it("holds against a raw gRPC client: a voided voiding statement stays applied; a bad mastery or source is refused", async () => {
    const raw = makeClients(a().node.address, a().node.adminToken);
    const target = { id: "c-3", ...COURSE, country: "", place: "", language: "", participants: [], completed: 9 };
    const base = {
      ...target,
      passed: 9,
      evaluation: undefined,
      assessments: [],
      learning: undefined,
      followUpDue: "",
      visibility: "",
      source: "",
      recordedAt: "",
      recordedBy: "",
      hub: "",
    };
    const result = await raw.deliveries.ingestStatements({
      delivery: base,
      // 301 counted, voided by 302; 303 tries to void the voiding statement (xAPI: it cannot).
      statementsJson: JSON.stringify([statement(301, "r1", VERBS.completed), voiding(302, 301), voiding(303, 302)]),
    });
    expect(result).toMatchObject({
      added: 3,
      voided: 1,
      delivery: { completed: 0, participants: [{ unspecified: 0 }] },
    });
    const bad = (await raw.deliveries
      .ingestStatements({
        delivery: base,
        statementsJson: JSON.stringify([statement(304, "r2", VERBS.completed)]),
        mastery: 5,
        source: "x".repeat(5000),
      })
      .catch((e: unknown) => e)) as ServiceError;
    expect(fieldViolations(bad).map((v) => v.field)).toEqual(["source", "mastery"]);
    expect(counts("c-3")).toEqual({ learners: 0, completed: 0, passed: 0 });
  });

  it("pulls from an LRS's /statements: version header and Basic auth, every page, then only what is new", async () => {
    lrs.add(
      statement(401, "p1", LAUNCHED, { context: { contextActivities: { parent: [{ id: ACTIVITY }] } } }),
      statement(402, "p1", "https://adlnet.gov/expapi/verbs/completed"),
      statement(403, "p2", VERBS.passed, { result: { success: true } }),
      statement(404, "p3", VERBS.failed, { result: { success: false } }),
      statement(405, "p4", VERBS.completed),
      statement(406, "p5", LAUNCHED, { object: { id: "https://academy.example/courses/other" } }),
      statement(407, "p6", "http://adlnet.gov/expapi/verbs/experienced", { result: { completion: true } }),
    );
    const pull = { ...cli(a()), id: "c-4", ...COURSE, lrs: endpoint, activity: ACTIVITY, relatedActivities: true };
    const auth = { user: "lms-key", passwordFile };

    // Without credentials, the LRS refuses; nothing is counted, and the node never saw a password.
    await expect(deliveriesPullCommand(pull, memoryIo())).rejects.toThrow(/401/);
    expect(() => delivery("c-4")).toThrow(/no delivery/);

    const io = memoryIo(true);
    await deliveriesPullCommand({ ...pull, ...auth }, io);
    const first = JSON.parse(io.out());
    expect(first).toMatchObject({ since: "", pages: 2, pulled: 6, ingested: { added: 6 } });
    expect(counts("c-4")).toEqual({ learners: 5, completed: 4, passed: 1 });
    const calls = lrs.requests.slice(-2);
    expect(calls.map((r) => r.version)).toEqual(["1.0.3", "1.0.3"]);
    expect(calls[0]?.url.searchParams.get("activity")).toBe(ACTIVITY);
    expect(calls[0]?.url.searchParams.get("related_activities")).toBe("true");
    expect(calls[0]?.url.searchParams.has("since")).toBe(false);
    expect(calls[1]?.url.searchParams.get("page")).not.toBeNull();
    const cursor = first.ingested.cursor as string;
    expect(cursor).toBe(lrs.statements[6]?.stored);

    // Later: p4's completion is voided, p7 and p8 complete. The next pull asks only since the cursor.
    lrs.add(voiding(408, 405), statement(409, "p7", VERBS.completed), statement(410, "p8", VERBS.completed));
    const next = memoryIo();
    await deliveriesPullCommand({ ...pull, ...auth }, next);
    expect(next.out()).toMatch(
      /Pulled 3 statement\(s\) \(stored after 2027-03-01T00:00:07.000Z, 1 page\(s\)\): 3 new, 0 seen before, 1 voiding/,
    );
    expect(lrs.requests.at(-1)?.url.searchParams.get("since")).toBe(cursor);
    expect(counts("c-4")).toEqual({ learners: 6, completed: 5, passed: 1 });

    // Nothing new: nothing sent to the node.
    const none = memoryIo();
    await deliveriesPullCommand({ ...pull, ...auth }, none);
    expect(none.out()).toContain("Nothing new");
    expect(lrs.requests.at(-1)?.url.searchParams.get("since")).toBe(lrs.statements[9]?.stored);
  });

  it("does not follow a 'more' link to another host, nor send credentials over plain http elsewhere", async () => {
    lrs.add(...[501, 502, 503, 504].map((n) => statement(n, `m${n}`, VERBS.completed)));
    lrs.moreOverride = "//lrs.attacker.example/xapi/statements?page=1";
    const before = lrs.requests.length;
    const pull = { ...cli(a()), id: "c-5", ...COURSE, lrs: endpoint, user: "lms-key", passwordFile };
    await expect(deliveriesPullCommand(pull, memoryIo())).rejects.toThrow(/lrs\.attacker\.example.*not followed/);
    expect(lrs.requests.length).toBe(before + 1);
    expect(() => delivery("c-5")).toThrow(/no delivery/);
    lrs.moreOverride = undefined;
    await expect(deliveriesPullCommand({ ...pull, lrs: "http://lrs.example/xapi" }, memoryIo())).rejects.toThrow(
      /only over https/,
    );
    await expect(
      deliveriesPullCommand({ ...pull, lrs: "https://key:secret@lrs.example/xapi" }, memoryIo()),
    ).rejects.toThrow(/not in the URL/);
    expect(await readFile(passwordFile, "utf8")).toContain("s3cret");
  });
});
