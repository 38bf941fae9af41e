import { describe, expect, it } from "vitest";
import { charterSigning, CheckpointLog, type CharterWritten } from "../../bench/lib/federation-nodes.js";

/**
 * The bench's federations wait, before any hub starts, until the secretariat has signed the whole
 * charter. The wait reads the secretariat's "signed checkpoints" lines; it must neither miss a
 * signing that the node logged before the bench saw the last admission acknowledged (a busy
 * machine delays the acknowledgement past the batch window), nor take the signing of an earlier
 * admission for the whole charter.
 */
const CHARTER = "charter-doc";
const written: CharterWritten = { document: CHARTER, heads: [["a1"], ["b2"], ["c3"]], ackedAt: 10_000 };

function signedLine(time: number, seq: number, heads: string[], document = CHARTER): Record<string, unknown> {
  return { msg: "signed checkpoints", time, kind: "checkpoint", documents: 1, seq, signed: [{ document, seq, heads }] };
}

describe("the bench's wait for the signed charter", () => {
  it("counts a signing of the whole charter that the node logged before the bench saw the last admission acknowledged", () => {
    const log = new CheckpointLog({ logs: [signedLine(9_000, 1, ["a1"]), signedLine(9_960, 2, ["c3"])] });
    expect(charterSigning(log, written, 60_000).signed).toBe(true);
  });

  it("does not take the signing of an earlier admission for the whole charter, and says how far the signed one goes", () => {
    const log = new CheckpointLog({ logs: [signedLine(9_000, 1, ["a1"]), signedLine(10_050, 2, ["b2"])] });
    const state = charterSigning(log, written, 60_000);
    expect(state.signed).toBe(false);
    expect(state.seen).toContain("2 of 3 members");
    expect(state.seen).toContain("seq 2");
  });

  it("ignores signings of other documents and says when the charter is not signed at all", () => {
    const log = new CheckpointLog({ logs: [signedLine(10_050, 1, ["c3"], "roster-doc")] });
    const state = charterSigning(log, written, 60_000);
    expect(state.signed).toBe(false);
    expect(state.seen).toContain("no signed charter");
  });
});
