import { parseRole, type Operators } from "../operators/index.js";
import { operatorToMessage } from "./convert.js";
import { OperatorServiceService, type OperatorServiceServer } from "./generated/concordat/v1/node.js";
import { unary, type HandlerComponents } from "./handlers.js";

export { OperatorServiceService };

export function operatorService(components: HandlerComponents & { operators: Operators }): OperatorServiceServer {
  const { operators } = components;
  return {
    addOperator: unary(components, "AddOperator", "admin", async (req, ctx) => {
      const { operator, token } = await operators.add(req.name, parseRole(req.role), ctx.operator.id);
      return { operator: operatorToMessage(operator), token };
    }),
    listOperators: unary(components, "ListOperators", "admin", () => ({
      operators: operators.list().map(operatorToMessage),
    })),
    revokeOperator: unary(components, "RevokeOperator", "admin", async (req, ctx) =>
      operatorToMessage(await operators.revoke(req.id.trim(), ctx.operator.id)),
    ),
  };
}
