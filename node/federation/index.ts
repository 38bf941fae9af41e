export {
  Federation,
  directorySpec,
  directoryListing,
  ownsListedDocument,
  DIRECTORY_KEY,
  type PeerAddress,
  type FederationInit,
  type FederationComponents,
} from "./federation.js";
export { directoryIdOf, ownedDocumentId, charterIdOf, CHARTER_KEY } from "../ids.js";
export {
  readCharter,
  currentKey,
  signerProblem,
  libp2pAddresses,
  grpcAddresses,
  PEER_ID_PATTERN,
  type CharterMember,
  type CharterKey,
  type CharterState,
  type AdmitRequest,
  type MemberRole,
} from "./charter.js";
export { Membership, REMOVAL_NOTICE_MS, type CharterSource, type MembershipInit } from "./membership.js";
export { CharterAdmin, type CharterAdminInit } from "./charter-admin.js";
