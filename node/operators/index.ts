export { Operators, ROLES, hasRole, parseRole, type Operator, type Role } from "./operators.js";
