import { readFile, writeFile } from "node:fs/promises";
import type { ServiceError } from "@grpc/grpc-js";
import { SingleBar } from "cli-progress";
import type {
  IssueCredentialRequest,
  VerifyCredentialResponse,
} from "../../node/api/generated/concordat/v1/credentials.js";
import { fieldViolations } from "../../node/api/index.js";
import { withConnection, type Connection, type ConnectionOptions } from "../connection.js";
import { parseIssueFile, type IssueRow } from "../credential-files.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printJsonText, printLine, printNotice, printTable, type Io } from "../io.js";
import { formatFromPath, type FileRowError } from "../trainer-files.js";

async function readCredential(file: string): Promise<string> {
  return readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read '${file}': ${error.code ?? error.message}`, ExitCode.Usage);
  });
}

function summary(json: string): { id: string; name: string; subject: string; issuer: string; validUntil: string } {
  const c = JSON.parse(json) as {
    id?: string;
    name?: string;
    credentialSubject?: { id?: string };
    issuer?: { name?: string; id?: string } | string;
    validUntil?: string;
  };
  const issuer = typeof c.issuer === "string" ? c.issuer : (c.issuer?.name ?? c.issuer?.id ?? "");
  return {
    id: c.id ?? "",
    name: c.name ?? "",
    subject: c.credentialSubject?.id ?? "",
    issuer,
    validUntil: c.validUntil ?? "",
  };
}

export interface IssueCommandOptions extends ConnectionOptions {
  trainer?: string;
  scheme?: string;
  level?: string;
  validFrom?: string;
  validUntil?: string;
  evidence?: string[];
  out?: string;
  /** A CSV or JSON file of rows, one credential each (cli/credential-files.ts). */
  from?: string;
  format?: string;
  dryRun?: boolean;
}

function issueRequest(row: Omit<IssueRow, "line">, dryRun: boolean): IssueCredentialRequest {
  const [hub, id] = row.trainer.includes("/") ? (row.trainer.split("/", 2) as [string, string]) : ["", row.trainer];
  return {
    trainerHub: hub,
    trainerId: id,
    scheme: row.scheme,
    level: row.level,
    validFrom: row.validFrom,
    validUntil: row.validUntil,
    evidence: row.evidence,
    dryRun,
  };
}

/** `credentials issue`: an Open Badges 3.0 accreditation, signed by this node (or many: `--from FILE`). */
export async function credentialsIssueCommand(options: IssueCommandOptions, io: Io): Promise<void> {
  if (options.from !== undefined) {
    await credentialsIssueManyCommand({ ...options, from: options.from }, io);
    return;
  }
  const missing = (["trainer", "scheme", "level", "validFrom", "validUntil"] as const)
    .filter((k) => !options[k])
    .map((k) => `--${k.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`);
  if (missing.length > 0)
    throw new CliError(
      `missing ${missing.join(", ")} (or give --from FILE to issue one credential per row)`,
      ExitCode.Usage,
    );
  const row = {
    trainer: options.trainer ?? "",
    scheme: options.scheme ?? "",
    level: options.level ?? "",
    validFrom: options.validFrom ?? "",
    validUntil: options.validUntil ?? "",
    evidence: options.evidence ?? [],
  };
  const result = await withConnection(options, (c) => c.credentials.issueCredential(issueRequest(row, false)));
  if (options.out) await writeFile(options.out, `${JSON.stringify(JSON.parse(result.json), null, 2)}\n`);
  if (io.json) {
    printJson(io, JSON.parse(result.json));
    return;
  }
  const s = summary(result.json);
  printLine(
    io,
    `Issued ${s.id}: '${s.name}' to ${s.subject}, valid until ${s.validUntil}${options.out ? `; written to ${options.out}` : ""}`,
  );
}

/** Every row checked by the node as issuing would (a dry run each); the problems, with their lines. */
async function checkRows(
  c: Connection,
  rows: readonly IssueRow[],
  onChecked: (n: number) => void,
): Promise<FileRowError[]> {
  const errors: FileRowError[] = [];
  let n = 0;
  for (const row of rows) {
    try {
      await c.credentials.issueCredential(issueRequest(row, true));
    } catch (error) {
      const violations =
        typeof error === "object" && error !== null && "metadata" in error
          ? fieldViolations(error as ServiceError)
          : [];
      if (violations.length === 0) throw error; // not a problem of the row: the node is unreachable, the caller not allowed…
      for (const v of violations) errors.push({ line: row.line, field: v.field, message: v.description });
    }
    onChecked((n += 1));
  }
  return errors;
}

/**
 * `credentials issue --from FILE`: one credential per row. Every row is checked first (the file
 * here, each request by the node as issuing would); if any is bad, nothing is issued and every bad
 * row is listed with its line. Then each is issued in turn, with a progress bar on a terminal.
 */
async function credentialsIssueManyCommand(options: IssueCommandOptions & { from: string }, io: Io): Promise<void> {
  const format = options.format ?? formatFromPath(options.from);
  if (format !== "csv" && format !== "json")
    throw new CliError(`cannot tell the format of '${options.from}'; pass --format csv|json`, ExitCode.Usage);
  const content = await readFile(options.from, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new CliError(
      `cannot read '${options.from}': ${error.code === "ENOENT" ? "file not found" : error.message}`,
      ExitCode.Usage,
    );
  });
  const parsed = parseIssueFile(content, format);
  const rows = parsed.rows;
  const bar = (what: string) =>
    !io.json && io.stderr.isTTY && rows.length > 0
      ? new SingleBar({ format: `${what} [{bar}] {value}/{total} rows`, stream: io.stderr, hideCursor: true })
      : undefined;
  const issued = await withConnection(options, async (c) => {
    const checking = bar("checking");
    checking?.start(rows.length, 0);
    let errors: FileRowError[];
    try {
      errors = [...parsed.errors, ...(await checkRows(c, rows, (n) => checking?.update(n)))].sort(
        (a, b) => a.line - b.line,
      );
    } finally {
      checking?.stop();
    }
    if (errors.length > 0) {
      if (io.json) printJson(io, { issued: [], errors });
      else
        printTable(
          io,
          ["line", "field", "problem"],
          errors.map((e) => [String(e.line), e.field, e.message]),
        );
      const bad = new Set(errors.map((e) => e.line)).size;
      throw new CliError(
        `${bad} row${bad === 1 ? "" : "s"} of ${options.from} ${bad === 1 ? "is" : "are"} invalid; nothing was issued`,
        ExitCode.Usage,
      );
    }
    if (options.dryRun || rows.length === 0) return [];
    const issuing = bar("issuing");
    issuing?.start(rows.length, 0);
    const out: Array<{ line: number; trainer: string; id: string; json: string }> = [];
    try {
      for (const row of rows) {
        try {
          const result = await c.credentials.issueCredential(issueRequest(row, false));
          out.push({ line: row.line, trainer: row.trainer, id: result.id, json: result.json });
        } catch (error) {
          // Checked a moment ago: something changed since (a trainer removed, a scheme replaced).
          const done =
            out.length > 0
              ? `; the ${out.length} row(s) before it were issued (${out.map((o) => o.id).join(", ")})`
              : "; nothing was issued";
          throw new CliError(
            `line ${row.line} could not be issued: ${(error as Error).message}${done}`,
            ExitCode.Failure,
          );
        } finally {
          issuing?.update(out.length);
        }
      }
    } finally {
      issuing?.stop();
    }
    return out;
  });
  if (options.out && issued.length > 0) {
    await writeFile(
      options.out,
      `${JSON.stringify(
        issued.map((i) => JSON.parse(i.json) as unknown),
        null,
        2,
      )}\n`,
    );
  }
  if (io.json) {
    printJson(io, {
      issued: issued.map((i) => ({ line: i.line, trainer: i.trainer, id: i.id })),
      errors: [],
      dryRun: options.dryRun ?? false,
    });
  } else if (options.dryRun) {
    printLine(io, `Dry run: all ${rows.length} rows of ${options.from} are valid; nothing was issued.`);
  } else {
    printLine(
      io,
      `Issued ${issued.length} credential(s) from ${options.from}${options.out && issued.length > 0 ? `; all written to ${options.out} (a JSON array, for \`credentials attach\` at another hub)` : ""}.`,
    );
    if (issued.some((i) => i.trainer.includes("/"))) {
      printNotice(
        io,
        "credentials for another hub's trainers count once that hub attaches them: `concordat credentials attach --all-pending` there",
      );
    }
  }
}

export async function credentialsListCommand(options: ConnectionOptions & { trainer?: string }, io: Io): Promise<void> {
  const result = await withConnection(options, (c) =>
    c.credentials.listCredentials({ trainerId: options.trainer ?? "", pending: false }),
  );
  if (io.json) {
    printJson(io, {
      issued: result.issued.map((c) => JSON.parse(c.json) as unknown),
      held: result.held.map((c) => JSON.parse(c.json) as unknown),
    });
    return;
  }
  const rows = (list: typeof result.issued, kind: string) =>
    list.map((c) => summary(c.json)).map((s) => [kind, s.id, s.name, s.subject, s.issuer, s.validUntil]);
  const all = [...rows(result.issued, "issued here"), ...rows(result.held, "held by a trainer")];
  if (all.length === 0) printLine(io, "No credentials issued or held here.");
  else printTable(io, ["", "id", "achievement", "subject", "issuer", "valid until"], all);
}

export async function credentialsShowCommand(
  options: ConnectionOptions & { id: string; out?: string },
  io: Io,
): Promise<void> {
  const result = await withConnection(options, (c) => c.credentials.getCredential({ id: options.id }));
  const pretty = `${JSON.stringify(JSON.parse(result.json), null, 2)}\n`;
  if (options.out) {
    await writeFile(options.out, pretty);
    if (!io.json) printLine(io, `Wrote ${options.id} to ${options.out}`);
    else printJson(io, { id: options.id, out: options.out });
  } else printJsonText(io, pretty);
}

export async function credentialsStatusCommand(
  options: ConnectionOptions & { id: string; action: string },
  io: Io,
): Promise<void> {
  const status = await withConnection(options, (c) =>
    c.credentials.setCredentialStatus({ id: options.id, action: options.action }),
  );
  if (io.json) printJson(io, status);
  else
    printLine(
      io,
      `${options.id}: ${status.revoked ? "revoked" : status.suspended ? "suspended" : "active"} (the issuer's signed status list is updated; members see it at its next checkpoint)`,
    );
}

export async function credentialsEndorseCommand(
  options: ConnectionOptions & { subject: string; comment: string; validUntil?: string },
  io: Io,
): Promise<void> {
  const result = await withConnection(options, (c) =>
    c.credentials.endorse({
      subject: options.subject,
      comment: options.comment,
      validUntil: options.validUntil ?? "",
    }),
  );
  const endorsement = JSON.parse(result.json) as {
    issuer?: { id?: string; name?: string };
    credentialSubject?: { id?: string };
  };
  if (io.json) printJson(io, endorsement);
  else {
    // Who endorses whom: this node's body (the endorsement's issuer) endorses the subject named.
    const endorser = endorsement.issuer?.name ? `'${endorsement.issuer.name}'` : "this hub";
    const subject = endorsement.credentialSubject?.id ?? options.subject;
    printLine(
      io,
      `${endorser} (this node) endorses ${options.subject}${subject !== options.subject ? ` (${subject})` : ""}: ${result.id}`,
    );
  }
}

function printVerification(io: Io, file: string, v: VerifyCredentialResponse): void {
  printLine(io, `${v.valid ? "VALID" : "NOT VALID"}: ${file}`);
  printLine(io, `  issuer   ${v.issuerHub ? `${v.issuerHub} (${v.issuer})` : v.issuer || "-"}`);
  printLine(io, `  subject  ${v.subject || "-"}`);
  for (const c of v.checks) printLine(io, `  ${c.ok ? "✓" : "✗"} ${c.check}: ${c.detail}`);
  for (const e of v.endorsements) {
    // The endorser is the hub that signed the endorsement; what it endorses is this credential's issuer or its scheme.
    const what =
      e.subject === v.issuer
        ? `the issuer${v.issuerHub ? ` (hub '${v.issuerHub}')` : ` ${e.subject}`}`
        : e.subject.startsWith("urn:concordat:scheme:")
          ? `the scheme '${e.subject.slice("urn:concordat:scheme:".length)}'`
          : e.subject;
    printLine(io, `  endorsement  hub '${e.endorserHub}' endorses ${what}: ${e.comment}`);
  }
}

/**
 * The issuer key as given (`--issuer-key`): the key itself (a did:key, Multikey, JWK or PEM), or
 * the path of a file holding one (a JWK or PEM is easier to pass as a file). The node parses it.
 */
async function issuerKeyText(given: string | undefined): Promise<string> {
  const value = given?.trim() ?? "";
  if (value === "" || value.startsWith("did:") || value.startsWith("{") || value.startsWith("-----")) return value;
  if (/^z[1-9A-HJ-NP-Za-km-z]+$/.test(value)) return value;
  return readFile(value, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new CliError(
      `--issuer-key: '${value}' is neither a key (did:key, Multikey z6Mk…, JWK, PEM) nor a readable file (${error.code ?? error.message})`,
      ExitCode.Usage,
    );
  });
}

