import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Client, credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";
import countries from "i18n-iso-countries";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fieldViolations } from "../../node/api/errors.js";
import { isServiceError } from "../../node/api/index.js";
import { FindAvailableTrainersRequest } from "../../node/api/generated/concordat/v1/availability.js";
import { AddCaseRequest, SearchCasesRequest, type Case } from "../../node/api/generated/concordat/v1/cases.js";
import { ReplicationServiceClient, type ReplicateResponse } from "../../node/api/generated/concordat/v1/replication.js";
import {
  AddTrainerRequest,
  GetTrainerRequest,
  type ImportResult,
  type ImportRow,
  type ImportTrainersRequest,
  type Trainer,
} from "../../node/api/generated/concordat/v1/trainers.js";
import { API_MAX_RECEIVE_MESSAGE_BYTES, maxRequestBytes } from "../../node/api/server.js";
import { MAX_IMPORT_BYTES, MAX_IMPORT_ROW_BYTES } from "../../node/api/trainer-service.js";
import {
  authMetadata,
  CALL_DEADLINE_MS,
  expectServiceError,
  makeTrainer,
  startTestNode,
  type TestClients,
  type TestNode,
} from "../helpers/harness.js";

/**
 * What a request may cost the node: the bearer token is checked before a byte of the body is read;
 * each message is bounded (server-wide and per method); an import stream is bounded per row and in
 * all; queries and lists are bounded in size. Every refusal names the limit, and the node goes on.
 */
let node: TestNode;
let admin: TestClients;
let raw: Client;
let availability: TestClients["availability"];
let cases: TestClients["cases"];

const MiB = 1024 * 1024;
const ADD_TRAINER = "/concordat.v1.TrainerService/AddTrainer";

beforeAll(async () => {
  node = await startTestNode({ env: { CONCORDAT_METRICS_PORT: "0" } });
  admin = node.clients(node.adminToken);
  raw = new Client(node.address, credentials.createInsecure());
  // Without the client's token: each call below gives it.
  ({ availability, cases } = node.clients());
});
afterAll(async () => {
  raw?.close();
  await node?.cleanup();
});

function sendRaw(path: string, bytes: Buffer, metadata: Metadata): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    raw.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      metadata,
      { deadline: Date.now() + CALL_DEADLINE_MS },
      (error: ServiceError | null, response?: Buffer) => (error ? reject(error) : resolve(response as Buffer)),
    );
  });
}

/** Bytes of request messages the node has read whole for `method` (its Prometheus counter). */
async function bytesRead(method: string): Promise<number> {
  const runtime = JSON.parse(await readFile(join(node.dataDir, "node.json"), "utf8")) as { metrics?: string };
  const text = await (
    await fetch(`http://${runtime.metrics}/metrics`, { signal: AbortSignal.timeout(CALL_DEADLINE_MS) })
  ).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith("concordat_api_request_bytes_total{") && l.includes(`method="${method}"`));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

/** An encoded AddTrainer request of about `size` bytes (a long display name). */
function addTrainerOfSize(id: string, size: number): Buffer {
  return Buffer.from(
    AddTrainerRequest.encode({ trainer: makeTrainer(id, { displayName: "x".repeat(size) }) }).finish(),
  );
}

