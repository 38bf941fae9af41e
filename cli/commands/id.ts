import { loadConfigFile } from "../../node/config/load.js";
import { loadIdentityFile } from "../../node/identity/identity.js";
import { dataPaths } from "../../node/paths.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, type Io } from "../io.js";

/**
 * `concordat id`: the peer id of a data directory's key, read from the directory (no node needs to
 * run). It is what a hub gives the secretariat to be admitted, and the secretariat's is the trust
 * anchor every hub names: `--anchor "$(concordat --data ./sec id)"`.
 */
export async function idCommand(options: { data: string }, io: Io): Promise<void> {
  const paths = dataPaths(options.data);
  const identity = await loadIdentityFile(paths.identity).catch((error: unknown) => {
    throw new CliError(
      `${options.data} holds no node identity (${error instanceof Error ? error.message : String(error)}): run \`concordat init\` first`,
      ExitCode.NotFound,
    );
  });
  const config = await loadConfigFile(paths.config);
  if (io.json) {
    printJson(io, {
      peerId: identity.peerId,
      hub: config.hub.id,
      role: config.hub.role,
      federation: config.federation.id,
    });
    return;
  }
  printLine(io, identity.peerId);
}
