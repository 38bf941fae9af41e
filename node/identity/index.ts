export {
  createIdentityFile,
  loadIdentityFile,
  readIdentityBytes,
  writeIdentityBytes,
  verifyPeerSignature,
  type NodeIdentity,
} from "./identity.js";
export { KeyRotation } from "./key-rotation.js";
