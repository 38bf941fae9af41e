import { readFile } from "node:fs/promises";
import type { Candidate, Evidence, Proposal } from "../../node/api/generated/concordat/v1/feedback.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, printTable, type Io } from "../io.js";

export interface ProposeOptions extends ConnectionOptions {
  id: string;
  item?: string;
  module?: string;
  text?: string;
  language?: string;
  outcome?: string[];
  cite?: string;
  reason?: string;
  reasonFile?: string;
  evidence?: string[];
}

/** `case:HUB/CASE-ID`, `delivery:ID` or `figure:words`. */
function evidenceOf(spec: string): Evidence {
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? "" : spec.slice(0, colon);
  if (!["case", "delivery", "figure"].includes(kind))
    throw new CliError(
      `--evidence '${spec}' is not KIND:REF (case:HUB/CASE-ID, delivery:ID or figure:"what was measured")`,
      ExitCode.Usage,
    );
  return { kind, ref: spec.slice(colon + 1).trim(), note: "" };
}

/**
 * `concordat proposals propose ID (--item ID | --module ID) (--text … | --outcome … | --cite HUB/CASE)
 * --reason … [--evidence KIND:REF]…`: this hub proposes a change to the latest core release.
 */
export async function proposalsProposeCommand(options: ProposeOptions, io: Io): Promise<void> {
  if ((options.item === undefined) === (options.module === undefined))
    throw new CliError("name what the proposal changes: --item ID (a competency) or --module ID", ExitCode.Usage);
  const kinds = [options.text !== undefined, (options.outcome ?? []).length > 0, options.cite !== undefined];
  if (kinds.filter(Boolean).length !== 1)
    throw new CliError(
      "say what to change, one of: --text (new wording, with --language), --outcome (repeated) or --cite HUB/CASE-ID",
      ExitCode.Usage,
    );
  if ((options.reason === undefined) === (options.reasonFile === undefined))
    throw new CliError("give the reason with --reason TEXT or --reason-file FILE", ExitCode.Usage);
  const reason =
    options.reason ??
    (await readFile(options.reasonFile as string, "utf8").catch((error: NodeJS.ErrnoException) => {
      throw new CliError(`cannot read '${options.reasonFile}': ${error.code ?? error.message}`, ExitCode.Usage);
    }));
  const change = {
    kind: kinds[0] ? "text" : kinds[1] ? "outcomes" : "cite-case",
    text: options.text ?? "",
    language: options.text !== undefined ? (options.language ?? "en") : "",
    outcomes: options.outcome ?? [],
    case: options.cite ?? "",
  };
  const saved = await withConnection(options, (c) =>
    c.feedback.propose({
      id: options.id,
      targetKind: options.item !== undefined ? "item" : "module",
      targetId: options.item ?? options.module ?? "",
      change,
      reason,
      evidence: (options.evidence ?? []).map(evidenceOf),
    }),
  );
  if (io.json) printJson(io, saved);
  else
    printLine(
      io,
      `Proposed ${saved.ref}: ${describeChange(saved)} (against core ${saved.against}); other hubs see it as it replicates`,
    );
}

function describeChange(p: Proposal): string {
  const target = `${p.targetKind} ${p.targetId}`;
  switch (p.change?.kind) {
    case "text":
      return `new wording of ${target} (${p.change.language})`;
    case "outcomes":
      return `${p.change.outcomes.length} learning outcome(s) for ${target}`;
    default:
      return `cite case ${p.change?.case ?? ""} in ${target}`;
  }
}

export async function proposalsWithdrawCommand(options: ConnectionOptions & { id: string }, io: Io): Promise<void> {
  const saved = await withConnection(options, (c) => c.feedback.withdrawProposal({ id: options.id }));
  if (io.json) printJson(io, saved);
  else printLine(io, `Withdrew ${saved.ref}`);
}

/** `proposals support REF [--text]`, `proposals comment REF --text [--object]`. */
export async function proposalsCommentCommand(
  options: ConnectionOptions & { proposal: string; text?: string; object?: boolean; support?: boolean },
  io: Io,
): Promise<void> {
  const stance = options.support ? "support" : options.object ? "object" : "comment";
  if (stance !== "support" && !options.text)
    throw new CliError(`say what you ${stance === "object" ? "object to" : "have to say"} with --text`, ExitCode.Usage);
  const saved = await withConnection(options, (c) =>
    c.feedback.commentProposal({ proposal: options.proposal, stance, text: options.text ?? "" }),
  );
  if (io.json) printJson(io, saved);
  else
    printLine(
      io,
      stance === "support"
        ? `This hub supports ${saved.ref} (${saved.supporters.length} hub(s) support it)`
        : `${stance === "object" ? "Objected to" : "Commented on"} ${saved.ref} (${saved.comments.length} comment(s))`,
    );
}

