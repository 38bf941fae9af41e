/** The node itself: `init`, `id`, `start`, `stop`, `status`, `peers`, `events`. */
import type { Command } from "commander";
import { NODE_UMASK } from "../../node/data-permissions.js";
import { eventsCommand } from "../commands/events.js";
import { idCommand } from "../commands/id.js";
import { initCommand } from "../commands/init.js";
import { peersCommand } from "../commands/peers.js";
import { runUntilStopped, startCommand } from "../commands/start.js";
import { statusCommand } from "../commands/status.js";
import { stopCommand } from "../commands/stop.js";
import type { Io } from "../io.js";
import { action, dataDir } from "./action.js";
import { collect, collectList, port } from "./arguments.js";

export function registerNode(program: Command): void {
  program
    .command("init")
    .description("create a node: Ed25519 identity (0600), config and a first admin credential")
    .requiredOption("--hub <id>", "hub id: a-z, 0-9 and '-'")
    .requiredOption("--name <name>", "hub name shown to others")
    .option("--secretariat", "this node is the standards secretariat")
    .option("--region <region>", "region, free text")
    .option("--config <file>", "base configuration to copy (default: config/default.yaml)")
    .option("--federation <id>", "the federation's id (default: the configuration's federation.id)")
    .option("--anchor <peer-id>", "the secretariat's peer id: the trust anchor (a secretariat's own by default)")
    .option("--bootstrap <multiaddr>", "a peer to dial first, /ip4/…/tcp/…/p2p/PEER (repeatable)", collect)
    .option("--api-port <port>", "port of the node's API, stored in its config (api.port; default 7400)", port)
    .option(
      "--console-port <port>",
      "port of the web console, stored in its config (console.port; default 7480, or a free one with --api-port)",
      port,
    )
    .option(
      "--listen <multiaddr>",
      "libp2p listen address, stored in its config (network.listen; repeatable or comma-separated)",
      collectList,
    )
    .action(
      action(
        initCommand,
        (
          g,
          opts: {
            hub: string;
            name: string;
            secretariat?: boolean;
            region?: string;
            config?: string;
            federation?: string;
            anchor?: string;
            bootstrap?: string[];
            apiPort?: number;
            consolePort?: number;
            listen?: string[];
          },
        ) => ({ ...opts, data: dataDir(g) }),
      ),
    );

  program
    .command("id")
    .description(
      "the peer id of the data directory's key (no node needs to run): what a hub gives the secretariat, and the secretariat's trust anchor",
    )
    .action(action(idCommand, (g) => ({ data: dataDir(g) })));

  program
    .command("start")
    .description("run the node in the foreground (initialises the data directory on the very first start)")
    .option("--config <file>", "configuration for the very first start (default: config/default.yaml)")
    .action(action(startAndRun, (g, opts: { config?: string }) => ({ data: dataDir(g), ...opts })));

  program
    .command("stop")
    .description("stop the data directory's node (SIGTERM to its process) and wait until it has ended")
    .action(
      action(stopCommand, (g) => ({
        data: dataDir(g),
        ...(g.token ? { token: g.token } : {}),
        ...(g.tlsCa ? { tlsCa: g.tlsCa } : {}),
      })),
    );

  program
    .command("status")
    .description("show the node's identity, documents and your role")
    .action(action(statusCommand));

  program
    .command("peers")
    .description("connected peers (transport, address, round-trip time) and sync state")
    .option("--documents", "also show, per shared document and peer, whether they are in sync")
    .action(action(peersCommand));

  program
    .command("events")
    .description(
      "follow what changes at the node as it happens (bookings, releases, peers, checkpoints, members, roster, curriculum), one line each; Ctrl-C to end",
    )
    .option("--heartbeats", "also print the node's heartbeat (every 15 s)")
    .action(action(eventsCommand));
}

async function startAndRun(options: { data: string; config?: string }, io: Io): Promise<void> {
  // This process is the node from here on: what it and LevelDB create (the very first start's
  // init, LevelDB's tables and logs, node.json) is readable by its user only, whatever the
  // shell's umask (docs/hub-operator.md, "The data directory").
  process.umask(NODE_UMASK);
  const node = await startCommand(options, io);
  await runUntilStopped(node, io);
}
