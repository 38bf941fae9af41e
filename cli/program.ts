/**
 * The `concordat` command's arguments: parsing only. Each command lives in cli/commands/ as a function
 * that tests call directly.
 */
import { Argument, Command, Option } from "commander";
import { VERSION } from "../node/version.js";
import { backupCommand, restoreCommand } from "./commands/backup.js";
import { initCommand } from "./commands/init.js";
import {
  federationAdmitCommand,
  federationCreateCommand,
  federationListCommand,
  federationRemoveCommand,
  federationRotateKeyCommand,
} from "./commands/federation.js";
import { keysRotateCommand, keysStatusCommand } from "./commands/keys.js";
import {
  coreAdoptCommand,
  coreAssociateCommand,
  coreDiffCommand,
  coreExportCommand,
  coreImpactCommand,
  coreImportCommand,
  coreItemAddCommand,
  corePutCommand,
  coreReleaseCommand,
  coreReleasesCommand,
  coreRemoveCommand,
  coreShowCommand,
  federationReleasesCommand,
} from "./commands/core.js";
import {
  curriculumAdaptCommand,
  curriculumConfirmCommand,
  curriculumModuleCommand,
  curriculumRemoveCommand,
  curriculumSchemeCommand,
  curriculumShowCommand,
  mappingsAddCommand,
  mappingsListCommand,
} from "./commands/curriculum.js";
import { auditExportCommand, auditVerifyCommand } from "./commands/audit.js";
import { trainersFindCommand, trainersFreeBusyCommand } from "./commands/find.js";
import {
  reportBaselineCommand,
  reportCoverageCommand,
  reportVerifyCommand,
  type BaselineOptions,
  type CoverageOptions,
} from "./commands/report.js";
import {
  deliveriesIngestCommand,
  deliveriesListCommand,
  deliveriesRecordCommand,
  deliveriesShowCommand,
  type DeliveryOptions,
} from "./commands/deliveries.js";
import {
  casesAddCommand,
  casesEndorseCommand,
  casesImportCommand,
  casesListCommand,
  casesSearchCommand,
  casesShowCommand,
  type CasesSearchOptions,
} from "./commands/cases.js";
import {
  bookingsActCommand,
  bookingsListCommand,
  bookingsRequestCommand,
  type BookingRequestOptions,
} from "./commands/bookings.js";
import {
  credentialsAttachCommand,
  credentialsEndorseCommand,
  credentialsIssueCommand,
  credentialsListCommand,
  credentialsShowCommand,
  credentialsStatusCommand,
  credentialsVerifyCommand,
} from "./commands/credentials.js";
import { idCommand } from "./commands/id.js";
import { operatorsAddCommand, operatorsListCommand, operatorsRevokeCommand } from "./commands/operators.js";
import { runUntilStopped, startCommand } from "./commands/start.js";
import { NODE_UMASK } from "../node/data-permissions.js";
import { peersCommand } from "./commands/peers.js";
import { statusCommand } from "./commands/status.js";
import { stopCommand } from "./commands/stop.js";
import {
  trainersAddCommand,
  trainersExportCommand,
  trainersGetCommand,
  trainersHistoryCommand,
  trainersImportCommand,
  trainersListCommand,
  trainersRemoveCommand,
  trainersUpdateCommand,
} from "./commands/trainers.js";
import type { ConnectionOptions } from "./connection.js";
import { CliError, ExitCode } from "./errors.js";
import { processIo, type Io } from "./io.js";

interface GlobalOptions extends ConnectionOptions {
  json?: boolean;
}

function globals(command: Command): GlobalOptions & { io: Io } {
  const options = command.optsWithGlobals<GlobalOptions>();
  return { ...options, io: processIo(options.json ?? false) };
}

/** `--data`, else $CONCORDAT_DATA, else ./data (an empty value counts as unset). */
function dataDir(g: GlobalOptions): string {
  return g.data || process.env.CONCORDAT_DATA || "./data";
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`'${value}' is not a positive whole number`, ExitCode.Usage);
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`'${value}' is not a whole number (0 or more)`, ExitCode.Usage);
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Repeatable and comma-separated: `--listen a --listen b` or `--listen a,b`. */
function collectList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(",")
      .map((v) => v.trim())
      .filter((v) => v !== ""),
  ];
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new CliError(`'${value}' is not a port (a whole number from 0 to 65535)`, ExitCode.Usage);
  return n;
}

function trainerFieldFlags(command: Command, update: boolean): Command {
  return command
    .option(`--name <name>`, update ? "new display name" : "display name (required)")
    .option("--languages <list>", 'languages with CEFR level, e.g. "en:C1;fr:B2"')
    .option("--regions <list>", 'ISO 3166 codes served, e.g. "KE;UG;KE-30"')
    .option(
      "--accreditations <list>",
      'claimed accreditations, items "scheme|competency|level|validFrom|validUntil|status" separated by ";" — a claim is shown, never counted: only a verified credential counts (`concordat credentials issue`)',
    )
    .option(
      "--availability <list>",
      'UTC windows "start/end" separated by ";" (plain dates: first and last day, both included)',
    )
    .option(
      "--blackouts <list>",
      'UTC blackouts "start/end" separated by ";" (plain dates: first and last day, both included)',
    )
    .option("--email <email>", "contact email (private, never replicated)")
    .option("--phone <phone>", "contact phone (private)")
    .option("--national-id <id>", "national id (private)")
    .option("--notes <text>", "notes (private)");
}

