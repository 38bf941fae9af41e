import { parseRole } from "../../node/operators/index.js";
import type { Operator } from "../../node/api/generated/concordat/v1/node.js";
import { writeAtomically } from "../atomic-file.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, printTable, type Io } from "../io.js";

/**
 * `concordat operators add`: the token is shown once, or with `--out FILE` written to a new file of
 * mode 0600 and never printed (it is then in no terminal's scrollback).
 */
export async function operatorsAddCommand(
  options: ConnectionOptions & { name: string; role: string; out?: string },
  io: Io,
): Promise<void> {
  const role = parseRole(options.role, "--role");
  const result = await withConnection(options, (c) => c.operators.addOperator({ name: options.name, role }));
  if (options.out !== undefined) {
    const out = options.out;
    await writeAtomically(out, 0o600, (write) => write(new TextEncoder().encode(`${result.token}\n`))).catch(
      (error: unknown) => {
        throw new CliError(
          `added operator ${result.operator?.id ?? ""} but could not write its token to '${out}' (${error instanceof Error ? error.message : String(error)}): revoke it and add another`,
          ExitCode.Usage,
        );
      },
    );
  }
  if (io.json) {
    printJson(io, options.out !== undefined ? { operator: result.operator, tokenFile: options.out } : result);
    return;
  }
  if (options.out !== undefined) {
    printLine(
      io,
      `Added ${role} '${result.operator?.name}' (${result.operator?.id}). Their token is in ${options.out} (mode 0600), shown nowhere else.`,
    );
    return;
  }
  printLine(
    io,
    `Added ${role} '${result.operator?.name}' (${result.operator?.id}). Their token, shown only this once:`,
  );
  printLine(io, result.token);
}

function operatorRows(operators: Operator[]): string[][] {
  return operators.map((o) => [
    o.id,
    o.name,
    o.role,
    o.createdAt,
    o.createdBy,
    o.revokedAt === "" ? "active" : `revoked ${o.revokedAt}`,
  ]);
}

export async function operatorsListCommand(options: ConnectionOptions, io: Io): Promise<void> {
  const result = await withConnection(options, (c) => c.operators.listOperators({}));
  if (io.json) {
    printJson(io, result.operators);
    return;
  }
  printTable(io, ["id", "name", "role", "created", "by", "state"], operatorRows(result.operators));
}

/** `concordat operators revoke ID|NAME`: by id, or by the name of exactly one active operator. */
export async function operatorsRevokeCommand(options: ConnectionOptions & { id: string }, io: Io): Promise<void> {
  const operator = await withConnection(options, async (c) => {
    const { operators } = await c.operators.listOperators({});
    let id = options.id;
    if (!operators.some((o) => o.id === id)) {
      const named = operators.filter((o) => o.name === id && o.revokedAt === "");
      if (named.length > 1) {
        throw new CliError(
          `${named.length} active operators are named '${id}' (${named.map((o) => o.id).join(", ")}): revoke one by its id`,
          ExitCode.Usage,
        );
      }
      if (named.length === 0)
        throw new CliError(
          `no operator has the id or the name '${id}' (see \`concordat operators list\`)`,
          ExitCode.NotFound,
        );
      id = (named[0] as { id: string }).id;
    }
    return c.operators.revokeOperator({ id });
  });
  if (io.json) {
    printJson(io, operator);
    return;
  }
  printLine(
    io,
    `Revoked operator '${operator.name}' (${operator.id}) at ${operator.revokedAt}; their token no longer works.`,
  );
}
