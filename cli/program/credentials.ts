/** `concordat credentials …`: accreditations as Open Badges 3.0 verifiable credentials. */
import { type Command, Option } from "commander";
import {
  credentialsAttachCommand,
  credentialsEndorseCommand,
  credentialsIssueCommand,
  credentialsListCommand,
  credentialsShowCommand,
  credentialsStatusCommand,
  credentialsVerifyCommand,
} from "../commands/credentials.js";
import { action } from "./action.js";
import { collect } from "./arguments.js";

export function registerCredentials(program: Command): void {
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
    .action(action(credentialsIssueCommand));
  credentials
    .command("list")
    .description("credentials issued here and held by this hub's trainers")
    .option("--trainer <id>", "only this trainer's")
    .action(action(credentialsListCommand));
  for (const name of ["show", "export"] as const) {
    credentials
      .command(`${name} <id>`)
      .description(
        name === "show"
          ? "print a credential (JSON)"
          : "write a credential to a file, to hand to its holder or a verifier",
      )
      .option("--out <file>", "the file (default: standard output)")
      .action(action(credentialsShowCommand, "id"));
  }
  for (const status of ["suspend", "reinstate", "revoke"] as const) {
    credentials
      .command(`${status} <id>`)
      .description(
        `${status} a credential this node issued (only its issuer can${status === "revoke" ? "; a revocation is final" : ""})`,
      )
      .action(action(credentialsStatusCommand, (g, _opts: object, id: string) => ({ ...g, id, action: status })));
  }
  credentials
    .command("verify <file>")
    .description("verify a credential: proof, issuer (charter), validity, status; exits 1 if not valid")
    .option(
      "--issuer-key <key>",
      "trust this Ed25519 public key as the issuer's (an issuer outside the federation, whatever its id: https, did:web, did:key): a did:key, a Multikey (z6Mk…), a JWK or a PEM public key, or a file holding one",
    )
    .option("--at <date>", "check validity at this time (default: now)")
    .action(action(credentialsVerifyCommand, "file"));
  credentials
    .command("endorse")
    .description("endorse another body's scheme or issuer (an EndorsementCredential signed by this node)")
    .requiredOption("--subject <subject>", "a member hub id, a did:key, or urn:concordat:scheme:ID")
    .requiredOption("--comment <text>", "what is recognised, and why")
    .option("--valid-until <date>", "ISO 8601")
    .action(action(credentialsEndorseCommand));
  credentials
    .command("attach [file]")
    .description(
      "attach credentials another body issued to this hub's trainers (each must verify): a file of one credential or a JSON array of them, or --all-pending",
    )
    .option(
      "--all-pending",
      "every credential another member issued to this hub's trainers, verified here and not attached yet",
    )
    .action(action(credentialsAttachCommand, "file"));
}