export function buildProgram(): Command {
  const program = new Command("concordat")
    .description("Concordat: a federated node for security-sector-reform training hubs")
    // `--version` only as the first argument (see main.ts): `core release --version X.Y.Z` is the
    // release's version, and commander would take a program-level --version anywhere.
    .addHelpText("after", `\nconcordat --version prints the version (${VERSION}).`)
    .option("--data <dir>", "the node's data directory (default: $CONCORDAT_DATA or ./data)")
    .option("--api <host:port>", "API address of the node (default: from the data directory; $CONCORDAT_API)")
    .option("--token <token>", "API credential (default: $CONCORDAT_TOKEN or DATA/admin.token)")
    .option("--tls-ca <file>", "CA certificate to verify a node that serves TLS ($CONCORDAT_TLS_CA)")
    .option("--json", "print JSON for scripts instead of tables")
    .showHelpAfterError()
    .exitOverride();

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
      "--listen <multiaddr>",
      "libp2p listen address, stored in its config (network.listen; repeatable or comma-separated)",
      collectList,
    )
    .action(
      async (
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
          listen?: string[];
        },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        await initCommand({ ...opts, data: dataDir(g) }, g.io);
      },
    );

  program
    .command("id")
    .description(
      "the peer id of the data directory's key (no node needs to run): what a hub gives the secretariat, and the secretariat's trust anchor",
    )
    .action(async (_opts: object, cmd: Command) => {
      const g = globals(cmd);
      await idCommand({ data: dataDir(g) }, g.io);
    });

  program
    .command("start")
    .description("run the node in the foreground (initialises the data directory on the very first start)")
    .option("--config <file>", "configuration for the very first start (default: config/default.yaml)")
    .action(async (opts: { config?: string }, cmd: Command) => {
      const g = globals(cmd);
      // This process is the node from here on: what it and LevelDB create (the very first start's
      // init, LevelDB's tables and logs, node.json) is readable by its user only, whatever the
      // shell's umask (docs/hub-operator.md, "The data directory").
      process.umask(NODE_UMASK);
      const node = await startCommand({ data: dataDir(g), ...opts }, g.io);
      await runUntilStopped(node, g.io);
    });

  program
    .command("stop")
    .description("stop the data directory's node (SIGTERM to its process) and wait until it has ended")
    .action(async (_opts: object, cmd: Command) => {
      const g = globals(cmd);
      await stopCommand(
        { data: dataDir(g), ...(g.token ? { token: g.token } : {}), ...(g.tlsCa ? { tlsCa: g.tlsCa } : {}) },
        g.io,
      );
    });

  program
    .command("status")
    .description("show the node's identity, documents and your role")
    .action(async (_opts: object, cmd: Command) => {
      const g = globals(cmd);
      await statusCommand(g, g.io);
    });

  program
    .command("peers")
    .description("connected peers (transport, address, round-trip time) and sync state")
    .option("--documents", "also show, per shared document and peer, whether they are in sync")
    .action(async (opts: { documents?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      await peersCommand({ ...g, ...opts }, g.io);
    });

  const federation = program
    .command("federation")
    .description("the charter: who is in the federation, with which keys");
  federation
    .command("create")
    .description("secretariat: create the charter, with this node as its first member")
    .option("--addr <address>", "where members reach the secretariat: /ip4/…/tcp/… or host:port (repeatable)", collect)
    .action(async (opts: { addr?: string[] }, cmd: Command) => {
      const g = globals(cmd);
      await federationCreateCommand({ ...g, members: opts.addr ?? [] }, g.io);
    });
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
      async (
        {
          addr,
          ...opts
        }: { hub: string; peerId: string; addr?: string[]; name?: string; region?: string; directoryId?: string },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        await federationAdmitCommand({ ...g, ...opts, addresses: addr ?? [] }, g.io);
      },
    );
  federation
    .command("remove <hub>")
    .description("secretariat: remove a member; it is disconnected and refused from then on")
    .action(async (hub: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await federationRemoveCommand({ ...g, hub }, g.io);
    });
  federation
    .command("rotate-key <hub>")
    .description("secretariat: replace a member's key (confirms its `keys rotate`)")
    .requiredOption("--peer-id <peer-id>", "the new key's peer id")
    .action(async (hub: string, opts: { peerId: string }, cmd: Command) => {
      const g = globals(cmd);
      await federationRotateKeyCommand({ ...g, ...opts, hub }, g.io);
    });
  federation
    .command("list")
    .description("the members, as this node's verified charter says")
    .action(async (_opts: object, cmd: Command) => {
      const g = globals(cmd);
      await federationListCommand(g, g.io);
    });

  federation
    .command("releases")
    .description("per hub: the core release it adopted, its adaptations, and those waiting for review")
    .action(async (_opts: object, cmd: Command) => {
      const g = globals(cmd);
      await federationReleasesCommand(g, g.io);
    });

  const recordKinds = ["item", "association", "module", "scheme"];
  const core = program
    .command("core")
    .description("the global core: competency framework, core modules, accreditation schemes, releases");
  core
    .command("put")
    .description(
      "secretariat: add or replace draft records of one kind from a JSON file (a record or an array; - for stdin)",
    )
    .addArgument(new Argument("<kind>", "record kind").choices(recordKinds))
    .argument("<file>", "JSON file")
    .action(async (kind: string, file: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await corePutCommand({ ...g, kind, file }, g.io);
    });
  core
    .command("item")
    .description("secretariat: add a competency item to the drafts, or change one (--id): what no flag gives is kept")
    .option("--code <code>", "human coding scheme, e.g. HR-1.2 (required for a new item)")
    .option(
      "--statement <lang=text>",
      "statement in a language (repeatable; required for a new item; other languages are kept)",
      collect,
    )
    .option("--type <type>", "CASE item type: Domain, Competency, Indicator, … (a new item: Competency)")
    .option("--language <tag>", "the statement's main language (a new item: the first given)")
    .option("--id <identifier>", "identifier (default: a new UUID; give an existing one to change that item)")
    .option("--role-level <level>", "custodial | supervisory | management | command (repeatable)", collect)
    .option("--theme <theme>", "cross-cutting theme, e.g. human-rights (repeatable)", collect)
    .option("--notes <text>", "notes")
    .action(
      async (
        opts: {
          code?: string;
          statement?: string[];
          type?: string;
          language?: string;
          id?: string;
          roleLevel?: string[];
          theme?: string[];
          notes?: string;
        },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        await coreItemAddCommand({ ...g, ...opts }, g.io);
      },
    );
  core
    .command("associate <origin> <type> <destination>")
    .description(
      "secretariat: link two items (CASE association: isChildOf, exactMatchOf, isRelatedTo, replacedBy, precedes, …)",
    )
    .option("--sequence <n>", "sequence number among siblings", positiveInt)
    .option("--id <identifier>", "identifier (default: a new UUID)")
    .action(
      async (
        origin: string,
        type: string,
        destination: string,
        opts: { sequence?: number; id?: string },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        await coreAssociateCommand({ ...g, ...opts, origin, type, destination }, g.io);
      },
    );
  core
    .command("remove")
    .description("secretariat: remove draft records (refused while others refer to them)")
    .addArgument(new Argument("<kind>", "record kind").choices(recordKinds))
    .argument("<ids...>", "identifiers")
    .action(async (kind: string, ids: string[], _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await coreRemoveCommand({ ...g, kind, ids }, g.io);
    });
  core
    .command("import")
    .description(
      "secretariat: import a CASE 1.0/1.1 CFPackage (JSON) or a Moodle competency framework (CSV) into the drafts; all or nothing",
    )
    .addArgument(new Argument("<format>", "file format").choices(["case", "moodle"]))
    .argument("<file>", "the file (- for stdin)")
    .option("--dry-run", "check everything, write nothing")
    .option("--language <tag>", "moodle: the language of its texts (default en)")
    .action(async (format: string, file: string, opts: { dryRun?: boolean; language?: string }, cmd: Command) => {
      const g = globals(cmd);
      await coreImportCommand({ ...g, ...opts, format, file }, g.io);
    });
  core
    .command("export")
    .description("the framework as a CASE 1.1 CFPackage (JSON)")
    .addArgument(new Argument("<format>", "file format").choices(["case"]))
    .option("--release <version>", "a release (default: the newest)")
    .option("--draft", "secretariat: the drafts")
    .option("--out <file>", "write to a file (default: standard output)")
    .action(async (_format: string, opts: { release?: string; draft?: boolean; out?: string }, cmd: Command) => {
      const g = globals(cmd);
      await coreExportCommand({ ...g, ...opts }, g.io);
    });
  core
    .command("release")
    .description("secretariat: sign and publish the drafts as a release (versions only go up)")
    .requiredOption("--version <X.Y.Z>", "the release's version")
    .option("--notes <text>", "release notes")
    .action(async (opts: { version: string; notes?: string }, cmd: Command) => {
      const g = globals(cmd);
      await coreReleaseCommand({ ...g, ...opts }, g.io);
    });
  core
    .command("releases")
    .description("the core's verified releases")
    .action(async (_opts: object, cmd: Command) => {
      const g = globals(cmd);
      await coreReleasesCommand(g, g.io);
    });
  core
    .command("show")
    .description("the core of a release (default: the newest)")
    .option("--release <version>", "a release")
    .option("--draft", "secretariat: the drafts")
    .action(async (opts: { release?: string; draft?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      await coreShowCommand({ ...g, ...opts }, g.io);
    });
  core
    .command("diff <from> <to>")
    .description("what changed between two releases (or 'draft'), record by record, field by field")
    .action(async (from: string, to: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await coreDiffCommand({ ...g, from, to }, g.io);
    });
  core
    .command("adopt <version>")
    .description("hub: follow this release of the core")
    .action(async (version: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await coreAdoptCommand({ ...g, version }, g.io);
    });
  core
    .command("impact [version]")
    .description("hub: which adaptations a release changes under them (default: the newest release)")
    .action(async (version: string | undefined, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await coreImpactCommand({ ...g, ...(version ? { release: version } : {}) }, g.io);
    });

  const curriculum = program
    .command("curriculum")
    .description("hub: the adopted core with this hub's adaptations and local modules");
  curriculum
    .command("show")
    .description("the effective curriculum: adopted release + adaptations + local modules")
    .action(async (_opts: object, cmd: Command) => {
      const g = globals(cmd);
      await curriculumShowCommand(g, g.io);
    });
  curriculum
    .command("adapt")
    .description("adapt a core item or module (pinned to the adopted release); the same id again re-bases it")
    .requiredOption("--id <id>", "the adaptation's id")
    .option("--item <identifier>", "the core item adapted")
    .option("--module <id>", "the core module adapted")
    .option("--statement <lang=text>", "item statement: translation or national wording (repeatable)", collect)
    .option("--title <lang=text>", "module title (repeatable)", collect)
    .option("--legal-ref <text>", "a national legal reference (repeatable)", collect)
    .option("--scenario <lang=title|text>", "a regional scenario (repeatable)", collect)
    .option("--duration <minutes>", "module duration here", positiveInt)
    .option("--notes <text>", "notes")
    .option("--release <version>", "the release it is made against (default: the adopted one)")
    .option("--file <file>", "the whole adaptation as JSON instead of flags")
    .action(async (opts: Parameters<typeof curriculumAdaptCommand>[0], cmd: Command) => {
      const g = globals(cmd);
      await curriculumAdaptCommand({ ...g, ...opts }, g.io);
    });
  curriculum
    .command("confirm <id>")
    .description("mark an adaptation reviewed: pin it to a release (default: the adopted one)")
    .option("--release <version>", "the release reviewed against")
    .action(async (id: string, opts: { release?: string }, cmd: Command) => {
      const g = globals(cmd);
      await curriculumConfirmCommand({ ...g, ...opts, id }, g.io);
    });
  curriculum
    .command("remove")
    .description("remove an adaptation or a local module")
    .addArgument(new Argument("<kind>", "what").choices(["adaptation", "local-module", "scheme"]))
    .argument("<id>", "its id")
    .action(async (kind: string, id: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await curriculumRemoveCommand({ ...g, kind, id }, g.io);
    });
  curriculum
    .command("module <file>")
    .description("add or replace a local module from a JSON file (same shape as a core module)")
    .action(async (file: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await curriculumModuleCommand({ ...g, file }, g.io);
    });

  curriculum
    .command("scheme <file>")
    .description(
      "add or replace one of this hub's own accreditation schemes (JSON, id HUB.ID), which it alone accredits",
    )
    .action(async (file: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await curriculumSchemeCommand({ ...g, file }, g.io);
    });

  const mappings = program
    .command("mappings")
    .description("hub: national job titles mapped to ESCO / ISCO-08 and to core competencies");
  mappings
    .command("add")
    .description("add or replace a job mapping")
    .requiredOption("--id <id>", "the mapping's id")
    .requiredOption("--title <lang=text>", "the national job title (repeatable)", collect)
    .requiredOption("--country <code>", "ISO 3166-1 alpha-2")
    .option("--esco <uri>", "ESCO occupation URI")
    .option("--isco <code>", "ISCO-08 unit group (4 digits)")
    .option("--career-step <n>", "career step (1 = entry)", positiveInt)
    .requiredOption("--competency <id:relevance>", "a competency and essential|optional (repeatable)", collect)
    .action(async (opts: Parameters<typeof mappingsAddCommand>[0], cmd: Command) => {
      const g = globals(cmd);
      await mappingsAddCommand({ ...g, ...opts }, g.io);
    });
  mappings
    .command("list")
    .description("this hub's job mappings")
    .action(async (_opts: object, cmd: Command) => {
      const g = globals(cmd);
      await mappingsListCommand(g, g.io);
    });
  mappings
    .command("remove <id>")
    .description("remove a job mapping")
    .action(async (id: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await curriculumRemoveCommand({ ...g, kind: "mapping", id }, g.io);
    });

  const credentials = program
    .command("credentials")
    .description("accreditations as Open Badges 3.0 verifiable credentials");
  credentials
    .command("issue")
    .description(
      "issue an accreditation (admin): signed by this node, attached to the trainer if it is one of this hub's. Only a verified credential counts in `trainers find`, never a roster record's accreditations column. Many at once: --from FILE",
    )
    .option("--trainer <[hub/]id>", "the trainer (hub/id for another hub's trainer)")
    .option("--scheme <id>", "an accreditation scheme of the core, or this hub's own")
    .option("--level <level>", "a level of the scheme")
    .option("--valid-from <date>", "ISO 8601 instant it starts (a plain date: 00:00 UTC)")
    .option(
      "--valid-until <date>",
      "ISO 8601 instant it ends (a plain date: 00:00 UTC that day), within the scheme's validity",
    )
    .option("--evidence <text>", "evidence narrative (repeatable)", collect)
    .option(
      "--from <file>",
      "issue one credential per row of a CSV or JSON file (columns trainer, scheme, level, valid_from, valid_until, evidence): every row is checked first, nothing is issued if any is bad",
    )
    .addOption(
      new Option("--format <format>", "the --from file's format (default: from its extension)").choices([
        "csv",
        "json",
      ]),
    )
    .option("--dry-run", "with --from: check every row, issue nothing")
    .option("--out <file>", "also write the credential to a file (with --from: all of them, as a JSON array)")
    .action(
      async (opts: Omit<Parameters<typeof credentialsIssueCommand>[0], keyof ConnectionOptions>, cmd: Command) => {
        const g = globals(cmd);
        await credentialsIssueCommand({ ...g, ...opts }, g.io);
      },
    );
  credentials
    .command("list")
    .description("credentials issued here and held by this hub's trainers")
    .option("--trainer <id>", "only this trainer's")
    .action(async (opts: { trainer?: string }, cmd: Command) => {
      const g = globals(cmd);
      await credentialsListCommand({ ...g, ...opts }, g.io);
    });
  for (const name of ["show", "export"] as const) {
    credentials
      .command(`${name} <id>`)
      .description(
        name === "show"
          ? "print a credential (JSON)"
          : "write a credential to a file, to hand to its holder or a verifier",
      )
      .option("--out <file>", "the file (default: standard output)")
      .action(async (id: string, opts: { out?: string }, cmd: Command) => {
        const g = globals(cmd);
        await credentialsShowCommand({ ...g, ...opts, id }, g.io);
      });
  }
  for (const action of ["suspend", "reinstate", "revoke"] as const) {
    credentials
      .command(`${action} <id>`)
      .description(
        `${action} a credential this node issued (only its issuer can${action === "revoke" ? "; a revocation is final" : ""})`,
      )
      .action(async (id: string, _opts: object, cmd: Command) => {
        const g = globals(cmd);
        await credentialsStatusCommand({ ...g, id, action }, g.io);
      });
  }
  credentials
    .command("verify <file>")
    .description("verify a credential: proof, issuer (charter), validity, status; exits 1 if not valid")
    .option("--issuer-key <did>", "trust this did:key as the issuer (an issuer outside the federation)")
    .option("--at <date>", "check validity at this time (default: now)")
    .action(async (file: string, opts: { issuerKey?: string; at?: string }, cmd: Command) => {
      const g = globals(cmd);
      await credentialsVerifyCommand({ ...g, ...opts, file }, g.io);
    });
  credentials
    .command("endorse")
    .description("endorse another body's scheme or issuer (an EndorsementCredential signed by this node)")
    .requiredOption("--subject <subject>", "a member hub id, a did:key, or urn:concordat:scheme:ID")
    .requiredOption("--comment <text>", "what is recognised, and why")
    .option("--valid-until <date>", "ISO 8601")
    .action(async (opts: { subject: string; comment: string; validUntil?: string }, cmd: Command) => {
      const g = globals(cmd);
      await credentialsEndorseCommand({ ...g, ...opts }, g.io);
    });
  credentials
    .command("attach [file]")
    .description(
      "attach credentials another body issued to this hub's trainers (each must verify): a file of one credential or a JSON array of them, or --all-pending",
    )
    .option(
      "--all-pending",
      "every credential another member issued to this hub's trainers, verified here and not attached yet",
    )
    .action(async (file: string | undefined, opts: { allPending?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      await credentialsAttachCommand({ ...g, ...opts, ...(file !== undefined ? { file } : {}) }, g.io);
    });

  const audit = program.command("audit").description("offline-verifiable bundles of what the federation signed");
  audit
    .command("export")
    .description(
      "write this node's audit bundle: every signed document's changes, the checkpoints, the charter, a manifest",
    )
    .requiredOption("--out <file>", "the bundle file")
    .action(async (opts: { out: string }, cmd: Command) => {
      const g = globals(cmd);
      await auditExportCommand({ ...g, ...opts }, g.io);
    });
  audit
    .command("verify <file>")
    .description("verify a bundle offline (no node, no network); exits 1 on any failure")
    .requiredOption("--trust-anchor <peer-id>", "the secretariat's peer id, obtained out of band")
    .action(async (file: string, opts: { trustAnchor: string }, cmd: Command) => {
      const g = globals(cmd);
      await auditVerifyCommand({ file, trustAnchor: opts.trustAnchor }, g.io);
    });

  const keys = program.command("keys").description("this hub's own key");
  keys
    .command("rotate")
    .description("make a new key; the node switches to it once the secretariat confirms it")
    .action(async (_opts: object, cmd: Command) => {
      const g = globals(cmd);
      await keysRotateCommand(g, g.io);
    });
  keys
    .command("status")
    .description("the key in use and any key waiting for confirmation")
    .action(async (_opts: object, cmd: Command) => {
      const g = globals(cmd);
      await keysStatusCommand(g, g.io);
    });

  const operators = program.command("operators").description("API credentials and roles (admin only)");
  operators
    .command("add")
    .description("issue a credential; the token is shown once")
    .requiredOption("--name <name>", "who holds it")
    .addOption(
      new Option("--role <role>", "what they may do").choices(["admin", "operator", "viewer"]).makeOptionMandatory(),
    )
    .option("--out <file>", "write the token to this new file (mode 0600) instead of printing it")
    .action(async (opts: { name: string; role: string; out?: string }, cmd: Command) => {
      const g = globals(cmd);
      await operatorsAddCommand({ ...g, ...opts }, g.io);
    });
  operators
    .command("list")
    .description("list operators, active and revoked")
    .action(async (_opts: object, cmd: Command) => {
      const g = globals(cmd);
      await operatorsListCommand(g, g.io);
    });
  operators
    .command("revoke <id>")
    .description("revoke an operator's credential, by its id or the name of one active operator")
    .action(async (id: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await operatorsRevokeCommand({ ...g, id }, g.io);
    });

  const trainers = program.command("trainers").description("the hub's trainer roster");
  trainerFieldFlags(
    trainers.command("add").description("add a trainer").requiredOption("--id <id>", "trainer id"),
    false,
  ).action(async (opts: Omit<Parameters<typeof trainersAddCommand>[0], keyof ConnectionOptions>, cmd: Command) => {
    const g = globals(cmd);
    if (opts.name === undefined) throw new CliError("--name is required", ExitCode.Usage);
    await trainersAddCommand({ ...g, ...opts }, g.io);
  });
  trainers
    .command("get <id>")
    .description("show one trainer")
    .action(async (id: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await trainersGetCommand({ ...g, id }, g.io);
    });
  trainers
    .command("list")
    .description("list trainers, a page at a time")
    .option("--page-size <n>", "trainers per page (default 100, at most 1000)", positiveInt)
    .option("--page-token <token>", "continue from a previous page")
    .option("--all", "fetch every page")
    .action(async (opts: { pageSize?: number; pageToken?: string; all?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      await trainersListCommand({ ...g, ...opts }, g.io);
    });
  trainerFieldFlags(trainers.command("update <id>").description("change the given fields of a trainer"), true).action(
    async (
      id: string,
      opts: Omit<Parameters<typeof trainersUpdateCommand>[0], keyof ConnectionOptions | "id">,
      cmd: Command,
    ) => {
      const g = globals(cmd);
      await trainersUpdateCommand({ ...g, ...opts, id }, g.io);
    },
  );
  trainers
    .command("remove <id>")
    .description("remove a trainer (public and private records)")
    .action(async (id: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await trainersRemoveCommand({ ...g, id }, g.io);
    });
  trainers
    .command("import <file>")
    .description("import trainers from CSV or JSON (docs/trainer-files.md); all rows are checked first")
    .addOption(new Option("--format <format>", "file format (default: from the extension)").choices(["csv", "json"]))
    .option("--skip-invalid", "import the valid rows and report the others")
    .option("--dry-run", "check every row, write nothing")
    .option("--upsert", "replace trainers that already exist")
    .action(
      async (
        file: string,
        opts: { format?: string; skipInvalid?: boolean; dryRun?: boolean; upsert?: boolean },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        await trainersImportCommand({ ...g, ...opts, file }, g.io);
      },
    );
  trainers
    .command("export")
    .description("export the roster as CSV or JSON (with personal data unless --public-only)")
    .option("--out <file>", "write to a file (default: standard output)")
    .addOption(
      new Option("--format <format>", "file format (default: from --out's extension, else json)").choices([
        "csv",
        "json",
      ]),
    )
    .option("--public-only", "leave out the private fields")
    .action(async (opts: { out?: string; format?: string; publicOnly?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      await trainersExportCommand({ ...g, ...opts }, g.io);
    });
  trainers
    .command("find")
    .description(
      "accredited trainers across the federation who are free in these dates, ranked. With --competency or --module only verified credentials count (`concordat credentials issue`, `credentials attach`), never the accreditations a roster record lists",
    )
    .requiredOption("--from <date>", "first day (YYYY-MM-DD, UTC), or an instant with a time and zone")
    .requiredOption(
      "--to <date>",
      "last day, included (YYYY-MM-DD, UTC), or an instant with a time and zone (then excluded)",
    )
    .option("--competency <id>", "a competency: a trainer holding a verified credential for it or any of its ancestors")
    .option(
      "--module <id>",
      "a competency of the module, by verified credentials (repeat for each; full coverage ranks first)",
      collect,
    )
    .option("--language <tag[:level]>", "a language, with a minimum CEFR level, e.g. fr:B2")
    .option("--region <code>", "ISO 3166 country or subdivision served")
    .option("--hub <id>", "only this home hub")
    .option("--days <n>", "at least N consecutive free days in the range (default: the whole range free)", positiveInt)
    .option("--page-size <n>", "results per page (default 50)", positiveInt)
    .option("--page-token <token>", "continue from a previous page")
    .action(async (opts: Omit<Parameters<typeof trainersFindCommand>[0], keyof ConnectionOptions>, cmd: Command) => {
      const g = globals(cmd);
      await trainersFindCommand({ ...g, ...opts }, g.io);
    });
  trainers
    .command("freebusy <id>")
    .description("a trainer's free/busy as iCalendar VFREEBUSY (busy periods only)")
    .requiredOption("--from <date>", "first day (YYYY-MM-DD, UTC), or an instant with a time and zone")
    .requiredOption(
      "--to <date>",
      "last day, included (YYYY-MM-DD, UTC), or an instant (then excluded); at most 366 days after --from",
    )
    .option("--hub <id>", "the trainer's home hub (default: this hub)")
    .option("--out <file>", "write to a file (default: standard output)")
    .action(async (id: string, opts: { from: string; to: string; hub?: string; out?: string }, cmd: Command) => {
      const g = globals(cmd);
      await trainersFreeBusyCommand({ ...g, ...opts, id }, g.io);
    });
  trainers
    .command("history <id>")
    .description("who changed a trainer, and when")
    .action(async (id: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await trainersHistoryCommand({ ...g, id }, g.io);
    });

  const bookings = program
    .command("bookings")
    .description("book trainers of any hub: requests from this hub, answers for its trainers");
  bookings
    .command("request")
    .description("ask a trainer's home hub for these dates (a signed request in this hub's outbox)")
    .requiredOption("--trainer <hub/id>", "the trainer: HUB/ID, or ID for this hub's own")
    .requiredOption("--from <date>", "first day (YYYY-MM-DD, UTC), or an instant with a time and zone")
    .requiredOption(
      "--to <date>",
      "last day, included (YYYY-MM-DD, UTC), or an instant with a time and zone (then excluded)",
    )
    .option(
      "--competency <id>",
      "what the trainer will teach: the accreditation for it must hold over the whole period",
    )
    .option("--course <text>", "what the engagement is for (a module code, a course title)")
    .option("--note <text>", "a note for the home hub")
    .option("--expires <date>", "the home hub must answer before this (default: config bookings.requestTtlHours)")
    .option("--id <request-id>", "your own request id: sending the same request again with it books nothing twice")
    .action(async (opts: Omit<BookingRequestOptions, keyof ConnectionOptions>, cmd: Command) => {
      const g = globals(cmd);
      await bookingsRequestCommand({ ...g, ...opts }, g.io);
    });
  bookings
    .command("list")
    .description("this hub's requests and the requests for its trainers, with their answers")
    .option("--direction <dir>", "outgoing | incoming")
    .option("--state <state>", "pending | tentative | confirmed | declined | cancelled")
    .option("--trainer <id>", "only this trainer")
    .action(async (opts: { direction?: string; state?: string; trainer?: string }, cmd: Command) => {
      const g = globals(cmd);
      await bookingsListCommand({ ...g, ...opts }, g.io);
    });
  bookings
    .command("show <booking>")
    .description("one booking (requester/request-id, or a request id)")
    .action(async (ref: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await bookingsActCommand({ ...g, action: "show", ref }, g.io);
    });
  bookings
    .command("confirm <booking>")
    .description("home hub: confirm a pending or tentative request (overlapping pending ones are declined)")
    .action(async (ref: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await bookingsActCommand({ ...g, action: "confirm", ref }, g.io);
    });
  bookings
    .command("decline <booking>")
    .description("home hub: decline a pending or tentative request")
    .option("--note <text>", "why")
    .action(async (ref: string, opts: { note?: string }, cmd: Command) => {
      const g = globals(cmd);
      await bookingsActCommand({ ...g, action: "decline", ref, ...opts }, g.io);
    });
  bookings
    .command("cancel <booking>")
    .description("cancel this hub's request, or (home hub) an engagement of its trainer")
    .option("--note <text>", "why")
    .action(async (ref: string, opts: { note?: string }, cmd: Command) => {
      const g = globals(cmd);
      await bookingsActCommand({ ...g, action: "cancel", ref, ...opts }, g.io);
    });

  const cases = program
    .command("cases")
    .description("the case repository: case studies, best practices, evaluation tools, lessons learned");
  cases
    .command("add <file>")
    .description('add a case from a Markdown file with YAML front matter (docs/hub-operator.md, "Cases")')
    .action(async (file: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await casesAddCommand({ ...g, file }, g.io);
    });
  cases
    .command("update <file>")
    .description("replace a case of this hub from a Markdown file (its id from the front matter or the file name)")
    .action(async (file: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await casesAddCommand({ ...g, file, update: true }, g.io);
    });
  cases
    .command("import <dir>")
    .description("add or replace every *.md case of a folder: all checked first, nothing written on any problem")
    .option("--dry-run", "check only")
    .action(async (dir: string, opts: { dryRun?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      await casesImportCommand({ ...g, dir, ...opts }, g.io);
    });
  cases
    .command("show <case>")
    .description("one case: ID (this hub's) or HUB/ID")
    .action(async (ref: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await casesShowCommand({ ...g, ref }, g.io);
    });
  cases
    .command("list")
    .description("a hub's cases (this hub's by default)")
    .option("--hub <id>", "another hub's, as of its latest verified checkpoint")
    .action(async (opts: { hub?: string }, cmd: Command) => {
      const g = globals(cmd);
      await casesListCommand({ ...g, ...opts }, g.io);
    });
  cases
    .command("search [text]")
    .description("ranked full-text search over every hub's cases, in any language")
    .option("--competency <id>", "cases for this competency or one under it")
    .option("--region <code-or-name>", "ISO 3166 country or subdivision, or a region's name")
    .option("--lang <tag>", "only cases in this language")
    .option("--hub <id>", "only this hub's")
    .option("--kind <kind>", "case-study | best-practice | evaluation-tool | lesson-learned")
    .option("--public", "only cases marked public")
    .option("--page-size <n>", "results per page (default 20)", positiveInt)
    .option("--page-token <token>", "continue from a previous page")
    .action(
      async (
        text: string | undefined,
        opts: Omit<CasesSearchOptions, keyof ConnectionOptions | "text">,
        cmd: Command,
      ) => {
        const g = globals(cmd);
        await casesSearchCommand({ ...g, ...opts, text: text ?? "" }, g.io);
      },
    );
  cases
    .command("endorse <case>")
    .description("secretariat: endorse a hub's case (HUB/ID)")
    .option("--note <text>", "why")
    .action(async (ref: string, opts: { note?: string }, cmd: Command) => {
      const g = globals(cmd);
      await casesEndorseCommand({ ...g, ref, ...opts }, g.io);
    });

  const deliveries = program
    .command("deliveries")
    .description("course deliveries: what this hub delivered, as figures (no learner is named)");
  const target = (cmd: Command) =>
    cmd
      .requiredOption("--id <id>", "the delivery's id")
      .option("--module <id>", "a module of this hub's curriculum (adopted core or local)")
      .option("--start <date>", "YYYY-MM-DD")
      .option("--end <date>", "YYYY-MM-DD")
      .option("--country <code>", "ISO 3166")
      .option("--place <text>", "venue, town")
      .option("--language <tag>", "BCP 47")
      .option("--visibility <v>", "public | internal (default internal)");
  target(deliveries.command("record").description("record (or replace) a delivery's reported figures"))
    .option(
      "--group <category=f/m/u>",
      "participants of a category: female/male/unspecified, e.g. police=12/20/0 (repeatable)",
      collect,
    )
    .option("--completed <n>", "participants who completed", nonNegativeInt)
    .option("--passed <n>", "participants who passed", nonNegativeInt)
    .option("--evaluation <responses:mean>", "course evaluation: responses and mean score 0-100, e.g. 28:81.5")
    .action(async (opts: Omit<DeliveryOptions, keyof ConnectionOptions>, cmd: Command) => {
      const g = globals(cmd);
      await deliveriesRecordCommand({ ...g, ...opts }, g.io);
    });
  target(
    deliveries
      .command("ingest <file>")
      .description("count xAPI / cmi5 statements (JSON) into a delivery: each statement and each learner once"),
  ).action(async (file: string, opts: Omit<DeliveryOptions, keyof ConnectionOptions>, cmd: Command) => {
    const g = globals(cmd);
    await deliveriesIngestCommand({ ...g, ...opts, file }, g.io);
  });
  deliveries
    .command("list")
    .description("a hub's deliveries (this hub's by default)")
    .option("--hub <id>", "another hub's, as of its latest verified checkpoint")
    .action(async (opts: { hub?: string }, cmd: Command) => {
      const g = globals(cmd);
      await deliveriesListCommand({ ...g, ...opts }, g.io);
    });
  deliveries
    .command("show <id>")
    .description("one delivery of this hub")
    .action(async (id: string, _opts: object, cmd: Command) => {
      const g = globals(cmd);
      await deliveriesShowCommand({ ...g, id }, g.io);
    });

  const report = program.command("report").description("federation-wide reports, computed from what every hub signed");
  report
    .command("coverage")
    .description("per hub and competency: active and expiring accreditations, adaptations, deliveries; and the gaps")
    .requiredOption("--from <date>", "YYYY-MM-DD: deliveries counted from")
    .requiredOption("--to <date>", "YYYY-MM-DD")
    .option("--public", "leave out everything marked internal")
    .option("--csv <file>", "also write the figures as CSV (one per row)")
    .option("--html <file>", "also write a self-contained HTML page with charts (opens offline)")
    .option("--out <file>", "also write the report as JSON (what `report verify` checks)")
    .action(async (opts: Omit<CoverageOptions, keyof ConnectionOptions>, cmd: Command) => {
      const g = globals(cmd);
      await reportCoverageCommand({ ...g, ...opts }, g.io);
    });
  report
    .command("baseline")
    .description("compare two periods: every figure of the coverage report in both, and the change")
    .requiredOption("--period <period>", "2026, 2026-Q1, 2026-H1, 2026-03 or 2026-01-01..2026-03-31")
    .requiredOption("--against <period>", "the baseline period, in the same forms")
    .option("--public", "leave out everything marked internal")
    .option("--csv <file>", "also write the figures as CSV (one per row)")
    .option("--html <file>", "also write a self-contained HTML page with charts (opens offline)")
    .option("--out <file>", "also write the report as JSON (what `report verify` checks)")
    .action(async (opts: Omit<BaselineOptions, keyof ConnectionOptions>, cmd: Command) => {
      const g = globals(cmd);
      await reportBaselineCommand({ ...g, ...opts }, g.io);
    });
  report
    .command("verify <file>")
    .description(
      "recompute a JSON report from an audit bundle and confirm it, offline (no node, no network); exits 1 on any difference",
    )
    .requiredOption("--bundle <file>", "an audit bundle (`concordat audit export`) holding the report's checkpoints")
    .requiredOption("--trust-anchor <peer-id>", "the secretariat's peer id, obtained out of band")
    .action(async (file: string, opts: { bundle: string; trustAnchor: string }, cmd: Command) => {
      const g = globals(cmd);
      await reportVerifyCommand({ file, bundle: opts.bundle, trustAnchor: opts.trustAnchor }, g.io);
    });

  program
    .command("backup")
    .description("write a consistent backup of the running node")
    .requiredOption("--out <file>", "backup file to write (mode 0600)")
    .action(async (opts: { out: string }, cmd: Command) => {
      const g = globals(cmd);
      await backupCommand({ ...g, ...opts }, g.io);
    });
  program
    .command("restore <file>")
    .description("recreate a node from a backup in an empty --data directory (node not running)")
    .option("--api-port <port>", "port of the restored node's API, stored in its config (api.port)", port)
    .option(
      "--listen <multiaddr>",
      "libp2p listen address of the restored node (network.listen; repeatable or comma-separated)",
      collectList,
    )
    .action(async (file: string, opts: { apiPort?: number; listen?: string[] }, cmd: Command) => {
      const g = globals(cmd);
      if (!g.data) throw new CliError("restore needs --data DIR: an empty or new directory", ExitCode.Usage);
      await restoreCommand({ file, data: g.data, ...opts }, g.io);
    });

  return program;
}
