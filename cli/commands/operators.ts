import { parseRole } from "../../node/operators/index.js";
import type { Operator } from "../../node/api/generated/concordat/v1/node.js";
import { call, withConnection, type ConnectionOptions } from "../connection.js";
import { printJson, printLine, printTable, type Io } from "../io.js";

export async function operatorsAddCommand(options: ConnectionOptions & { name: string; role: string }, io: Io): Promise<void> {
  const role = parseRole(options.role, "--role");
  const result = await withConnection(options, (c) => call(c, c.operators.addOperator.bind(c.operators), { name: options.name, role }));
  if (io.json) {
    printJson(io, result);
    return;
  }
  printLine(io, `Added ${role} '${result.operator?.name}' (${result.operator?.id}). Their token, shown only this once:`);
  printLine(io, result.token);
}

function operatorRows(operators: Operator[]): string[][] {
  return operators.map((o) => [o.id, o.name, o.role, o.createdAt, o.createdBy, o.revokedAt === "" ? "active" : `revoked ${o.revokedAt}`]);
}

export async function operatorsListCommand(options: ConnectionOptions, io: Io): Promise<void> {
  const result = await withConnection(options, (c) => call(c, c.operators.listOperators.bind(c.operators), {}));
  if (io.json) {
    printJson(io, result.operators);
    return;
  }
  printTable(io, ["id", "name", "role", "created", "by", "state"], operatorRows(result.operators));
}

export async function operatorsRevokeCommand(options: ConnectionOptions & { id: string }, io: Io): Promise<void> {
  const operator = await withConnection(options, (c) => call(c, c.operators.revokeOperator.bind(c.operators), { id: options.id }));
  if (io.json) {
    printJson(io, operator);
    return;
  }
  printLine(io, `Revoked operator '${operator.name}' (${operator.id}) at ${operator.revokedAt}; their token no longer works.`);
}
