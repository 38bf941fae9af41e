import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import type { SignedCheckpoint } from "../authority/index.js";

/**
 * An audit bundle: everything a node holds as signed, in a form anyone can verify offline with only
 * the trust anchor (docs/auditor.md). One gzipped JSON file:
 *
 * - `documents`: per document, its id, its key in its owner's directory (its id derives from the
 *   owner's directory id and this key), and its raw Automerge changes — exactly those under the
 *   signed heads, base64;
 * - `checkpoints`: the signed checkpoints that cover them (the latest of each document, and every
 *   release of the core), as their owners signed them;
 * - `manifest`: per document the number of changes and the SHA-256 of their concatenation, and a
 *   SHA-256 over the manifest itself, so a truncated or reordered file is named as such.
 *
 * The charter is one of the documents: the verifier finds it by the trust anchor, checks it was
 * signed by the anchor, and takes every member's keys from it.
 */
export const BUNDLE_FORMAT = "concordat-audit/1";

export interface BundleDocument {
  id: string;
  /** The document's key in its owner's directory (`roster/3`, `charter`, `core`, …). */
  key: string;
  /** For people: the owner's hub id and the document type, as the exporter saw them. */
  hub: string;
  type: string;
  /** Raw Automerge changes, base64, in causal order. */
  changes: string[];
}

export interface AuditBundle {
  format: typeof BUNDLE_FORMAT;
  createdAt: string;
  federationId: string;
  /** The exporter's configured trust anchor (informational: the verifier is given its own). */
  anchor: string;
  exportedBy: { hub: string; peerId: string };
  documents: BundleDocument[];
  checkpoints: SignedCheckpoint[];
  manifest: { documents: Array<{ id: string; changes: number; sha256: string }>; sha256: string };
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** SHA-256 of a document's changes, concatenated in bundle order. */
export function changesDigest(changes: readonly Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const c of changes) hash.update(c);
  return hash.digest("hex");
}

export function manifestDigest(entries: AuditBundle["manifest"]["documents"]): string {
  return sha256Hex(entries.map((e) => `${e.id} ${e.changes} ${e.sha256}`).join("\n"));
}

export function makeBundle(
  parts: Omit<AuditBundle, "format" | "manifest" | "documents"> & {
    documents: Array<Omit<BundleDocument, "changes"> & { changes: Uint8Array[] }>;
  },
): AuditBundle {
  const documents = parts.documents.map((d) => ({
    ...d,
    changes: d.changes.map((c) => Buffer.from(c).toString("base64")),
  }));
  const entries = parts.documents.map((d) => ({
    id: d.id,
    changes: d.changes.length,
    sha256: changesDigest(d.changes),
  }));
  return {
    format: BUNDLE_FORMAT,
    createdAt: parts.createdAt,
    federationId: parts.federationId,
    anchor: parts.anchor,
    exportedBy: parts.exportedBy,
    documents,
    checkpoints: parts.checkpoints,
    manifest: { documents: entries, sha256: manifestDigest(entries) },
  };
}

export function encodeBundle(bundle: AuditBundle): Uint8Array {
  return gzipSync(Buffer.from(JSON.stringify(bundle)), { level: 9 });
}

/** Reads a bundle file (gzipped or plain JSON); throws with a message naming what is wrong. */
export function decodeBundle(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text =
      bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes).toString("utf8") : Buffer.from(bytes).toString("utf8");
  } catch (error) {
    throw new Error(`the bundle does not decompress: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`the bundle is not JSON: ${(error as Error).message}`);
  }
}
