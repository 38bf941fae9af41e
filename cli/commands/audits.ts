import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { access, readFile } from "node:fs/promises";
import type { Audit, Evaluator, Finding } from "../../node/api/generated/concordat/v1/evaluations.js";
import { findingBytes, SEVERITIES, type Severity } from "../../node/audits/index.js";
import { multikeyOfRaw } from "../../node/credentials/index.js";
import { writeAtomically } from "../atomic-file.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, printNotice, printTable, type Io } from "../io.js";

/** The did:key of an Ed25519 key (its public half). */
function didKeyOf(key: KeyObject): string {
  const jwk = createPublicKey(key).export({ format: "jwk" });
  return `did:key:${multikeyOfRaw(Buffer.from(jwk.x ?? "", "base64url"))}`;
}

/**
 * `concordat evaluators keygen --out FILE`: an evaluator's own Ed25519 key, made on their machine
 * (no node involved), written as PKCS#8 PEM readable by them alone; prints the did:key the
 * secretariat appoints. The private key never leaves the file: findings are signed by the CLI.
 */
export async function evaluatorsKeygenCommand(options: { out: string }, io: Io): Promise<void> {
  if (
    await access(options.out).then(
      () => true,
      () => false,
    )
  )
    throw new CliError(`'${options.out}' exists: a key is never overwritten (choose another file)`, ExitCode.Usage);
  const { privateKey } = generateKeyPairSync("ed25519");
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
  await writeAtomically(options.out, 0o600, (write) => write(Buffer.from(pem)));
  const did = didKeyOf(privateKey);
  if (io.json) printJson(io, { file: options.out, key: did });
  else {
    // The did:key alone on stdout (KEY=$(concordat evaluators keygen --out FILE)); the note on stderr.
    printLine(io, did);
    printNotice(
      io,
      `The private key is in ${options.out} (readable by you alone): keep it, and give the secretariat the did:key above.`,
    );
  }
}

async function readKey(file: string): Promise<KeyObject> {
  const pem = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read '${file}': ${error.code ?? error.message}`, ExitCode.Usage);
  });
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== "ed25519") throw new Error(`it is a ${key.asymmetricKeyType ?? "?"} key`);
    return key;
  } catch (error) {
    throw new CliError(
      `'${file}' is not an Ed25519 private key (${(error as Error).message}): make one with \`concordat evaluators keygen\``,
      ExitCode.Usage,
    );
  }
}

const shown = (e: Evaluator) => ({ ...e, removedAt: e.removedAt || undefined });

export async function evaluatorsAppointCommand(
  options: ConnectionOptions & { id: string; name: string; key: string },
  io: Io,
): Promise<void> {
  const e = await withConnection(options, (c) =>
    c.evaluations.appointEvaluator({
      evaluator: {
        id: options.id,
        name: options.name,
        key: options.key,
        appointedAt: "",
        appointedBy: "",
        removedAt: "",
      },
    }),
  );
  if (io.json) printJson(io, shown(e));
  else printLine(io, `Evaluator '${e.id}' (${e.name}) is on the panel since ${e.appointedAt}, with key ${e.key}`);
}

export async function evaluatorsRemoveCommand(options: ConnectionOptions & { id: string }, io: Io): Promise<void> {
  const e = await withConnection(options, (c) => c.evaluations.removeEvaluator({ id: options.id }));
  if (io.json) printJson(io, shown(e));
  else printLine(io, `Evaluator '${e.id}' left the panel at ${e.removedAt}: findings signed after that do not count`);
}

export async function evaluatorsListCommand(options: ConnectionOptions, io: Io): Promise<void> {
  const { evaluators } = await withConnection(options, (c) => c.evaluations.listEvaluators({}));
  if (io.json) {
    printJson(io, { evaluators: evaluators.map(shown) });
    return;
  }
  printLine(io, `${evaluators.length} evaluator(s) on the panel`);
  if (evaluators.length > 0)
    printTable(
      io,
      ["id", "name", "appointed", "removed", "key"],
      evaluators.map((e) => [e.id, e.name, e.appointedAt, e.removedAt || "-", e.key]),
    );
}

export async function auditsDrawCommand(
  options: ConnectionOptions & { id: string; period: string; perHub: number },
  io: Io,
): Promise<void> {
  const audit = await withConnection(options, (c) =>
    c.evaluations.drawAudit({ id: options.id, period: options.period, perHub: options.perHub }),
  );
  if (io.json) printJson(io, audit);
  else printAudit(io, audit);
}

export async function auditsShowCommand(options: ConnectionOptions & { id: string }, io: Io): Promise<void> {
  const audit = await withConnection(options, (c) => c.evaluations.getAudit({ id: options.id }));
  if (io.json) printJson(io, audit);
  else printAudit(io, audit);
}

