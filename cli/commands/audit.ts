import { readFile } from "node:fs/promises";
import { writeAtomically } from "../atomic-file.js";
import { decodeBundle } from "../../node/audit/bundle.js";
import { verifyBundle } from "../../node/audit/verify.js";
import { PEER_ID_PATTERN } from "../../node/federation/index.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, type Io } from "../io.js";

/** `audit export --out FILE`: the node's audit bundle, written to FILE.tmp and renamed when whole. */
export async function auditExportCommand(options: ConnectionOptions & { out: string }, io: Io): Promise<void> {
  const bytes = await writeAtomically(options.out, 0o644, (write) =>
    withConnection(options, async (c) => {
      for await (const chunk of c.audit.exportAudit({})) await write(chunk.data);
    }),
  );
  if (io.json) printJson(io, { out: options.out, bytes });
  else
    printLine(
      io,
      `Audit bundle written to ${options.out} (${bytes} bytes). Verify it anywhere with: concordat audit verify ${options.out} --trust-anchor PEER_ID`,
    );
}

/**
 * `audit verify FILE --trust-anchor PEER_ID`: offline, no node, no network. Prints a summary and
 * every failure; exits 1 when anything fails.
 */
export async function auditVerifyCommand(options: { file: string; trustAnchor: string }, io: Io): Promise<void> {
  if (!PEER_ID_PATTERN.test(options.trustAnchor))
    throw new CliError(`--trust-anchor '${options.trustAnchor}' is not an Ed25519 peer id (12D3KooW…)`, ExitCode.Usage);
  const bytes = await readFile(options.file).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read '${options.file}': ${error.code ?? error.message}`, ExitCode.Usage);
  });
  let raw: unknown;
  try {
    raw = decodeBundle(new Uint8Array(bytes));
  } catch (error) {
    throw new CliError(`${options.file}: ${(error as Error).message}`, ExitCode.Failure);
  }
  const started = performance.now();
  const report = await verifyBundle(raw, options.trustAnchor);
  const ms = performance.now() - started;
  if (io.json) printJson(io, { ...report, milliseconds: Math.round(ms) });
  else {
    printLine(io, `${report.ok ? "VERIFIED" : "FAILED"}: ${options.file}`);
    printLine(io, `  federation   ${report.federationId}, trust anchor ${report.anchor}`);
    printLine(io, `  exported by  ${report.exportedBy}`);
    printLine(
      io,
      `  members      ${report.members.map((m) => `${m.hub}${m.removed ? " (removed)" : ""}`).join(", ") || "-"}`,
    );
    printLine(io, `  documents    ${report.documents}, changes ${report.changes} (every hash recomputed)`);
    printLine(io, `  checkpoints  ${report.checkpoints} verified`);
    printLine(io, `  releases     ${report.releases.join(", ") || "none"}`);
    printLine(io, `  took         ${Math.round(ms)} ms`);
    for (const failure of report.failures.slice(0, 100)) printLine(io, `  ✗ ${failure}`);
    if (report.failures.length > 100) printLine(io, `  … and ${report.failures.length - 100} more`);
  }
  if (!report.ok) throw new CliError(`${report.failures.length} problem(s) found in ${options.file}`, ExitCode.Failure);
}