/** `credentials verify FILE`: exits 1 when the credential is not valid, naming why. */
export async function credentialsVerifyCommand(
  options: ConnectionOptions & { file: string; issuerKey?: string; at?: string },
  io: Io,
): Promise<void> {
  const json = await readCredential(options.file);
  const issuerKey = await issuerKeyText(options.issuerKey);
  const v = await withConnection(options, (c) =>
    c.credentials.verifyCredential({
      json,
      at: options.at ?? "",
      issuerKey,
    }),
  );
  if (io.json) printJson(io, v);
  else printVerification(io, options.file, v);
  if (!v.valid) throw new CliError(`${options.file} is not valid: ${v.reasons.join("; ")}`, ExitCode.Failure);
}

/** The credentials in a file: one credential (a JSON object), or many (a JSON array, as `issue --from … --out` writes). */
function credentialsIn(file: string, text: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not JSON: ${(error as Error).message}`, ExitCode.Usage);
  }
  const list = Array.isArray(value) ? value : [value];
  const bad = list.findIndex((c) => !c || typeof c !== "object" || Array.isArray(c));
  if (bad >= 0)
    throw new CliError(
      `${file}: ${Array.isArray(value) ? `item ${bad + 1}` : "the file"} is not a credential (a JSON object)`,
      ExitCode.Usage,
    );
  return list.map((c) => JSON.stringify(c));
}

/**
 * `credentials attach`: credentials other bodies issued, attached to this hub's trainers. From a
 * file (one credential, or a JSON array of them), or `--all-pending`: every credential another member
 * issued to this hub's trainers and this node has verified, not attached yet. Each must verify; with
 * a file, all are checked first and none is attached if any does not verify.
 */
export async function credentialsAttachCommand(
  options: ConnectionOptions & { file?: string; allPending?: boolean },
  io: Io,
): Promise<void> {
  if ((options.file === undefined) === !options.allPending)
    throw new CliError("give a credential file, or --all-pending (not both)", ExitCode.Usage);
  const fromFile =
    options.file !== undefined ? credentialsIn(options.file, await readCredential(options.file)) : undefined;
  const result = await withConnection(options, async (c) => {
    const jsons =
      fromFile ?? (await c.credentials.listCredentials({ trainerId: "", pending: true })).pending.map((p) => p.json);
    const attached: Array<{ id: string; subject: string; issuer: string }> = [];
    const skipped: Array<{ id: string; reasons: string[] }> = [];
    // Checked first: a file is attached whole or not at all; pending ones that do not verify (yet) are left for later.
    const good: string[] = [];
    for (const json of jsons) {
      const v = await c.credentials.verifyCredential({ json, at: "", issuerKey: "" });
      if (v.valid) good.push(json);
      else skipped.push({ id: summary(json).id, reasons: v.reasons });
    }
    if (fromFile && skipped.length > 0) return { attached, skipped };
    const bar =
      !io.json && io.stderr.isTTY && good.length > 1
        ? new SingleBar({ format: "attaching [{bar}] {value}/{total}", stream: io.stderr, hideCursor: true })
        : undefined;
    bar?.start(good.length, 0);
    try {
      for (const json of good) {
        const v = await c.credentials.attachCredential({ json });
        attached.push({ id: summary(json).id, subject: v.subject, issuer: v.issuerHub || v.issuer });
        bar?.update(attached.length);
      }
    } finally {
      bar?.stop();
    }
    return { attached, skipped };
  });
  if (io.json) printJson(io, result);
  else {
    for (const a of result.attached)
      printLine(io, `Attached ${a.id} to ${a.subject} (verified: issued by ${a.issuer})`);
    for (const s of result.skipped)
      printLine(
        io,
        `${fromFile ? "Does not verify" : "Not attached (does not verify yet)"}: ${s.id}: ${s.reasons.join("; ")}`,
      );
    if (options.allPending && result.attached.length === 0 && result.skipped.length === 0)
      printLine(io, "No credential issued elsewhere to this hub's trainers is waiting to be attached.");
  }
  if (fromFile && result.skipped.length > 0) {
    throw new CliError(
      `${result.skipped.length} credential(s) in ${options.file} do not verify; nothing was attached`,
      ExitCode.Failure,
    );
  }
}
