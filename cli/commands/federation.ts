import type { Member } from "../../node/api/generated/concordat/v1/federation.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { printJson, printLine, printTable, type Io } from "../io.js";

function describe(m: Member): string {
  return `'${m.hub}' (${m.name}${m.region ? `, ${m.region}` : ""})`;
}

function printMember(io: Io, verb: string, m: Member): void {
  if (io.json) {
    printJson(io, m);
    return;
  }
  printLine(io, `${verb} ${describe(m)}`);
  printLine(io, `  peer id     ${m.peerId || "-"}`);
  printLine(io, `  directory   ${m.directoryId}`);
  printLine(io, `  addresses   ${m.addresses.join(", ") || "none (it dials others, or others list it as a peer)"}`);
  if (m.keys.length > 1)
    printLine(
      io,
      `  keys        ${m.keys.map((k) => (k.until ? `${k.peerId} (until ${k.until})` : `${k.peerId} (since ${k.from})`)).join(", ")}`,
    );
  if (m.removedAt) printLine(io, `  removed at  ${m.removedAt}`);
}

/** `concordat federation create`: the secretariat's charter, with itself as first member. */
export async function federationCreateCommand(
  options: ConnectionOptions & { members: string[] },
  io: Io,
): Promise<void> {
  const member = await withConnection(options, (c) => c.federation.createFederation({ addresses: options.members }));
  printMember(io, "Created the federation's charter with the secretariat", member);
  if (!io.json) printLine(io, "Admit hubs with: concordat federation admit --hub ID --peer-id PEER [--addr ADDRESS]");
}

export async function federationAdmitCommand(
  options: ConnectionOptions & {
    hub: string;
    peerId: string;
    addresses: string[];
    name?: string;
    region?: string;
    directoryId?: string;
  },
  io: Io,
): Promise<void> {
  const member = await withConnection(options, (c) =>
    c.federation.admitMember({
      hub: options.hub,
      peerId: options.peerId,
      addresses: options.addresses,
      name: options.name ?? "",
      region: options.region ?? "",
      directoryId: options.directoryId ?? "",
    }),
  );
  printMember(io, "Admitted", member);
}

export async function federationRemoveCommand(options: ConnectionOptions & { hub: string }, io: Io): Promise<void> {
  const member = await withConnection(options, (c) => c.federation.removeMember({ hub: options.hub }));
  printMember(io, "Removed", member);
  if (!io.json)
    printLine(
      io,
      "Members disconnect it as the signed charter reaches them; its data stays readable as of its last checkpoint before removal.",
    );
}

export async function federationRotateKeyCommand(
  options: ConnectionOptions & { hub: string; peerId: string },
  io: Io,
): Promise<void> {
  const member = await withConnection(options, (c) =>
    c.federation.rotateMemberKey({ hub: options.hub, peerId: options.peerId }),
  );
  printMember(io, "Rotated the key of", member);
}

export async function federationListCommand(options: ConnectionOptions & { all?: boolean }, io: Io): Promise<void> {
  const list = await withConnection(options, (c) => c.federation.listMembers({}));
  if (io.json) {
    printJson(io, list);
    return;
  }
  const source =
    list.source === "authoring"
      ? "this node is the secretariat (its own charter)"
      : list.source === "verified"
        ? `verified at seq ${list.verifiedSeq}, signed ${list.verifiedTime}`
        : "none verified yet";
  printLine(io, `federation  ${list.federationId}`);
  printLine(io, `anchor      ${list.anchor || "not configured (federation.anchor)"}`);
  printLine(io, `charter     ${list.charterId || "-"} (${source})`);
  printTable(
    io,
    ["hub", "name", "region", "role", "peer id", "addresses", "state"],
    list.members.map((m) => [
      m.hub,
      m.name,
      m.region,
      m.role,
      m.peerId || (m.keys.at(-1)?.peerId ?? ""),
      m.addresses.join(" "),
      m.removedAt
        ? `removed ${m.removedAt}`
        : m.keys.length > 1
          ? `active (key ${m.keys.length}, since ${m.keys.at(-1)?.from})`
          : "active",
    ]),
  );
}