export async function auditsListCommand(options: ConnectionOptions, io: Io): Promise<void> {
  const { audits } = await withConnection(options, (c) => c.evaluations.listAudits({}));
  if (io.json) {
    printJson(io, { audits });
    return;
  }
  printLine(io, `${audits.length} audit(s)`);
  if (audits.length > 0)
    printTable(
      io,
      ["id", "period", "per hub", "sampled", "findings", "drawn"],
      audits.map((a) => [
        a.id,
        `${a.from} – ${a.to}`,
        String(a.perHub),
        String(a.sample.length),
        String(a.findings.length),
        a.drawnAt,
      ]),
    );
}

function printAudit(io: Io, a: Audit): void {
  printLine(
    io,
    `Audit ${a.id}: deliveries of ${a.from} – ${a.to}, ${a.perHub} per hub, drawn ${a.drawnAt} by ${a.drawnBy}`,
  );
  printLine(
    io,
    a.seedSignature
      ? `  seed: the secretariat's signature of its panel's checkpoint seq ${a.seedSeq} (${a.seedTime}): ${a.seedSignature.slice(0, 24)}…`
      : "  seed: none yet (draw it again to finish)",
  );
  for (const p of a.populations)
    printLine(io, `  ${p.hub}: ${p.deliveries.length} deliveries in the period, as signed at seq ${p.seq || "none"}`);
  if (a.sample.length === 0) return;
  printTable(
    io,
    ["hub", "delivery", "findings", "response"],
    a.sample.map((s) => {
      const findings = a.findings.filter((f) => f.hub === s.hub && f.delivery === s.delivery);
      const response = a.responses.find((r) => r.hub === s.hub && r.delivery === s.delivery);
      return [
        s.hub,
        s.delivery,
        findings.length === 0
          ? "-"
          : findings
              .map((f) => `${f.evaluator}: ${f.confirmed ? "confirmed" : "not confirmed"} (${f.severity})`)
              .join("; "),
        response ? response.stance : "-",
      ];
    }),
  );
}

/**
 * `concordat audits finding <audit>`: an evaluator's finding on a sampled delivery, signed here with
 * the evaluator's own key (`--key`), then stored by the node it is sent to, which checks it first.
 */
export async function auditsFindingCommand(
  options: ConnectionOptions & {
    audit: string;
    hub: string;
    delivery: string;
    evaluator: string;
    key: string;
    confirmed: string;
    severity: string;
    observations?: string;
  },
  io: Io,
): Promise<void> {
  const confirmed = options.confirmed.trim().toLowerCase();
  if (confirmed !== "yes" && confirmed !== "no")
    throw new CliError(
      `--confirmed '${options.confirmed}': expected yes or no (were the reported figures confirmed?)`,
      ExitCode.Usage,
    );
  if (!(SEVERITIES as readonly string[]).includes(options.severity))
    throw new CliError(`--severity '${options.severity}': expected one of ${SEVERITIES.join(", ")}`, ExitCode.Usage);
  const key = await readKey(options.key);
  const body = {
    audit: options.audit,
    hub: options.hub,
    delivery: options.delivery,
    evaluator: options.evaluator,
    confirmed: confirmed === "yes",
    severity: options.severity as Severity,
    observations: options.observations ?? "",
    at: new Date().toISOString(),
  };
  const signature = sign(null, findingBytes(body), key).toString("base64");
  const finding: Finding = { ...body, signature, storedBy: "" };
  const saved = await withConnection(options, async (c) => {
    const { evaluators } = await c.evaluations.listEvaluators({});
    const mine = evaluators.find((e) => e.id === options.evaluator);
    if (mine && mine.key !== didKeyOf(key))
      throw new CliError(
        `${options.key} holds ${didKeyOf(key)}, not evaluator '${options.evaluator}''s key (${mine.key})`,
        ExitCode.Usage,
      );
    return c.evaluations.recordFinding({ finding });
  });
  if (io.json) printJson(io, saved);
  else
    printLine(
      io,
      `Recorded ${saved.evaluator}'s finding on ${saved.hub}/${saved.delivery} (${saved.confirmed ? "confirmed" : "not confirmed"}, ${saved.severity}), signed ${saved.at}, stored by ${saved.storedBy}`,
    );
}

/** `concordat audits respond <audit> <delivery>`: the audited hub's answer, signed by its checkpoints. */
export async function auditsRespondCommand(
  options: ConnectionOptions & { audit: string; delivery: string; accept?: boolean; dispute?: boolean; note?: string },
  io: Io,
): Promise<void> {
  if (options.accept === options.dispute)
    throw new CliError("give --accept or --dispute (with --note saying why)", ExitCode.Usage);
  const saved = await withConnection(options, (c) =>
    c.evaluations.respondToAudit({
      audit: options.audit,
      delivery: options.delivery,
      stance: options.accept ? "accepted" : "disputed",
      note: options.note ?? "",
    }),
  );
  if (io.json) printJson(io, saved);
  else printLine(io, `Hub ${saved.hub} ${saved.stance} the findings on ${saved.delivery} (audit ${saved.audit})`);
}
