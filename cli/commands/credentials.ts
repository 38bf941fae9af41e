import { readFile, writeFile } from "node:fs/promises";
import type { VerifyCredentialResponse } from "../../node/api/generated/concordat/v1/credentials.js";
import { call, withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printJsonText, printLine, printTable, type Io } from "../io.js";

async function readCredential(file: string): Promise<string> {
  return readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read '${file}': ${error.code ?? error.message}`, ExitCode.Usage);
  });
}

function summary(json: string): { id: string; name: string; subject: string; issuer: string; validUntil: string } {
  const c = JSON.parse(json) as { id?: string; name?: string; credentialSubject?: { id?: string }; issuer?: { name?: string; id?: string } | string; validUntil?: string };
  const issuer = typeof c.issuer === "string" ? c.issuer : (c.issuer?.name ?? c.issuer?.id ?? "");
  return { id: c.id ?? "", name: c.name ?? "", subject: c.credentialSubject?.id ?? "", issuer, validUntil: c.validUntil ?? "" };
}

/** `credentials issue`: an Open Badges 3.0 accreditation, signed by this node. */
export async function credentialsIssueCommand(
  options: ConnectionOptions & { trainer: string; scheme: string; level: string; validFrom: string; validUntil: string; evidence?: string[]; out?: string },
  io: Io,
): Promise<void> {
  const [hub, id] = options.trainer.includes("/") ? (options.trainer.split("/", 2) as [string, string]) : ["", options.trainer];
  const result = await withConnection(options, (c) =>
    call(c, c.credentials.issueCredential.bind(c.credentials), {
      trainerHub: hub,
      trainerId: id,
      scheme: options.scheme,
      level: options.level,
      validFrom: options.validFrom,
      validUntil: options.validUntil,
      evidence: options.evidence ?? [],
    }),
  );
  if (options.out) await writeFile(options.out, `${JSON.stringify(JSON.parse(result.json), null, 2)}\n`);
  if (io.json) {
    printJson(io, JSON.parse(result.json));
    return;
  }
  const s = summary(result.json);
  printLine(io, `Issued ${s.id}: '${s.name}' to ${s.subject}, valid until ${s.validUntil}${options.out ? `; written to ${options.out}` : ""}`);
}

export async function credentialsListCommand(options: ConnectionOptions & { trainer?: string }, io: Io): Promise<void> {
  const result = await withConnection(options, (c) => call(c, c.credentials.listCredentials.bind(c.credentials), { trainerId: options.trainer ?? "" }));
  if (io.json) {
    printJson(io, { issued: result.issued.map((c) => JSON.parse(c.json) as unknown), held: result.held.map((c) => JSON.parse(c.json) as unknown) });
    return;
  }
  const rows = (list: typeof result.issued, kind: string) => list.map((c) => summary(c.json)).map((s) => [kind, s.id, s.name, s.subject, s.issuer, s.validUntil]);
  const all = [...rows(result.issued, "issued here"), ...rows(result.held, "held by a trainer")];
  if (all.length === 0) printLine(io, "No credentials issued or held here.");
  else printTable(io, ["", "id", "achievement", "subject", "issuer", "valid until"], all);
}

export async function credentialsShowCommand(options: ConnectionOptions & { id: string; out?: string }, io: Io): Promise<void> {
  const result = await withConnection(options, (c) => call(c, c.credentials.getCredential.bind(c.credentials), { id: options.id }));
  const pretty = `${JSON.stringify(JSON.parse(result.json), null, 2)}\n`;
  if (options.out) {
    await writeFile(options.out, pretty);
    if (!io.json) printLine(io, `Wrote ${options.id} to ${options.out}`);
    else printJson(io, { id: options.id, out: options.out });
  } else printJsonText(io, pretty);
}

export async function credentialsStatusCommand(options: ConnectionOptions & { id: string; action: string }, io: Io): Promise<void> {
  const status = await withConnection(options, (c) => call(c, c.credentials.setCredentialStatus.bind(c.credentials), { id: options.id, action: options.action }));
  if (io.json) printJson(io, status);
  else printLine(io, `${options.id}: ${status.revoked ? "revoked" : status.suspended ? "suspended" : "active"} (the issuer's signed status list is updated; members see it at its next checkpoint)`);
}

export async function credentialsEndorseCommand(options: ConnectionOptions & { subject: string; comment: string; validUntil?: string }, io: Io): Promise<void> {
  const result = await withConnection(options, (c) =>
    call(c, c.credentials.endorse.bind(c.credentials), { subject: options.subject, comment: options.comment, validUntil: options.validUntil ?? "" }),
  );
  const endorsement = JSON.parse(result.json) as { issuer?: { id?: string; name?: string }; credentialSubject?: { id?: string } };
  if (io.json) printJson(io, endorsement);
  else {
    // Who endorses whom: this node's body (the endorsement's issuer) endorses the subject named.
    const endorser = endorsement.issuer?.name ? `'${endorsement.issuer.name}'` : "this hub";
    const subject = endorsement.credentialSubject?.id ?? options.subject;
    printLine(io, `${endorser} (this node) endorses ${options.subject}${subject !== options.subject ? ` (${subject})` : ""}: ${result.id}`);
  }
}

function printVerification(io: Io, file: string, v: VerifyCredentialResponse): void {
  printLine(io, `${v.valid ? "VALID" : "NOT VALID"}: ${file}`);
  printLine(io, `  issuer   ${v.issuerHub ? `${v.issuerHub} (${v.issuer})` : v.issuer || "-"}`);
  printLine(io, `  subject  ${v.subject || "-"}`);
  for (const c of v.checks) printLine(io, `  ${c.ok ? "✓" : "✗"} ${c.check}: ${c.detail}`);
  for (const e of v.endorsements) {
    // The endorser is the hub that signed the endorsement; what it endorses is this credential's issuer or its scheme.
    const what = e.subject === v.issuer ? `the issuer${v.issuerHub ? ` (hub '${v.issuerHub}')` : ` ${e.subject}`}` : e.subject.startsWith("urn:concordat:scheme:") ? `the scheme '${e.subject.slice("urn:concordat:scheme:".length)}'` : e.subject;
    printLine(io, `  endorsement  hub '${e.endorserHub}' endorses ${what}: ${e.comment}`);
  }
}

/** `credentials verify FILE`: exits 1 when the credential is not valid, naming why. */
export async function credentialsVerifyCommand(options: ConnectionOptions & { file: string; issuerKey?: string; at?: string }, io: Io): Promise<void> {
  const json = await readCredential(options.file);
  const v = await withConnection(options, (c) => call(c, c.credentials.verifyCredential.bind(c.credentials), { json, at: options.at ?? "", issuerKey: options.issuerKey ?? "" }));
  if (io.json) printJson(io, v);
  else printVerification(io, options.file, v);
  if (!v.valid) throw new CliError(`${options.file} is not valid: ${v.reasons.join("; ")}`, ExitCode.Failure);
}

export async function credentialsAttachCommand(options: ConnectionOptions & { file: string }, io: Io): Promise<void> {
  const json = await readCredential(options.file);
  const v = await withConnection(options, (c) => call(c, c.credentials.attachCredential.bind(c.credentials), { json }));
  if (io.json) printJson(io, v);
  else printLine(io, `Attached ${summary(json).id} to ${v.subject} (verified: issued by ${v.issuerHub || v.issuer})`);
}
