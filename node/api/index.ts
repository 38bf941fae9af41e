export { ApiServer, IDENTITY_HEADERS, type ApiServerInit, type ApiServerComponents } from "./server.js";
export { fieldViolations, STATUS_DETAILS_KEY } from "./errors.js";
