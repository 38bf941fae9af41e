import { withConnection, type ConnectionOptions } from "../connection.js";
import { printJson, printLine, printTable, type Io } from "../io.js";

/** `concordat status`: who the node is, what it holds, and who you are to it. */
export async function statusCommand(options: ConnectionOptions, io: Io): Promise<void> {
  const status = await withConnection(options, (c) => c.node.getStatus({}));
  if (io.json) {
    printJson(io, status);
    return;
  }
  printLine(io, `${status.role} '${status.hubId}' — ${status.hubName}`);
  if (status.removedAt) {
    printLine(
      io,
      `  REMOVED     the federation's charter removed this hub at ${status.removedAt}: members take nothing it signs after that, and refuse its connections once a short notice window has passed`,
    );
  }
  printLine(io, `  federation  ${status.federationId}`);
  printLine(
    io,
    `  anchor      ${status.anchor || "not configured: this node replicates with no one (federation.anchor)"}`,
  );
  printLine(
    io,
    `  charter     ${status.charterSource === "authoring" ? "this node's own (secretariat)" : status.charterSource === "verified" ? `verified at seq ${status.charterSeq}` : "none verified yet"}`,
  );
  printLine(io, `  peer id     ${status.peerId}`);
  printLine(io, `  version     ${status.version}, started ${status.startedAt}`);
  printLine(io, `  trainers    ${status.trainerCount}`);
  printLine(io, `  directory   ${status.directoryId}`);
  printLine(io, `  libp2p      ${status.libp2pAddresses.join(", ") || "off"}`);
  printLine(io, `  peers       ${status.connectedPeers} connected (details: concordat peers)`);
  printLine(
    io,
    `  bookings    policy '${status.bookingsPolicy}'; ${status.bookingsAwaitingDecision} request(s) wait for a decision${status.bookingsAwaitingDecision > 0 ? " (concordat bookings list --state pending)" : ""}`,
  );
  printLine(
    io,
    `  you are     ${status.caller?.name ?? "?"} (${status.caller?.id ?? "?"}, ${status.caller?.role ?? "?"})`,
  );
  if (status.members.length > 0) {
    printTable(
      io,
      ["member", "verified seq", "signed at", "age", "stale", "rejected", "last rejection"],
      status.members.map((m) => [
        m.removedAt ? `${m.hub} (removed ${m.removedAt})` : m.hub,
        m.verifiedSeq > 0 ? String(m.verifiedSeq) : "-",
        m.verifiedTime || "-",
        m.ageSeconds >= 0 ? `${m.ageSeconds}s` : "-",
        m.removedAt ? "removed" : m.stale ? "STALE" : "ok",
        String(m.rejected),
        m.lastRejection || "",
      ]),
    );
  }
  const byType = new Map<string, { count: number; replicated: boolean; schema: string }>();
  for (const d of status.documents) {
    const entry = byType.get(d.type) ?? { count: 0, replicated: d.replicated, schema: d.schemaVersion };
    entry.count += 1;
    byType.set(d.type, entry);
  }
  printTable(
    io,
    ["documents", "count", "schema", "replicated"],
    [...byType].map(([type, e]) => [type, String(e.count), e.schema, e.replicated ? "yes" : "no (private)"]),
  );
}
