export {
  API_MAX_RECEIVE_MESSAGE_BYTES,
  ApiServer,
  IDENTITY_HEADERS,
  type ApiServerInit,
  type ApiServerComponents,
} from "./server.js";
export { fieldViolations, STATUS_DETAILS_KEY } from "./errors.js";
export {
  nodeClient,
  isServiceError,
  describeError,
  DEFAULT_DEADLINE_MS,
  type NodeClient,
  type NodeClientOptions,
  type CallOptions,
  type ServiceClient,
  type UnaryCall,
  type ServerStreamCall,
  type ClientStreamCall,
  type HealthCheckRequest,
  type HealthCheckResponse,
} from "./client.js";
export type { NodeInfo } from "./node-service.js";
