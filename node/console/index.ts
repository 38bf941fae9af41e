export { ConsoleServer, CONTENT_SECURITY_POLICY, type ConsoleServerInit } from "./server.js";
export { CONSOLE_SERVICES } from "./bridge.js";
