/** `concordat federation …`: the charter, who is in the federation, with which keys. */
import type { Command } from "commander";
import { federationReleasesCommand } from "../commands/core.js";
import {
  federationAdmitCommand,
  federationCreateCommand,
  federationListCommand,
  federationRemoveCommand,
  federationRotateKeyCommand,
} from "../commands/federation.js";
import { action } from "./action.js";
import { collect } from "./arguments.js";

export function registerFederation(program: Command): void {
  const federation = program
    .command("federation")
    .description("the charter: who is in the federation, with which keys");
  federation
    .command("create")
    .description("secretariat: create the charter, with this node as its first member")
    .option("--addr <address>", "where members reach the secretariat: /ip4/…/tcp/… or host:port (repeatable)", collect)
    .action(action(federationCreateCommand, (g, opts: { addr?: string[] }) => ({ ...g, members: opts.addr ?? [] })));
  federation
    .command("admit")
    .description("secretariat: admit a hub by its peer id")
    .requiredOption("--hub <id>", "the hub's id")
    .requiredOption("--peer-id <peer-id>", "the hub's peer id (from its `concordat init` or `status`)")
    .option("--addr <address>", "where others reach it: /ip4/…/tcp/… or host:port (repeatable)", collect)
    .option("--name <name>", "the hub's name (default: its id)")
    .option("--region <region>", "its region")
    .option("--directory-id <id>", "its directory id, if not the one derived from --peer-id")
    .action(
      action(
        federationAdmitCommand,
        (
          g,
          {
            addr,
            ...opts
          }: { hub: string; peerId: string; addr?: string[]; name?: string; region?: string; directoryId?: string },
        ) => ({ ...g, ...opts, addresses: addr ?? [] }),
      ),
    );
  federation
    .command("remove <hub>")
    .description("secretariat: remove a member; it is disconnected and refused from then on")
    .action(action(federationRemoveCommand, "hub"));
  federation
    .command("rotate-key <hub>")
    .description("secretariat: replace a member's key (confirms its `keys rotate`)")
    .requiredOption("--peer-id <peer-id>", "the new key's peer id")
    .action(action(federationRotateKeyCommand, "hub"));
  federation
    .command("list")
    .description("the members, as this node's verified charter says")
    .action(action(federationListCommand));

  federation
    .command("releases")
    .description("per hub: the core release it adopted, its adaptations, and those waiting for review")
    .action(action(federationReleasesCommand));
}