describe("authentication comes before the body", () => {
  it("unauthenticated 3 MiB requests are refused with UNAUTHENTICATED without the node reading them; an authenticated one is read", async () => {
    const body = addTrainerOfSize("BIG-ANON", 3 * MiB);
    const before = await bytesRead("TrainerService/AddTrainer");
    const anonymous = [
      new Metadata(),
      authMetadata("cct_0123456789abcdef.wrong-secret-wrong-secret-wrong-secret-wrong"),
      authMetadata("not-a-token"),
    ];
    for (let i = 0; i < 12; i += 1) {
      const error = await expectServiceError(sendRaw(ADD_TRAINER, body, anonymous[i % anonymous.length] as Metadata));
      expect(error.code, error.details).toBe(status.UNAUTHENTICATED);
    }
    // 36 MiB were sent; not one byte of them was read into a message
    expect(await bytesRead("TrainerService/AddTrainer")).toBe(before);

    // with a token, the same body is read (and refused for its size): the counter does see reads
    const error = await expectServiceError(sendRaw(ADD_TRAINER, body, authMetadata(node.adminToken)));
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(await bytesRead("TrainerService/AddTrainer")).toBe(before + body.byteLength);
  });

  it("health checks and the Replicate stream need no operator token", async () => {
    expect((await admin.health.check({ service: "" }, { metadata: new Metadata() })).status).toBe("SERVING");
    // Replicate authenticates peers in its first frames: a wrong first frame is answered by it, not by the token check
    const replication = new ReplicationServiceClient(node.address, credentials.createInsecure());
    try {
      const code = await new Promise<status>((resolve) => {
        const stream = replication.replicate(new Metadata(), { deadline: Date.now() + CALL_DEADLINE_MS });
        stream.on("data", (_: ReplicateResponse) => undefined);
        stream.on("error", (error: ServiceError) => resolve(error.code));
        stream.write({ frame: { $case: "proof", value: { signature: Buffer.alloc(64) } } });
      });
      expect(code).toBe(status.INVALID_ARGUMENT);
    } finally {
      replication.close();
    }
  });
});

describe("message sizes", () => {
  it(`a message over the server's limit (${API_MAX_RECEIVE_MESSAGE_BYTES / MiB} MiB) is refused with RESOURCE_EXHAUSTED before it is read`, async () => {
    const before = await bytesRead("TrainerService/AddTrainer");
    const error = await expectServiceError(
      sendRaw(
        ADD_TRAINER,
        addTrainerOfSize("HUGE", API_MAX_RECEIVE_MESSAGE_BYTES + 1024),
        authMetadata(node.adminToken),
      ),
    );
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(error.details).toContain(String(API_MAX_RECEIVE_MESSAGE_BYTES));
    expect(await bytesRead("TrainerService/AddTrainer")).toBe(before);
    expect((await admin.node.getStatus({})).hubId).toBe("test-hub");
  });

  it("each method takes at most its own size, naming it: a lookup is small", async () => {
    const limit = maxRequestBytes("/concordat.v1.TrainerService/GetTrainer");
    const bytes = Buffer.from(GetTrainerRequest.encode({ id: "T".repeat(limit) }).finish());
    const error = await expectServiceError(
      sendRaw("/concordat.v1.TrainerService/GetTrainer", bytes, authMetadata(node.adminToken)),
    );
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(fieldViolations(error)).toEqual([
      {
        field: "(request)",
        description: `is ${bytes.byteLength} bytes; TrainerService/GetTrainer takes at most ${limit} bytes per message`,
      },
    ]);
  });

  it("the largest trainer and the largest case the validators accept fit their methods' limits, and are accepted", async () => {
    const wide = "保"; // three bytes in UTF-8
    const date = (day: number) => new Date(Date.UTC(2026, 0, 1) + day * 86_400_000).toISOString();
    const regions = [
      ...Object.keys(countries.getAlpha2Codes()),
      ...Array.from({ length: 60 }, (_, i) => `KE-${String(i + 1).padStart(2, "0")}`),
    ].slice(0, 300);
    const languages = [
      "en",
      "fr",
      "es",
      "ar",
      "ru",
      "zh",
      "pt",
      "sw",
      "de",
      "it",
      "nl",
      "sv",
      "pl",
      "tr",
      "ja",
      "ko",
      "hi",
      "am",
      "so",
      "ha",
    ].map((tag) => ({ tag, level: "C2" }));
    const code = (prefix: string, i: number) => `${prefix}${i}`.padEnd(64, "x");
    const trainer: Trainer = makeTrainer("MAX-1", {
      displayName: wide.repeat(200),
      languages,
      regions,
      accreditations: Array.from({ length: 100 }, (_, i) => ({
        scheme: code("s", i),
        competency: code("c", i),
        level: code("l", i),
        validFrom: "2025-01-01T00:00:00.000Z",
        validUntil: "2030-01-01T00:00:00.000Z",
        status: "active",
      })),
      availability: Array.from({ length: 500 }, (_, i) => ({ start: date(i), end: date(i + 1) })),
      blackouts: Array.from({ length: 500 }, (_, i) => ({ start: date(i), end: date(i + 1) })),
      private: {
        email: `${"a".repeat(240)}@example.org`,
        phone: "+254 700 000000",
        nationalId: wide.repeat(64),
        notes: wide.repeat(4000),
      },
    });
    const trainerBytes = AddTrainerRequest.encode({ trainer }).finish().byteLength;
    expect(trainerBytes).toBeGreaterThan(90_000);
    expect(trainerBytes).toBeLessThan(maxRequestBytes(ADD_TRAINER));
    expect(trainerBytes).toBeLessThan(MAX_IMPORT_ROW_BYTES);
    expect((await admin.trainers.addTrainer({ trainer })).id).toBe("MAX-1");

    const bigCase: Case = {
      id: "C".repeat(128),
      kind: "case-study",
      title: wide.repeat(300),
      summary: wide.repeat(2000),
      body: wide.repeat(200_000),
      language: "en",
      country: "KE",
      region: wide.repeat(100),
      competencies: [],
      tags: Array.from({ length: 30 }, (_, i) => `${i}`.padEnd(60, wide)),
      evidence: Array.from({ length: 30 }, (_, i) => ({
        url: `https://example.org/${i}/${"p".repeat(1970)}`,
        sha256: "a".repeat(64),
        label: wide.repeat(200),
      })),
      review: "draft",
      visibility: "internal",
      version: "1",
      hub: "",
      updatedAt: "",
      updatedBy: "",
    };
    const caseBytes = AddCaseRequest.encode({ case: bigCase }).finish().byteLength;
    expect(caseBytes).toBeGreaterThan(600_000);
    expect(caseBytes).toBeLessThan(maxRequestBytes("/concordat.v1.CaseService/AddCase"));
    expect((await cases.addCase({ case: bigCase }, { token: node.adminToken })).id).toBe(bigCase.id);
  });
});

