export { Credentials, credentialsSpec, CREDENTIALS_KEY, STATUS_ACTIONS, type StatusAction, type Verification, type ClaimVerification, type Endorsement, type IssueRequest } from "./credentials.js";
export { didKeyOfPeerId, peerIdOfDidKey, publicKeyOfDidKey, verificationMethodOf } from "./did-key.js";
export { addProof, proofProblem, CRYPTOSUITE, type JsonObject, type DataIntegrityProof } from "./proof.js";
export * from "./ob3.js";
