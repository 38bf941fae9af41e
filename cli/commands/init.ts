import { DEFAULT_CONFIG_PATH } from "../../node/version.js";
import { initDataDir, readTextFile } from "../../node/setup.js";
import { printLine, printJson, type Io } from "../io.js";

export interface InitCommandOptions {
  data: string;
  hub: string;
  name: string;
  secretariat?: boolean;
  region?: string;
  /** Base configuration to copy; defaults to config/default.yaml. */
  config?: string;
  federation?: string;
  anchor?: string;
  bootstrap?: string[];
  /** Where the node listens: stored in its config.yaml (api.port, network.listen). */
  apiPort?: number;
  consolePort?: number;
  listen?: string[];
}

/** `concordat init`: a new identity, config and first admin credential in a data directory. */
export async function initCommand(options: InitCommandOptions, io: Io): Promise<void> {
  const configPath = options.config ?? DEFAULT_CONFIG_PATH;
  const result = await initDataDir({
    dataDir: options.data,
    hubId: options.hub,
    name: options.name,
    secretariat: options.secretariat ?? false,
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.federation !== undefined ? { federationId: options.federation } : {}),
    ...(options.anchor !== undefined ? { anchor: options.anchor } : {}),
    ...(options.bootstrap !== undefined ? { bootstrap: options.bootstrap } : {}),
    baseConfig: await readTextFile(configPath, "configuration"),
    baseConfigSource: configPath,
    listen: {
      ...(options.apiPort !== undefined ? { apiPort: options.apiPort } : {}),
      ...(options.consolePort !== undefined ? { consolePort: options.consolePort } : {}),
      ...(options.listen !== undefined ? { listen: options.listen } : {}),
    },
  });
  const summary = {
    dataDir: options.data,
    hubId: result.config.hub.id,
    name: result.config.hub.name,
    role: result.config.hub.role,
    peerId: result.peerId,
    federationId: result.config.federation.id,
    anchor: result.config.federation.anchor ?? "",
    config: result.paths.config,
    identity: result.paths.identity,
    adminToken: result.paths.adminToken,
    adminOperatorId: result.adminOperatorId,
    api: `${result.config.api.host}:${result.config.api.port}`,
    libp2p: result.config.network.listen,
  };
  if (io.json) {
    printJson(io, summary);
    return;
  }
  printLine(io, `Initialised ${summary.role} '${summary.hubId}' (${summary.name}) in ${options.data}`);
  printLine(io, `  peer id       ${summary.peerId}`);
  printLine(io, `  identity key  ${summary.identity} (mode 0600)`);
  printLine(io, `  config        ${summary.config}`);
  printLine(io, `  admin token   ${summary.adminToken} (mode 0600; the CLI reads it with --data ${options.data})`);
  printLine(
    io,
    `  listens on    API ${summary.api}, libp2p ${summary.libp2p.join(", ") || "off"} (change with --api-port and --listen)`,
  );
  printLine(
    io,
    `  federation    ${summary.federationId}, trust anchor ${summary.anchor || "not set (add federation.anchor to the config)"}`,
  );
  if (summary.role === "secretariat") {
    printLine(
      io,
      `Start it with: concordat start --data ${options.data}, then create the charter: concordat federation create`,
    );
  } else {
    printLine(
      io,
      `Ask the secretariat to admit it: concordat federation admit --hub ${summary.hubId} --peer-id ${summary.peerId} --addr ADDRESS`,
    );
    printLine(io, `Start it with: concordat start --data ${options.data}`);
  }
}