describe("queries and lists are bounded", () => {
  it("an availability query with too many module competencies, or an overlong competency, is refused naming the field", async () => {
    const base = { from: "2027-03-01", to: "2027-03-05" };
    const many = await expectServiceError(
      availability.findAvailableTrainers(
        FindAvailableTrainersRequest.fromPartial({
          ...base,
          moduleCompetencies: Array.from({ length: 201 }, (_, i) => `c-${i}`),
        }),
        { token: node.adminToken },
      ),
    );
    expect(fieldViolations(many)).toEqual([
      { field: "module_competencies", description: "has 201 entries; at most 200 allowed" },
    ]);
    const long = await expectServiceError(
      availability.findAvailableTrainers(
        FindAvailableTrainersRequest.fromPartial({ ...base, competency: "c".repeat(5000) }),
        { token: node.adminToken },
      ),
    );
    expect(fieldViolations(long)).toEqual([
      { field: "competency", description: "is 5000 characters long; at most 128 allowed" },
    ]);
  });

  it("a case search with too much text, or an overlong filter, is refused naming the field", async () => {
    const text = await expectServiceError(
      cases.searchCases(SearchCasesRequest.fromPartial({ text: "word ".repeat(300) }), { token: node.adminToken }),
    );
    expect(fieldViolations(text)).toEqual([
      { field: "text", description: "is 1500 characters long; a search takes at most 1000" },
    ]);
    const region = await expectServiceError(
      cases.searchCases(SearchCasesRequest.fromPartial({ text: "policing", region: "r".repeat(101) }), {
        token: node.adminToken,
      }),
    );
    expect(fieldViolations(region)).toEqual([
      { field: "region", description: "is 101 characters long; at most 100 allowed" },
    ]);
  });

  it("core record lists are bounded per call", async () => {
    const put = await expectServiceError(
      admin.core.putCoreRecords({
        kind: "item",
        records: Array.from({ length: 10_001 }, () => "{}"),
        merge: false,
      }),
    );
    expect(fieldViolations(put)).toEqual([
      { field: "records", description: "has 10001 entries; at most 10000 per call" },
    ]);
    const remove = await expectServiceError(
      admin.core.removeCoreRecords({ kind: "item", ids: Array.from({ length: 1001 }, (_, i) => `i${i}`) }),
    );
    expect(fieldViolations(remove)).toEqual([{ field: "ids", description: "has 1001 entries; at most 1000 per call" }]);
  });
});

