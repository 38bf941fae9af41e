import { generateAutomergeUrl, parseAutomergeUrl } from "@automerge/automerge-repo";
import { describe, expect, it } from "vitest";
import { ConcordatError, ErrorCode } from "../../node/errors.js";
import {
  charterIdOf,
  directoryIdOf,
  documentId,
  hubId,
  isDocumentId,
  isHubId,
  isPeerId,
  isRepoPeerId,
  ownedDocumentId,
  peerId,
  repoPeerId,
} from "../../node/ids.js";

const PEER = "12D3KooWGzh8Qj3DYXUTMYKpwvk3WGyCtpYDXDw1Nt9Ajm5dWEMG";

/** The error `parse(text)` throws: INVALID_ARGUMENT with one violation. */
function refusal(parse: () => unknown): { field: string; description: string; message: string } {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ConcordatError);
    const e = error as ConcordatError;
    expect(e.code).toBe(ErrorCode.InvalidArgument);
    expect(e.violations).toHaveLength(1);
    const [v] = e.violations;
    return { field: v!.field, description: v!.description, message: e.message };
  }
  throw new Error("expected the parse to throw");
}

describe("document ids", () => {
  it("accepts automerge-repo's ids and ours, and returns them unchanged", () => {
    const random = parseAutomergeUrl(generateAutomergeUrl()).documentId;
    expect(documentId(random)).toBe(random);
    const ours = ownedDocumentId(directoryIdOf(PEER), "roster/3");
    expect(documentId(ours)).toBe(ours);
    expect(isDocumentId(ours)).toBe(true);
  });

  it("derives owned ids deterministically, distinct per owner and key", () => {
    const directory = directoryIdOf(PEER);
    expect(directoryIdOf(PEER)).toBe(directory);
    expect(ownedDocumentId(directory, "roster/1")).toBe(ownedDocumentId(directory, "roster/1"));
    expect(ownedDocumentId(directory, "roster/1")).not.toBe(ownedDocumentId(directory, "roster/2"));
    expect(charterIdOf(PEER)).toBe(ownedDocumentId(directory, "charter"));
    for (const id of [directory, charterIdOf(PEER)]) expect(isDocumentId(id)).toBe(true);
  });

  it.each([
    ["", "document_id", /is empty/],
    ["x".repeat(65), "document_id", /65 characters long; a document id has at most 64/],
    ["not a document id", "document_id", /'not a document id' is not a document id \(base58check/],
    // One character changed: the checksum no longer matches.
    [
      `${directoryIdOf(PEER).slice(0, -1)}${directoryIdOf(PEER).endsWith("1") ? "2" : "1"}`,
      "document_id",
      /is not a document id/,
    ],
    [`automerge:${directoryIdOf(PEER)}`, "document_id", /is an automerge URL; give the document id after 'automerge:'/],
    ["abc\u001b[2J", "document_id", /U\+001B \(a control character\)/],
  ])("refuses %j, naming the field and the problem", (text, field, problem) => {
    const e = refusal(() => documentId(text));
    expect(e.field).toBe(field);
    expect(e.description).toMatch(problem);
    expect(e.message).toContain(`${field}: `);
    expect(isDocumentId(text)).toBe(false);
  });

  it("names the field it is given", () => {
    expect(refusal(() => documentId("nope", "directory_id")).field).toBe("directory_id");
    expect(isDocumentId(42)).toBe(false);
  });
});

describe("hub ids", () => {
  it.each(["nairobi", "hub-ke-01", "a1", "0x", "a".repeat(63)])("accepts %j", (text) => {
    expect(hubId(text)).toBe(text);
    expect(isHubId(text)).toBe(true);
  });

  it.each([
    ["", /is empty/],
    ["a", /'a' is not a hub id \(2-63 characters of a-z, 0-9 and '-', starting with a letter or digit\)/],
    ["a".repeat(64), /is not a hub id/],
    ["Nairobi", /'Nairobi' is not a hub id/],
    ["-nairobi", /'-nairobi' is not a hub id/],
    ["hub_ke", /'hub_ke' is not a hub id/],
    ["hub\nke", /U\+000A \(a line break\)/],
  ])("refuses %j, naming the field and the problem", (text, problem) => {
    const e = refusal(() => hubId(text));
    expect(e.field).toBe("hub");
    expect(e.description).toMatch(problem);
    expect(isHubId(text)).toBe(false);
  });

  it("names the field it is given", () => {
    expect(refusal(() => hubId("Bad Id", "config.hub.id")).message).toMatch(
      /^config\.hub\.id: 'Bad Id' is not a hub id/,
    );
  });
});

describe("peer ids", () => {
  it("accepts an Ed25519 libp2p peer id", () => {
    expect(peerId(PEER)).toBe(PEER);
    expect(isPeerId(PEER)).toBe(true);
  });

  it.each([
    ["", /is empty/],
    ["alice", /'alice' is not an Ed25519 libp2p peer id \(12D3KooW…\)/],
    // An RSA peer id (Qm…) is a libp2p peer id, but not a key a node signs with.
    ["QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N", /is not an Ed25519 libp2p peer id/],
    [`${PEER}0`, /is not an Ed25519 libp2p peer id/],
    [`${PEER.slice(0, -1)}\u202e`, /U\+202E \(a bidirectional override or isolate\)/],
  ])("refuses %j, naming the field and the problem", (text, problem) => {
    const e = refusal(() => peerId(text));
    expect(e.field).toBe("peer_id");
    expect(e.description).toMatch(problem);
    expect(isPeerId(text)).toBe(false);
  });

  it("takes any name up to 256 characters as a repo peer id (the sync layer's), and nothing else", () => {
    for (const ok of [PEER, "alice", "hub-a:test", "x".repeat(256)]) expect(isRepoPeerId(ok)).toBe(true);
    for (const bad of ["", "x".repeat(257), 7, undefined, null]) expect(isRepoPeerId(bad)).toBe(false);
  });

  it("makes a repo peer id of a name, or names the problem", () => {
    expect(repoPeerId("hub-a:test")).toBe("hub-a:test");
    expect(refusal(() => repoPeerId(""))).toMatchObject({ field: "peer_id", description: "is empty" });
    expect(refusal(() => repoPeerId("x".repeat(257), "hello.peerId"))).toMatchObject({
      field: "hello.peerId",
      description: "is 257 characters long; a peer id has at most 256",
    });
  });
});
