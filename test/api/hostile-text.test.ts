import { readFile, rm } from "node:fs/promises";
import { type Metadata, status, type ServiceError } from "@grpc/grpc-js";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fieldViolations,
  MAX_STATUS_DETAILS_BYTES,
  STATUS_DETAILS_KEY,
  toServiceError,
} from "../../node/api/errors.js";
import type { Case } from "../../node/api/generated/concordat/v1/cases.js";
import { invalidArgument } from "../../node/errors.js";
import { initDataDir } from "../../node/setup.js";
import {
  DEFAULT_CONFIG_URL,
  expectServiceError,
  makeTempDir,
  makeTrainer,
  startTestNode,
  type TestClients,
  type TestNode,
} from "../helpers/harness.js";

/**
 * Control characters, terminal escapes and bidirectional overrides are refused wherever text comes
 * in — API fields, and text inside the files the node decodes — naming the field and the character
 * as U+XXXX, never echoing the value; and what an error carries back is bounded.
 */
let node: TestNode;
let admin: TestClients;
let cases: TestClients["cases"];
let deliveries: TestClients["deliveries"];
let credentialService: TestClients["credentials"];

const OSC_TITLE = "\u001b]0;owned\u0007";
const CLEAR = "\u001b[2J";
/** Every character the rule refuses in any text, one of each kind. */
const HOSTILE = ["\u0000", "\u0007", "\u001b", "\u007f", "\u0085", "\u009b", "\u202e", "\u2067"];

beforeAll(async () => {
  // A secretariat: it takes core imports (CASE, Moodle) as well as everything a hub takes.
  const dataDir = await makeTempDir();
  await initDataDir({
    dataDir,
    hubId: "sec",
    name: "Secretariat",
    secretariat: true,
    baseConfig: await readFile(DEFAULT_CONFIG_URL, "utf8"),
    baseConfigSource: DEFAULT_CONFIG_URL.pathname,
  });
  node = await startTestNode({ dataDir });
  admin = node.clients(node.adminToken);
  // Without the client's token: each call below gives it.
  ({ cases, deliveries, credentials: credentialService } = node.clients());
});
afterAll(async () => {
  await node?.cleanup();
  if (node) await rm(node.dataDir, { recursive: true, force: true });
});

/** The whole of what an error carries back: message, and every field and description. */
function everything(error: ServiceError): string {
  return [error.details, ...fieldViolations(error).flatMap((v) => [v.field, v.description])].join("\n");
}

function expectRefused(error: ServiceError, field: string | RegExp, codePoint: string): void {
  expect(error.code, error.details).toBe(status.INVALID_ARGUMENT);
  const violation = fieldViolations(error).find((v) =>
    typeof field === "string" ? v.field === field : field.test(v.field),
  );
  expect(violation, JSON.stringify(fieldViolations(error))).toBeDefined();
  expect(violation?.description).toContain(codePoint);
  // the value is never echoed, not even in part
  expect(everything(error)).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  expect(everything(error)).not.toContain("owned");
}

const caseMessage = (overrides: Partial<Case>): Case => ({
  id: "CASE-1",
  kind: "case-study",
  title: "Community policing in Kisumu",
  summary: "",
  body: "What worked.\n\nAnd what did not.",
  language: "en",
  country: "KE",
  region: "",
  competencies: [],
  tags: [],
  evidence: [],
  review: "",
  visibility: "",
  version: "",
  hub: "",
  updatedAt: "",
  updatedBy: "",
  ...overrides,
});

