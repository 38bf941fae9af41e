import * as A from "@automerge/automerge";
import { checkpointProblem, CheckpointKind, type SignedCheckpoint } from "../authority/index.js";
import { compareVersions, VERSION_PATTERN } from "../core/index.js";
import { changeGraph, descends, ancestors } from "../documents/index.js";
import {
  charterIdOf,
  directoryIdOf,
  ownedDocumentId,
  readCharter,
  signerProblem,
  type CharterMember,
} from "../federation/index.js";
import { BUNDLE_FORMAT, changesDigest, manifestDigest, sha256Hex, type AuditBundle } from "./bundle.js";

const MAGIC = [0x85, 0x6f, 0x4a, 0x83];

export interface VerifyReport {
  ok: boolean;
  federationId: string;
  anchor: string;
  exportedBy: string;
  members: Array<{ hub: string; role: string; removed: boolean }>;
  documents: number;
  changes: number;
  checkpoints: number;
  releases: string[];
  /** Everything that failed, each naming the document, change or checkpoint. */
  failures: string[];
}

function short(id: string): string {
  return id.length > 12 ? `${id.slice(0, 12)}…` : id;
}

/**
 * Recomputes an Automerge change's hash from its bytes (SHA-256 over the chunk type, length and
 * contents; the 4-byte checksum is its prefix) and checks Automerge decodes the same hash.
 */
export function changeHashProblem(bytes: Uint8Array): { hash?: string; problem?: string } {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    return { problem: "is not an Automerge change (bad magic bytes)" };
  if (bytes[8] !== 1) return { problem: `is a chunk of type ${bytes[8]}, not an uncompressed change` };
  const hash = sha256Hex(bytes.subarray(8));
  if (Buffer.from(bytes.subarray(4, 8)).toString("hex") !== hash.slice(0, 8))
    return { problem: "its checksum does not match its contents" };
  let decoded: string;
  try {
    decoded = A.decodeChange(bytes).hash as string;
  } catch (error) {
    return { problem: `does not decode: ${(error as Error).message}` };
  }
  if (decoded !== hash) return { problem: `hash ${short(decoded)} does not match its bytes (${short(hash)})` };
  return { hash };
}

/** The documents of a bundle, rebuilt from their changes, with their keys in their owners' directories. */
export type BundleDocuments = Map<string, { key: string; doc: A.Doc<unknown> }>;

/**
 * Why a signed checkpoint cannot be trusted against a bundle, or undefined when it can: a good
 * signature for this federation, by a key the charter gives a member at the checkpoint's time, for a
 * document of that member's (its id derives from the member's directory and the document's key) that
 * the bundle holds, with heads that are in its changes.
 */
export async function checkpointInBundle(
  signed: SignedCheckpoint,
  ctx: { federationId: string; anchor: string; members: readonly CharterMember[]; documents: BundleDocuments },
): Promise<string | undefined> {
  const c = signed.checkpoint;
  const problem = await checkpointProblem(signed, { federationId: ctx.federationId, documentId: c.documentId });
  if (problem) return problem;
  const anchorDirectory = directoryIdOf(ctx.anchor);
  const member =
    ctx.members.find((m) => m.keys.some((k) => k.peerId === c.owner)) ??
    (c.owner === ctx.anchor ? ctx.members.find((m) => m.directoryId === anchorDirectory) : undefined);
  if (!member) return `signed by ${c.owner}, which the charter gives no member`;
  const signer = signerProblem(member, c);
  if (signer) return signer;
  const doc = ctx.documents.get(c.documentId);
  if (!doc) return "its document is not in the bundle";
  if (ownedDocumentId(member.directoryId, doc.key) !== c.documentId)
    return `document ${c.documentId} is not one of the documents of hub '${member.hub}' (its id does not derive from the hub's directory and key '${doc.key}')`;
  if (!A.hasHeads(doc.doc, c.heads))
    return "its heads are not in the document's changes (a change was dropped or altered)";
  return undefined;
}

/** A bundle as verified, with what it holds, for recomputing reports from it. */
export interface OpenedBundle {
  report: VerifyReport;
  documents: BundleDocuments;
  /** The charter's members as the trust anchor signed them (empty when no charter verified). */
  members: CharterMember[];
}