/**
 * ImportTrainers with `messages` written as fast as the stream takes them; resolves with the
 * outcome (or the error) and how many messages were written before the call ended.
 */
async function importStream(
  messages: Iterable<ImportTrainersRequest>,
): Promise<{ result?: ImportResult; error?: ServiceError; written: number }> {
  let written = 0;
  function* counted(): Generator<ImportTrainersRequest> {
    for (const message of messages) {
      written += 1;
      yield message;
    }
  }
  return admin.trainers.importTrainers(counted(), { deadlineMs: 120_000 }).then(
    (result) => ({ result, written }),
    (error: unknown) => {
      if (isServiceError(error)) return { error, written };
      throw error;
    },
  );
}

const rowsMessage = (rows: ImportRow[]): ImportTrainersRequest => ({ part: { $case: "rows", value: { rows } } });
const OPTIONS: ImportTrainersRequest = {
  part: { $case: "options", value: { skipInvalid: false, dryRun: false, upsert: false } },
};

describe("an import stream is bounded per row and in all", () => {
  it(`a row over ${MAX_IMPORT_ROW_BYTES / 1024} KiB is refused with RESOURCE_EXHAUSTED naming its line and the limit; nothing is imported`, async () => {
    const big: ImportRow = {
      line: 3,
      trainer: makeTrainer("ROW-BIG", { displayName: "x".repeat(MAX_IMPORT_ROW_BYTES) }),
    };
    const { error } = await importStream([OPTIONS, rowsMessage([{ line: 2, trainer: makeTrainer("ROW-OK") }, big])]);
    expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(fieldViolations(error as ServiceError)).toEqual([
      {
        field: "rows[1]",
        description: expect.stringMatching(
          /^the row of line 3 is \d+ bytes; a row of an import may be at most 256 KiB$/,
        ),
      },
    ]);
    expect((await expectServiceError(admin.trainers.getTrainer({ id: "ROW-OK" }))).code).toBe(status.NOT_FOUND);
  });

  it(`a stream of more than ${MAX_IMPORT_BYTES / MiB} MiB is refused as it arrives, long before the client has sent it all`, async () => {
    // rows of about 200 KB, eight to a message: twice the limit offered in all
    const name = "y".repeat(200 * 1024);
    const offered = Math.ceil((2 * MAX_IMPORT_BYTES) / (8 * name.length));
    function* messages(): Generator<ImportTrainersRequest> {
      yield OPTIONS;
      for (let m = 0; m < offered; m += 1) {
        yield rowsMessage(
          Array.from({ length: 8 }, (_, r) => ({
            line: 2 + m * 8 + r,
            trainer: makeTrainer(`BULK-${m}-${r}`, { displayName: name, private: undefined }),
          })),
        );
      }
    }
    const before = await bytesRead("TrainerService/ImportTrainers");
    const { error, written } = await importStream(messages());
    expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(fieldViolations(error as ServiceError)).toEqual([
      {
        field: "rows",
        description: expect.stringMatching(
          /^the rows up to line \d+ are over 64 MiB, the most one import may hold; split the file/,
        ),
      },
    ]);
    // what the node read stops near the limit, whatever the client had queued
    const read = (await bytesRead("TrainerService/ImportTrainers")) - before;
    expect(read).toBeGreaterThan(MAX_IMPORT_BYTES);
    expect(read).toBeLessThan(MAX_IMPORT_BYTES + 24 * 8 * name.length);
    expect(written).toBeLessThan(offered);
    expect((await expectServiceError(admin.trainers.getTrainer({ id: "BULK-0-0" }))).code).toBe(status.NOT_FOUND);
    expect((await admin.node.getStatus({})).hubId).toBe("test-hub");
  });
});