export function proposalsSupportCommand(
  options: ConnectionOptions & { proposal: string; text?: string },
  io: Io,
): Promise<void> {
  return proposalsCommentCommand({ ...options, support: true }, io);
}

/** `proposals decide REF (--accept | --merge | --reject) [--reason]`: the secretariat. */
export async function proposalsDecideCommand(
  options: ConnectionOptions & {
    proposal: string;
    accept?: boolean;
    merge?: boolean;
    reject?: boolean;
    reason?: string;
  },
  io: Io,
): Promise<void> {
  const chosen = (["accept", "merge", "reject"] as const).filter((o) => options[o]);
  if (chosen.length !== 1)
    throw new CliError("give one of --accept, --merge (into the drafts) or --reject --reason TEXT", ExitCode.Usage);
  const outcome = { accept: "accepted", merge: "merged", reject: "rejected" }[chosen[0] as "accept"];
  const saved = await withConnection(options, (c) =>
    c.feedback.decideProposal({ proposal: options.proposal, outcome, reason: options.reason ?? "" }),
  );
  if (io.json) printJson(io, saved);
  else
    printLine(
      io,
      `${saved.ref} is ${outcome}${
        outcome === "merged"
          ? ": the next release names it as answered"
          : outcome === "accepted"
            ? ": merge it (--merge) once the drafts carry it, and the release after names it"
            : ""
      }`,
    );
}

export async function proposalsListCommand(
  options: ConnectionOptions & { hub?: string; status?: string; target?: string; search?: string },
  io: Io,
): Promise<void> {
  const { proposals } = await withConnection(options, (c) =>
    c.feedback.listProposals({
      hub: options.hub ?? "",
      status: options.status ?? "",
      target: options.target ?? "",
      search: options.search ?? "",
    }),
  );
  if (io.json) {
    printJson(io, { proposals });
    return;
  }
  if (proposals.length === 0) {
    printLine(io, "No proposal matches.");
    return;
  }
  printTable(
    io,
    ["proposal", "changes", "status", "support", "comments", "proposed"],
    proposals.map((p) => [
      p.ref,
      describeChange(p),
      p.status === "released" ? `released in ${p.releasedIn}` : p.status,
      String(p.supporters.length),
      String(p.comments.length),
      p.proposedAt.slice(0, 10),
    ]),
  );
}

export async function proposalsShowCommand(options: ConnectionOptions & { proposal: string }, io: Io): Promise<void> {
  const p = await withConnection(options, (c) => c.feedback.getProposal({ proposal: options.proposal }));
  if (io.json) {
    printJson(io, p);
    return;
  }
  printLine(io, `${p.ref}: ${describeChange(p)}, against core ${p.against}`);
  if (p.change?.kind === "text") printLine(io, `  proposed wording: ${p.change.text}`);
  for (const o of p.change?.outcomes ?? []) printLine(io, `  outcome: ${o}`);
  printLine(io, `  reason: ${p.reason}`);
  for (const e of p.evidence) printLine(io, `  evidence (${e.kind}): ${e.ref}`);
  const status = p.status === "released" ? `released in ${p.releasedIn}` : p.status;
  printLine(
    io,
    `  status: ${status}${p.decision ? ` (${p.decision.outcome} ${p.decision.at}${p.decision.reason ? `: ${p.decision.reason}` : ""})` : ""}`,
  );
  printLine(io, `  supported by: ${p.supporters.join(", ") || "no other hub yet"}`);
  for (const c of p.comments) printLine(io, `  ${c.hub} (${c.stance}, ${c.at.slice(0, 10)}): ${c.text}`);
}

/** `concordat core candidates [--min-hubs N]`: adaptations that recur across hubs. */
export async function coreCandidatesCommand(options: ConnectionOptions & { minHubs?: number }, io: Io): Promise<void> {
  const { candidates } = await withConnection(options, (c) => c.feedback.candidates({ minHubs: options.minHubs ?? 2 }));
  if (io.json) {
    printJson(io, { candidates });
    return;
  }
  if (candidates.length === 0) {
    printLine(io, `No adaptation recurs in ${options.minHubs ?? 2} or more hubs.`);
    return;
  }
  printTable(
    io,
    ["record", "aspect", "hubs", "agreeing", "most common value", "core now", "proposals"],
    candidates.map((c: Candidate) => [
      `${c.targetKind} ${c.targetId}`,
      c.aspect,
      [...new Set(c.hubs.map((h) => h.hub))].join(", "),
      String(c.agreeing),
      c.commonValue,
      c.core || "-",
      c.proposals.join(", ") || "-",
    ]),
  );
}