/**
 * Verifies an audit bundle offline against a trust anchor (the secretariat's peer id), with no node
 * and no network:
 * 1. the file: format, manifest digests (per document and over the manifest);
 * 2. every change: its hash recomputed from its bytes, its dependencies present;
 * 3. the charter: a checkpoint signed by the trust anchor, the charter at its heads;
 * 4. every checkpoint: a good signature by a key the charter gave its owner at the checkpoint's
 *    time, for a document whose id derives from the owner's directory, with heads that exist;
 *    every document covered by a checkpoint, and no change outside what the checkpoints cover;
 * 5. the core's releases: versions only go up in signing order, each descending from the last.
 */
export async function verifyBundle(raw: unknown, trustAnchor: string): Promise<VerifyReport> {
  return (await openBundle(raw, trustAnchor)).report;
}

/** Verifies a bundle (see verifyBundle) and keeps what it holds. */
export async function openBundle(raw: unknown, trustAnchor: string): Promise<OpenedBundle> {
  const failures: string[] = [];
  const report: VerifyReport = {
    ok: false,
    federationId: "",
    anchor: trustAnchor,
    exportedBy: "",
    members: [],
    documents: 0,
    changes: 0,
    checkpoints: 0,
    releases: [],
    failures,
  };
  const bundle = raw as Partial<AuditBundle>;
  if (typeof bundle !== "object" || bundle === null || bundle.format !== BUNDLE_FORMAT) {
    failures.push(`not a Concordat audit bundle (format is not '${BUNDLE_FORMAT}')`);
    return { report, documents: new Map(), members: [] };
  }
  if (
    !Array.isArray(bundle.documents) ||
    !Array.isArray(bundle.checkpoints) ||
    !bundle.manifest ||
    !Array.isArray(bundle.manifest.documents)
  ) {
    failures.push("the bundle lacks documents, checkpoints or its manifest");
    return { report, documents: new Map(), members: [] };
  }
  report.federationId = String(bundle.federationId ?? "");
  report.exportedBy = `${bundle.exportedBy?.hub ?? "?"} (${bundle.exportedBy?.peerId ?? "?"})`;

  // 1. the manifest
  if (manifestDigest(bundle.manifest.documents) !== bundle.manifest.sha256)
    failures.push("the manifest's own digest does not match it");
  const manifest = new Map(bundle.manifest.documents.map((m) => [m.id, m]));
  if (manifest.size !== bundle.documents.length)
    failures.push(`the manifest lists ${manifest.size} documents, the bundle holds ${bundle.documents.length}`);

  // 2. every change, and each document rebuilt from them
  const docs = new Map<string, { key: string; doc: A.Doc<unknown>; hashes: Set<string> }>();
  for (const entry of bundle.documents) {
    const label = `document ${entry.id} (${entry.key})`;
    const bytes = (entry.changes ?? []).map((c) => new Uint8Array(Buffer.from(String(c), "base64")));
    report.changes += bytes.length;
    const listed = manifest.get(entry.id);
    if (!listed) failures.push(`${label} is not in the manifest`);
    else if (listed.changes !== bytes.length || listed.sha256 !== changesDigest(bytes)) {
      failures.push(
        `${label}: its changes do not match the manifest (${bytes.length} changes; the manifest says ${listed.changes})`,
      );
    }
    const hashes = new Set<string>();
    let intact = true;
    bytes.forEach((change, i) => {
      const { hash, problem } = changeHashProblem(change);
      if (problem) {
        failures.push(`${label}, change #${i}: ${problem}`);
        intact = false;
      } else hashes.add(hash as string);
    });
    if (!intact) continue;
    let doc: A.Doc<unknown>;
    try {
      [doc] = A.applyChanges(A.init<unknown>(), bytes);
    } catch (error) {
      failures.push(`${label}: its changes do not apply: ${(error as Error).message}`);
      continue;
    }
    const missing = A.getMissingDeps(doc, []);
    if (missing.length > 0)
      failures.push(
        `${label}: changes depend on ${missing.length} change(s) not in the bundle (first: ${short(missing[0] as string)})`,
      );
    docs.set(entry.id, { key: String(entry.key), doc, hashes });
  }
  report.documents = docs.size;

  // 3. the charter, rooted in the trust anchor
  const charterId = charterIdOf(trustAnchor);
  const checkpoints = bundle.checkpoints as SignedCheckpoint[];
  const charterCheckpoints = checkpoints
    .filter((s) => s?.checkpoint?.documentId === charterId && s.checkpoint.owner === trustAnchor)
    .sort((a, b) => b.checkpoint.seq - a.checkpoint.seq);
  let members: CharterMember[] = [];
  const charter = docs.get(charterId);
  let charterCheckpoint: SignedCheckpoint | undefined;
  for (const candidate of charterCheckpoints) {
    if (
      !(await checkpointProblem(candidate, {
        federationId: report.federationId,
        owner: trustAnchor,
        documentId: charterId,
      }))
    ) {
      charterCheckpoint = candidate;
      break;
    }
  }
  if (!charter || !charterCheckpoint) {
    failures.push(`no charter signed by the trust anchor ${trustAnchor} (is it the right anchor?)`);
    report.ok = false;
    return { report, documents: docs, members };
  }
  if (!A.hasHeads(charter.doc, charterCheckpoint.checkpoint.heads)) {
    failures.push("the charter's signed heads are not in its changes");
    return { report, documents: docs, members };
  }
  const charterState = readCharter(A.view(charter.doc, charterCheckpoint.checkpoint.heads)).state;
  if (charterState.federationId !== report.federationId || charterState.anchor !== trustAnchor) {
    failures.push(
      `the charter names federation '${charterState.federationId}' and anchor ${charterState.anchor}, not '${report.federationId}' and ${trustAnchor}`,
    );
  }
  members = charterState.members;
  report.members = members.map((m) => ({ hub: m.hub, role: m.role, removed: m.removedAt !== undefined }));
  const anchorDirectory = directoryIdOf(trustAnchor);
  const coreId = ownedDocumentId(anchorDirectory, "core");

  // 4. every checkpoint
  const covered = new Map<string, Set<string>>();
  const coreReleases: SignedCheckpoint[] = [];
  for (const [i, signed] of checkpoints.entries()) {
    const c = signed?.checkpoint;
    const label = `checkpoint #${i} (${c?.kind ?? "?"} of ${c?.documentId ?? "?"}, seq ${c?.seq ?? "?"})`;
    if (!c || typeof signed.signature !== "string") {
      failures.push(`${label} is malformed`);
      continue;
    }
    const problem = await checkpointInBundle(signed, {
      federationId: report.federationId,
      anchor: trustAnchor,
      members,
      documents: docs,
    });
    if (problem) {
      failures.push(`${label}: ${problem}`);
      continue;
    }
    const doc = docs.get(c.documentId) as { key: string; doc: A.Doc<unknown> };
    report.checkpoints += 1;
    const set = covered.get(c.documentId) ?? new Set<string>();
    for (const hash of ancestors(changeGraph(doc.doc), c.heads)) set.add(hash);
    covered.set(c.documentId, set);
    if (c.kind === CheckpointKind.Release) {
      if (c.documentId !== coreId || c.owner !== trustAnchor)
        failures.push(`${label}: a release, but not of the core signed by the secretariat`);
      else coreReleases.push(signed);
    }
  }
  for (const [id, doc] of docs) {
    const set = covered.get(id);
    if (!set) {
      failures.push(`document ${id} (${doc.key}) is covered by no verified checkpoint`);
      continue;
    }
    const extra = [...doc.hashes].filter((h) => !set.has(h));
    if (extra.length > 0)
      failures.push(
        `document ${id} (${doc.key}) has ${extra.length} change(s) no checkpoint covers (first: ${short(extra[0] as string)})`,
      );
  }

  // 5. releases
  const byDocument = new Map<string, SignedCheckpoint[]>();
  for (const r of coreReleases)
    byDocument.set(r.checkpoint.documentId, [...(byDocument.get(r.checkpoint.documentId) ?? []), r]);
  for (const [id, list] of byDocument) {
    list.sort((a, b) => a.checkpoint.seq - b.checkpoint.seq);
    const graph = changeGraph((docs.get(id) as { doc: A.Doc<unknown> }).doc);
    for (let i = 1; i < list.length; i += 1) {
      const prev = (list[i - 1] as SignedCheckpoint).checkpoint;
      const next = (list[i] as SignedCheckpoint).checkpoint;
      if (
        !next.version ||
        !prev.version ||
        !VERSION_PATTERN.test(next.version) ||
        compareVersions(next.version, prev.version) <= 0
      ) {
        failures.push(
          `release ${next.version} of ${id} was signed after ${prev.version} (seq ${next.seq} > ${prev.seq}) but is not above it: versions only go up`,
        );
      }
      if (!descends(graph, next.heads, prev.heads))
        failures.push(`release ${next.version} of ${id} does not descend from release ${prev.version}`);
    }
    report.releases.push(...list.map((r) => r.checkpoint.version ?? "?"));
  }
  report.ok = failures.length === 0;
  return { report, documents: docs, members };
}
