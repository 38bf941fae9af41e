export {
  Credentials,
  credentialsSpec,
  CREDENTIALS_KEY,
  STATUS_ACTIONS,
  type StatusAction,
  type ClaimVerification,
  type IssueRequest,
} from "./credentials.js";
export {
  CredentialVerifier,
  heldIn,
  parseStored,
  schemeOwner,
  type CharterLookup,
  type CredentialsDoc,
  type Endorsement,
  type Verification,
} from "./verifier.js";
export {
  didKeyOfPeerId,
  multikeyOfRaw,
  parsePublicKey,
  peerIdOfDidKey,
  publicKeyOfDidKey,
  verificationMethodOf,
  verifyEd25519,
} from "./did-key.js";
export {
  addProof,
  proofProblem,
  proofsOf,
  CRYPTOSUITE,
  CRYPTOSUITES,
  RDFC_CRYPTOSUITE,
  type Cryptosuite,
  type ExpectedSigner,
  type JsonObject,
  type DataIntegrityProof,
} from "./proof.js";
export { BUNDLED_CONTEXTS } from "./rdfc.js";
export * from "./ob3.js";
