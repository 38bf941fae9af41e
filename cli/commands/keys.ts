import { withConnection, type ConnectionOptions } from "../connection.js";
import { printJson, printLine, type Io } from "../io.js";

/**
 * `concordat keys rotate`: the node makes a new key and keeps using the current one until the
 * secretariat confirms the new one in the charter; then it switches by itself.
 */
export async function keysRotateCommand(options: ConnectionOptions, io: Io): Promise<void> {
  const status = await withConnection(options, (c) => c.keys.rotateKey({}));
  if (io.json) {
    printJson(io, status);
    return;
  }
  printLine(io, `Hub '${status.hub}' has a new key waiting: ${status.nextPeerId}`);
  printLine(io, `  in use until confirmed: ${status.peerId}`);
  printLine(io, "Ask the secretariat to confirm it with:");
  printLine(io, `  concordat federation rotate-key ${status.hub} --peer-id ${status.nextPeerId}`);
  printLine(io, "This node switches to the new key (and restarts itself) as soon as it verifies that charter.");
}

export async function keysStatusCommand(options: ConnectionOptions, io: Io): Promise<void> {
  const status = await withConnection(options, (c) => c.keys.getKeyStatus({}));
  if (io.json) {
    printJson(io, status);
    return;
  }
  printLine(io, `hub      ${status.hub}`);
  printLine(io, `key      ${status.peerId}`);
  printLine(io, `waiting  ${status.nextPeerId || "none"}`);
}
