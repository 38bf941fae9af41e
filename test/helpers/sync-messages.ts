import { createHash } from "node:crypto";
import * as A from "@automerge/automerge";
import { splitChunks, uleb } from "../../node/admission/index.js";

/** A sync message (v1) carrying `chunks` with the sender's `heads`. */
export function syncMessage(heads: string[], chunks: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [
    Uint8Array.from([0x42, ...uleb(heads.length)]),
    ...heads.map((h) => Buffer.from(h, "hex")),
    Uint8Array.from([0, 0, ...uleb(chunks.length)]),
  ];
  for (const c of chunks) parts.push(Uint8Array.from(uleb(c.byteLength)), c);
  return new Uint8Array(Buffer.concat(parts));
}

/**
 * A whole-document chunk of `doc` that states `heads` instead of its own: the heads are rewritten in
 * its header and its checksum recomputed, so that it parses. Only loading it shows the lie.
 */
export function lyingDocumentChunk(doc: A.Doc<unknown>, heads: string[]): Uint8Array {
  const saved = A.save(doc);
  const [chunk] = splitChunks(saved, { maxInflatedBytes: 0 });
  const own = chunk?.heads ?? [];
  if (own.length !== heads.length) throw new Error(`the document has ${own.length} heads, not ${heads.length}`);
  const out = Buffer.from(saved);
  for (const [i, head] of own.entries()) {
    const at = out.indexOf(Buffer.from(head, "hex"));
    Buffer.from(heads[i] as string, "hex").copy(out, at);
  }
  // The checksum: the first 4 bytes of SHA-256 over type, length and body (after magic and checksum).
  createHash("sha256").update(out.subarray(8)).digest().copy(out, 4, 0, 4);
  return new Uint8Array(out);
}
