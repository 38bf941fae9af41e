import { Client, credentials, type Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fieldViolations } from "../../node/api/errors.js";
import { AddTrainerRequest } from "../../node/api/generated/concordat/v1/trainers.js";
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
 * Bytes that are not a request: invalid UTF-8 in a string field is refused (never stored as
 * U+FFFD), and garbage answers INVALID_ARGUMENT (grpc-js would say INTERNAL), through a raw client
 * that sends bytes as they are.
 */
let node: TestNode;
let admin: TestClients;
let raw: Client;

const ADD_TRAINER = "/concordat.v1.TrainerService/AddTrainer";

beforeAll(async () => {
  node = await startTestNode();
  admin = node.clients(node.adminToken);
  raw = new Client(node.address, credentials.createInsecure());
});
afterAll(async () => {
  raw?.close();
  await node?.cleanup();
});

/** A unary call with identity serializers: `bytes` go on the wire as they are. */
function sendRaw(path: string, bytes: Buffer, metadata: Metadata = authMetadata(node.adminToken)): Promise<Buffer> {
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

/** An AddTrainer request whose display name is "Amina " then `bytes` (spliced in on the wire), padded with "A". */
function withNameBytes(id: string, bytes: number[]): Buffer {
  const marker = "@@MARK@@";
  const encoded = Buffer.from(
    AddTrainerRequest.encode({ trainer: makeTrainer(id, { displayName: `Amina ${marker}` }) }).finish(),
  );
  const at = encoded.indexOf(marker);
  // same length as the marker, so that every length prefix stays right
  const replacement = Buffer.from([...bytes, ...Array<number>(marker.length - bytes.length).fill(0x41)]);
  replacement.copy(encoded, at);
  return encoded;
}

/** A deterministic generator, so that a failure can be replayed. */
function* randomBuffers(seed: number, count: number): Generator<Buffer> {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
  for (let i = 0; i < count; i += 1) {
    const length = 1 + (next() % 300);
    yield Buffer.from(Array.from({ length }, () => next() >>> 24));
  }
}

describe("request bytes", () => {
  it("the raw client reaches the node: a well-formed request is added", async () => {
    await sendRaw(ADD_TRAINER, withNameBytes("RAW-OK", [0x4f, 0x4b]));
    expect((await admin.trainers.getTrainer({ id: "RAW-OK" })).displayName).toBe("Amina OKAAAAAA");
  });

  it("invalid UTF-8 in a trainer's display name is refused with INVALID_ARGUMENT naming the problem; nothing is stored", async () => {
    for (const bytes of [
      [0xff, 0xfe],
      [0xc3, 0x28],
      [0xed, 0xa0, 0x80] /* a UTF-16 surrogate */,
      [0xe2, 0x82],
    ]) {
      const error = await expectServiceError(sendRaw(ADD_TRAINER, withNameBytes("RAW-UTF8", bytes)));
      expect(error.code, error.details).toBe(status.INVALID_ARGUMENT);
      expect(fieldViolations(error)).toEqual([
        { field: "(request)", description: expect.stringContaining("not valid UTF-8") },
      ]);
    }
    expect((await expectServiceError(admin.trainers.getTrainer({ id: "RAW-UTF8" }))).code).toBe(status.NOT_FOUND);
  });

  it("bytes that are not a protobuf message answer INVALID_ARGUMENT, never INTERNAL, and the connection keeps working", async () => {
    // a length-delimited field that claims more bytes than follow; a field with wire type 7
    for (const bytes of [Buffer.from([0x0a, 0x05, 0x01]), Buffer.from([0x0f, 0x01])]) {
      const error = await expectServiceError(sendRaw(ADD_TRAINER, bytes));
      expect(error.code, error.details).toBe(status.INVALID_ARGUMENT);
      expect(fieldViolations(error)).toEqual([
        { field: "(request)", description: expect.stringContaining("not a protobuf message") },
      ]);
    }
    const codes = new Set<status>();
    for (const bytes of randomBuffers(20_261_126, 200)) {
      const error = await expectServiceError(sendRaw(ADD_TRAINER, bytes));
      codes.add(error.code);
    }
    expect([...codes]).toEqual([status.INVALID_ARGUMENT]);
    expect((await admin.node.getStatus({})).hubId).toBe("test-hub");
    expect((await admin.trainers.listTrainers({ pageSize: 10, pageToken: "" })).trainers.map((t) => t.id)).toEqual([
      "RAW-OK",
    ]);
  });
});
