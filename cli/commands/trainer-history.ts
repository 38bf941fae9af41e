/** `concordat trainers deploy|lineage|history|release|accept`: where trainers served, and moving them between hubs. */
import type { GetTrainerHistoryResponse } from "../../node/api/generated/concordat/v1/trainers.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, printTable, type Io } from "../io.js";

export interface DeployOptions extends ConnectionOptions {
  id: string;
  from: string;
  to: string;
  role: string;
  place: string;
  country: string;
  module: string;
  mission?: string;
  withHub?: string;
}

export interface LineageOptions extends ConnectionOptions {
  id: string;
  trainedBy: string;
  module: string;
  on: string;
  credential?: string;
}

/** Prints a trainer's service history: moves (and whether both hubs signed them), deployments, lineage, changes. */
function describeHistory(io: Io, h: GetTrainerHistoryResponse, headline?: string): void {
  if (io.json) {
    printJson(io, h);
    return;
  }
  if (headline) printLine(io, headline);
  const t = h.trainer;
  printLine(
    io,
    `${t?.id ?? ""} (${t?.displayName ?? ""}) of ${t?.homeHub ?? ""} — ${h.checkpointSeq === 0 ? "this hub, live" : `as of ${t?.homeHub}'s checkpoint ${h.checkpointSeq}`}`,
  );
  if (h.movedTo) printLine(io, `Moved to ${h.movedTo.hub} on ${h.movedTo.on}: ${h.moveDetail}`);
  if (h.movedFrom)
    printLine(io, `Moved from ${h.movedFrom.hub} (its ${h.movedFrom.id}) on ${h.movedFrom.on}: ${h.moveDetail}`);
  if (h.deployments.length === 0) printLine(io, "Deployments: none recorded (`concordat trainers deploy`).");
  else {
    printLine(io, `Deployments (${h.deployments.length}):`);
    printTable(
      io,
      ["from", "to", "role", "module", "place", "country", "hub", "mission"],
      h.deployments.map((d) => [d.from, d.to, d.role, d.module, d.place, d.country, d.hub, d.mission]),
    );
  }
  if (h.trainedBy.length === 0) printLine(io, "Trained as a trainer by: none recorded (`concordat trainers lineage`).");
  else {
    printLine(io, "Trained as a trainer by:");
    printTable(
      io,
      ["trainer", "module", "on", "credential"],
      h.trainedBy.map((l) => [l.trainedBy, l.module, l.on, l.credential || "-"]),
    );
  }
  if (h.entries.length > 0) {
    printLine(io, "Changes:");
    printTable(
      io,
      ["time", "operator", "action"],
      h.entries.map((e) => [e.time, e.operatorId, e.action]),
    );
  }
}

/** `trainers history ID [--hub H]`: deployments, lineage and moves; this hub's changes too. */
export async function trainersHistoryCommand(
  options: ConnectionOptions & { id: string; hub?: string },
  io: Io,
): Promise<GetTrainerHistoryResponse> {
  const history = await withConnection(options, (c) =>
    c.trainers.getTrainerHistory({ id: options.id, hub: options.hub ?? "" }),
  );
  describeHistory(io, history);
  return history;
}

/** `trainers deploy ID …`: records a deployment or engagement the trainer served. */
export async function trainersDeployCommand(options: DeployOptions, io: Io): Promise<GetTrainerHistoryResponse> {
  const history = await withConnection(options, (c) =>
    c.trainers.addDeployment({
      id: options.id,
      deployment: {
        from: options.from,
        to: options.to,
        role: options.role,
        place: options.place,
        country: options.country,
        module: options.module,
        hub: options.withHub ?? "",
        mission: options.mission ?? "",
      },
    }),
  );
  describeHistory(io, history, `Recorded a deployment of trainer '${options.id}'.`);
  return history;
}

/** `trainers lineage ID --trained-by HUB/ID …`: records who trained the trainer as a trainer. */
export async function trainersLineageCommand(options: LineageOptions, io: Io): Promise<GetTrainerHistoryResponse> {
  const history = await withConnection(options, (c) =>
    c.trainers.addLineage({
      id: options.id,
      lineage: {
        trainedBy: options.trainedBy,
        module: options.module,
        on: options.on,
        credential: options.credential ?? "",
      },
    }),
  );
  describeHistory(io, history, `Recorded who trained '${options.id}' as a trainer.`);
  return history;
}

/** `trainers release ID --to HUB`: this hub lets one of its trainers move to another hub. */
export async function trainersReleaseCommand(
  options: ConnectionOptions & { id: string; to: string },
  io: Io,
): Promise<GetTrainerHistoryResponse> {
  const history = await withConnection(options, (c) =>
    c.trainers.releaseTrainer({ id: options.id, toHub: options.to }),
  );
  describeHistory(
    io,
    history,
    `Released '${options.id}' to ${options.to}: no longer offered by this hub. At ${options.to}: \`concordat trainers accept ${history.trainer?.homeHub ?? "THIS-HUB"}/${options.id}\`.`,
  );
  return history;
}

/** `trainers accept HUB/ID`: takes in a trainer another hub released to this one. */
export async function trainersAcceptCommand(
  options: ConnectionOptions & { ref: string },
  io: Io,
): Promise<GetTrainerHistoryResponse> {
  const ref = options.ref.trim();
  const slash = ref.indexOf("/");
  if (slash <= 0 || slash === ref.length - 1)
    throw new CliError(`'${ref}' is not HUB/TRAINER-ID (e.g. hub-a/T-17)`, ExitCode.Usage);
  const history = await withConnection(options, (c) =>
    c.trainers.acceptTrainer({ fromHub: ref.slice(0, slash), id: ref.slice(slash + 1) }),
  );
  describeHistory(
    io,
    history,
    `Accepted ${ref} with their history. Their personal data stayed at ${ref.slice(0, slash)}: enter it again here with \`concordat trainers update ${ref.slice(slash + 1)} --email … --phone …\`; attach their credentials here with \`concordat credentials attach\`.`,
  );
  return history;
}
