export { createIdentityFile, loadIdentityFile, readIdentityBytes, writeIdentityBytes, type NodeIdentity } from "./identity.js";
