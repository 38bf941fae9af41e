import * as A from "@automerge/automerge";
import { describe, expect, it } from "vitest";
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
