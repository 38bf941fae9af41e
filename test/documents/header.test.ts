import * as A from "@automerge/automerge";
import { describe, expect, it } from "vitest";
import { decodeEndorsement } from "../../node/cases/index.js";
import { documentTypeOf, makeHeader } from "../../node/documents/index.js";

describe("documentTypeOf", () => {
  it("reads the type a header names, as stored in Automerge or as plain JSON, and nothing without a header", () => {
    const stored = A.from({ header: makeHeader("outbox", "hub-a") });
    expect(documentTypeOf(stored)).toBe("outbox");
    expect(documentTypeOf({ header: { type: "roster" } })).toBe("roster");
    expect(documentTypeOf({ header: { type: 7 } })).toBeUndefined();
    expect(documentTypeOf({})).toBeUndefined();
    expect(documentTypeOf(undefined)).toBeUndefined();
  });
});

describe("decodeStored", () => {
  const endorsement = { hub: "hub-a", caseId: "kisumu", by: "op", at: "2026-01-01T00:00:00.000Z", note: "" };

  it("reads a record stored as JSON text, as an ImmutableString or a plain string", () => {
    expect(decodeEndorsement(new A.ImmutableString(JSON.stringify(endorsement)))).toEqual(endorsement);
    expect(decodeEndorsement(JSON.stringify(endorsement))).toEqual(endorsement);
  });

  it("gives nothing for text that is not JSON, a record of another shape, or no text at all", () => {
    expect(decodeEndorsement(new A.ImmutableString("{not json"))).toBeUndefined();
    expect(decodeEndorsement(JSON.stringify({ ...endorsement, caseId: 7 }))).toBeUndefined();
    expect(decodeEndorsement(JSON.stringify({ hub: "hub-a" }))).toBeUndefined();
    expect(decodeEndorsement(42)).toBeUndefined();
    expect(decodeEndorsement(undefined)).toBeUndefined();
  });
});
