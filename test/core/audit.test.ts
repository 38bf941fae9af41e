import * as A from "@automerge/automerge";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditExportCommand, auditVerifyCommand } from "../../cli/commands/audit.js";
import { toCliError } from "../../cli/errors.js";
import { CheckpointKind, signCheckpoint, type SignedCheckpoint } from "../../node/authority/index.js";
import { decodeBundle, encodeBundle, type AuditBundle } from "../../node/audit/bundle.js";
import { verifyBundle } from "../../node/audit/verify.js";
import { CORE_KEY } from "../../node/core/index.js";
import {
  draft,
  startFederationWith,
  waitUntil,
  type FederationNode,
  type StartedFederation,
} from "../helpers/federation.js";
import { makeTempDir } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });
const now = () => new Date().toISOString();
const clone = (b: AuditBundle): AuditBundle => JSON.parse(JSON.stringify(b)) as AuditBundle;

/**
 * Offline audit: a hub exports what it holds as signed; `audit verify` with only the trust anchor
 * recomputes every change hash, checks every signature against the charter, that the signed heads
 * exist, and that releases only go up. Each tampering is caught and named.
 */
describe("audit bundles", () => {
  let fed: StartedFederation;
  let dir: string;
  let bundle: AuditBundle;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");

  beforeAll(async () => {
    fed = await startFederationWith(["s", "a"], [["a", "s"]]);
    dir = await makeTempDir("concordat-audit-");
    const core = s().node.running.coreAuthoring;
    const item = (identifier: string, text: string) => ({
      identifier,
      code: identifier.toUpperCase(),
      statement: { en: text },
      type: "Competency",
      language: "en",
      roleLevels: [],
      themes: [],
      lastChangeDateTime: now(),
      extra: {},
    });
    await core.put("op", "item", [item("hr-1", "Applies the prohibition of torture")]);
    await core.release("op", "1.0.0", "first");
    await core.put("op", "item", [item("hr-2", "Protects detainees")]);
    await core.release("op", "1.1.0", "second");
    await a().node.running.roster.add(draft("AUD-1"), "op");
    await s().node.running.roster.add(draft("AUD-S"), "op");
    await Promise.all([a(), s()].map((x) => x.node.running.checkpointer.flush()));
    await waitUntil(
      "a to verify both releases",
      async () => (await a().node.running.coreSource.releases()).length === 2,
      15_000,
    );
    await waitUntil(
      "a to hold a view of s's roster",
      () =>
        a()
          .node.running.views.views()
          .some((v) => v.hub === s().hub && v.documentId !== s().node.running.documents.idOf(CORE_KEY)),
      15_000,
    );
  }, 60_000);
  afterAll(async () => {
    await fed?.stop();
  });

  it("a hub's bundle verifies offline against the trust anchor, through the CLI", async () => {
    const out = join(dir, "a.bundle");
    const io = memoryIo(false);
    await auditExportCommand({ ...cli(a()), out }, io);
    expect(io.out()).toContain("Audit bundle written");
    const verify = memoryIo(false);
    await auditVerifyCommand({ file: out, trustAnchor: s().peerId }, verify);
    expect(verify.out()).toContain("VERIFIED");
    expect(verify.out()).toContain("releases     1.0.0, 1.1.0");
    bundle = decodeBundle(new Uint8Array(await (await import("node:fs/promises")).readFile(out))) as AuditBundle;
    const report = await verifyBundle(bundle, s().peerId);
    expect(report.failures).toEqual([]);
    expect(report.members.map((m) => m.hub).sort()).toEqual([a().hub, s().hub].sort());
    // It holds a's own documents, s's charter, core and roster; no private document.
    const keys = bundle.documents.map((d) => d.key);
    expect(keys).toEqual(expect.arrayContaining(["charter", "core", "curriculum"]));
    expect(keys.some((k) => k.startsWith("private/"))).toBe(false);
  });

  const failuresOf = async (tampered: AuditBundle, anchor = s().peerId) =>
    (await verifyBundle(tampered, anchor)).failures.join("\n");

  it("a flipped byte in a change is caught and named", async () => {
    const t = clone(bundle);
    const doc =
      t.documents.find((d) => d.key.startsWith("roster/") && d.changes.length > 1) ??
      (t.documents[0] as AuditBundle["documents"][number]);
    const bytes = Buffer.from(doc.changes[1] as string, "base64");
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0x01;
    doc.changes[1] = bytes.toString("base64");
    const failures = await failuresOf(t);
    expect(failures).toMatch(
      new RegExp(`document ${doc.id} \\(${doc.key.replace("/", "\\/")}\\).*(do not match the manifest|change #1)`),
    );
    expect(failures).toMatch(/change #1: (its checksum does not match|hash .* does not match|does not decode)/);
  });

  it("a dropped change is caught and named", async () => {
    const t = clone(bundle);
    const doc = t.documents.find((d) => d.key === "core") as AuditBundle["documents"][number];
    doc.changes.splice(1, 1);
    // The dropper fixes the manifest too: the missing change must still be caught.
    const entry = t.manifest.documents.find((m) => m.id === doc.id) as AuditBundle["manifest"]["documents"][number];
    const { changesDigest, manifestDigest } = await import("../../node/audit/bundle.js");
    entry.changes = doc.changes.length;
    entry.sha256 = changesDigest(doc.changes.map((c) => new Uint8Array(Buffer.from(c, "base64"))));
    t.manifest.sha256 = manifestDigest(t.manifest.documents);
    const failures = await failuresOf(t);
    expect(failures).toMatch(
      new RegExp(`document ${doc.id} \\(core\\): changes depend on 1 change\\(s\\) not in the bundle`),
    );
    expect(failures).toMatch(
      /release of .*heads are not in the document's changes|its heads are not in the document's changes/,
    );
  });

  it("releases out of order are caught: a release signed later with a lower version", async () => {
    const t = clone(bundle);
    const last = t.checkpoints
      .filter((c) => c.checkpoint.kind === CheckpointKind.Release)
      .sort((x, y) => y.checkpoint.seq - x.checkpoint.seq)[0] as SignedCheckpoint;
    const backwards = await signCheckpoint(
      { ...last.checkpoint, version: "0.5.0", seq: last.checkpoint.seq + 1 },
      (d) => s().node.running.identity.sign(d),
    );
    t.checkpoints.push(backwards);
    expect(await failuresOf(t)).toMatch(
      /release 0\.5\.0 of .* was signed after 1\.1\.0 .* but is not above it: versions only go up/,
    );
  });

  it("a forged signature is caught and named", async () => {
    const t = clone(bundle);
    const target = t.checkpoints.find((c) => c.checkpoint.kind !== CheckpointKind.Release) as SignedCheckpoint;
    const signature = Buffer.from(target.signature, "base64");
    signature[0] = (signature[0] as number) ^ 0xff;
    target.signature = signature.toString("base64");
    expect(await failuresOf(t)).toMatch(
      new RegExp(
        `checkpoint #\\d+ \\(${target.checkpoint.kind} of ${target.checkpoint.documentId}.*\\): bad signature`,
      ),
    );
  });

  it("another trust anchor finds no charter: caught and named", async () => {
    expect(await failuresOf(bundle, a().peerId)).toMatch(
      new RegExp(`no charter signed by the trust anchor ${a().peerId}`),
    );
    // And the CLI exits non-zero.
    const file = join(dir, "plain.json");
    await writeFile(file, encodeBundle(bundle));
    const error = toCliError(
      await auditVerifyCommand({ file, trustAnchor: a().peerId }, memoryIo(false)).catch((e: unknown) => e),
    );
    expect(error.exitCode).toBe(1);
  });

  it("an unsigned change slipped into a document is caught", async () => {
    const t = clone(bundle);
    const doc = t.documents.find((d) => d.key.startsWith("roster/")) as AuditBundle["documents"][number];
    const current = A.applyChanges(
      A.init<Record<string, unknown>>(),
      doc.changes.map((c) => new Uint8Array(Buffer.from(c, "base64"))),
    )[0];
    const forged = A.change(current, (d) => void ((d as Record<string, unknown>).forged = 1));
    const extra = A.getChanges(current, forged);
    doc.changes.push(...extra.map((c) => Buffer.from(c).toString("base64")));
    const { changesDigest, manifestDigest } = await import("../../node/audit/bundle.js");
    const entry = t.manifest.documents.find((m) => m.id === doc.id) as AuditBundle["manifest"]["documents"][number];
    entry.changes = doc.changes.length;
    entry.sha256 = changesDigest(doc.changes.map((c) => new Uint8Array(Buffer.from(c, "base64"))));
    t.manifest.sha256 = manifestDigest(t.manifest.documents);
    expect(await failuresOf(t)).toMatch(new RegExp(`document ${doc.id} .* has 1 change\\(s\\) no checkpoint covers`));
  });
});