describe("control characters, escapes and bidirectional overrides in API fields", () => {
  it("a trainer name holding a terminal title escape is refused, naming the field and U+001B; nothing is written", async () => {
    const error = await expectServiceError(
      admin.trainers.addTrainer({
        trainer: makeTrainer("ESC-1", { displayName: `Amina ${OSC_TITLE}${CLEAR}` }),
      }),
    );
    expectRefused(error, "trainer.display_name", "U+001B");
    expect((await expectServiceError(admin.trainers.getTrainer({ id: "ESC-1" }))).code).toBe(status.NOT_FOUND);
  });

  it("each kind of hostile character is refused in a title, by its code point", async () => {
    for (const c of HOSTILE) {
      const error = await expectServiceError(
        cases.addCase({ case: caseMessage({ title: `Kisumu${c}` }) }, { token: node.adminToken }),
      );
      const code = `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
      expectRefused(error, "case.title", code);
    }
  });

  it("one-line fields refuse tabs, line breaks and direction marks; multi-line notes keep them", async () => {
    for (const [displayName, code] of [
      ["Amina\nOdhiambo", "U+000A"],
      ["Amina\tOdhiambo", "U+0009"],
      ["Amina\u200f", "U+200F"],
    ] as const) {
      const error = await expectServiceError(
        admin.trainers.addTrainer({ trainer: makeTrainer("LINE-1", { displayName }) }),
      );
      expectRefused(error, "trainer.display_name", code);
    }
    const notes = "prefers mornings\n\tno Fridays\r\nالجمعة\u200f";
    const added = await admin.trainers.addTrainer({
      trainer: makeTrainer("LINE-2", { private: { email: "", phone: "", nationalId: "", notes } }),
    });
    expect(added.private?.notes).toBe(notes);
  });

  it("a field no validator reads is checked too: one check over every string of every request", async () => {
    // GetTrainer's id is only looked up: without the check at the API boundary it would be NOT_FOUND.
    expectRefused(await expectServiceError(admin.trainers.getTrainer({ id: `T${CLEAR}` })), "id", "U+001B");
    expectRefused(
      await expectServiceError(
        cases.searchCases(
          {
            text: "policing\u202e",
            competency: "",
            region: "",
            language: "",
            hub: "",
            kind: "",
            publicOnly: false,
            pageSize: 0,
            pageToken: "",
          },
          { token: node.adminToken },
        ),
      ),
      "text",
      "U+202E",
    );
  });
});

describe("text inside files is checked after decoding", () => {
  it("a CASE package whose JSON escapes ESC (\\u001b) in a statement, or a bidi override in a field kept verbatim, is refused", async () => {
    const pkg = JSON.parse(await readFile(new URL("../fixtures/case/ssr-core.json", import.meta.url), "utf8")) as {
      CFItems: Array<Record<string, unknown>>;
      CFDocument: Record<string, unknown>;
    };
    (pkg.CFItems[1] as Record<string, unknown>).fullStatement = `Applies standards${CLEAR}`;
    const json = JSON.stringify(pkg);
    expect(json).toContain("\\u001b"); // the file holds the escape, not the character
    const error = await expectServiceError(
      admin.core.importCore({ format: "case", content: Buffer.from(json), dryRun: true, language: "" }),
    );
    expectRefused(error, /^CFItems\[1\].*fullStatement/, "U+001B");

    const verbatim = structuredClone(pkg);
    (verbatim.CFItems[1] as Record<string, unknown>).fullStatement = "Applies standards";
    verbatim.CFDocument.officialSourceURL = "https://example.org/\u202egnp.exe";
    const second = await expectServiceError(
      admin.core.importCore({
        format: "case",
        content: Buffer.from(JSON.stringify(verbatim)),
        dryRun: true,
        language: "",
      }),
    );
    expectRefused(second, /officialSourceURL/, "U+202E");
  });

  it("a Moodle CSV with an escape sequence in a description is refused, naming its line and column", async () => {
    const csv = (await readFile(new URL("../fixtures/moodle/ssr-framework.csv", import.meta.url), "utf8")).replace(
      "Competencies for trainers",
      `Competencies ${OSC_TITLE} for trainers`,
    );
    const error = await expectServiceError(
      admin.core.importCore({ format: "moodle", content: Buffer.from(csv), dryRun: true, language: "" }),
    );
    expectRefused(error, "line 2, Description", "U+001B");
  });

  it("xAPI statements whose JSON escapes a control character are refused, and nothing is counted", async () => {
    const statements = JSON.stringify([
      {
        id: "6f1e4c2a-0000-4000-8000-000000000001",
        actor: { mbox: "mailto:learner@example.org" },
        verb: { id: "http://adlnet.gov/expapi/verbs/completed", display: { en: `completed${CLEAR}` } },
        object: { id: "https://example.org/course" },
      },
    ]);
    const delivery = {
      id: "D-1",
      module: "m",
      start: "2027-01-01",
      end: "2027-01-02",
      country: "",
      place: "",
      language: "",
      participants: [],
      completed: 0,
      passed: 0,
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
    const error = await expectServiceError(
      deliveries.ingestStatements({ delivery, statementsJson: statements }, { token: node.adminToken }),
    );
    expectRefused(error, "statements[0].verb.display.en", "U+001B");
  });

  it("a case import whose body holds a C1 control is refused whole", async () => {
    const error = await expectServiceError(
      cases.importCases(
        {
          cases: [
            { source: "ok.md", case: caseMessage({ id: "C-OK" }) },
            { source: "bad.md", case: caseMessage({ id: "C-BAD", body: "text\u009b2J" }) },
          ],
          dryRun: false,
        },
        { token: node.adminToken },
      ),
    );
    expectRefused(error, "cases[1].case.body", "U+009B");
    expect((await expectServiceError(cases.getCase({ hub: "", id: "C-OK" }, { token: node.adminToken }))).code).toBe(
      status.NOT_FOUND,
    );
  });

  it("a credential whose JSON escapes a bidirectional override is refused before it is verified", async () => {
    const credential = JSON.stringify({
      "@context": ["https://www.w3.org/ns/credentials/v2"],
      id: "urn:uuid:1",
      type: ["VerifiableCredential"],
      issuer: "did:key:z6Mk",
      name: "Trainer \u202eredaeL",
    }).replace("\u202e", "\\u202e");
    expect(credential).toContain("\\u202e"); // the JSON holds the escape, not the character
    const error = await expectServiceError(
      credentialService.verifyCredential({ json: credential, at: "", issuerKey: "" }, { token: node.adminToken }),
    );
    expectRefused(error, "json.name", "U+202E");
  });
});

describe("what an error carries back is bounded", () => {
  it("200 KB bad values: a clean INVALID_ARGUMENT echoing at most 40 characters of each, and the connection keeps working", async () => {
    const huge = "Z".repeat(200_000);
    const error = await expectServiceError(
      admin.trainers.addTrainer({
        trainer: makeTrainer("BIG-1", {
          languages: [{ tag: "en", level: huge }],
          regions: [huge, `${huge}Y`, `${huge}X`],
        }),
      }),
    );
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    const violations = fieldViolations(error);
    expect(violations.map((v) => v.field)).toEqual([
      "trainer.languages[0].level",
      "trainer.regions[0]",
      "trainer.regions[1]",
      "trainer.regions[2]",
    ]);
    for (const v of violations) {
      expect(v.description).toContain(`'${"Z".repeat(40)}…'`);
      expect(v.description).not.toContain("Z".repeat(41));
    }
    const details = error.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer;
    expect(details.byteLength).toBeLessThanOrEqual(MAX_STATUS_DETAILS_BYTES);
    expect(error.details.length).toBeLessThanOrEqual(1001);
    // the same client goes on working
    expect((await admin.node.getStatus({})).hubId).toBe("sec");
  });

  it("whatever a validator puts in its violations, the status stays under the trailer budget and shows no control character", () => {
    const log = pino({ level: "silent" });
    const violations = Array.from({ length: 120 }, (_, i) => ({
      field: `f${i}.${"x".repeat(100_000)}`,
      description: `${"\u001b[2J".repeat(10)}${"y".repeat(200_000)}`,
    }));
    const refused = toServiceError(invalidArgument(violations), log, "Test");
    const metadata = refused.metadata as Metadata;
    const bytes = metadata.get(STATUS_DETAILS_KEY)[0] as Buffer;
    expect(bytes.byteLength).toBeLessThanOrEqual(MAX_STATUS_DETAILS_BYTES);
    const shown = fieldViolations({ metadata });
    expect(shown.at(-1)?.field).toBe("(more)");
    expect(shown.at(-1)?.description).toBe(`and ${120 - (shown.length - 1)} more problems`);
    for (const v of shown) {
      expect(v.field.length).toBeLessThanOrEqual(201);
      expect(v.description.length).toBeLessThanOrEqual(301 + 30 * 3);
      expect(v.description).not.toContain("\u001b");
    }
    expect((refused.details ?? "").length).toBeLessThanOrEqual(1001 + 30 * 3);
    expect(refused.details).not.toContain("\u001b");
  });
});
