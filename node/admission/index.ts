export {
  AdmissionGate,
  RefusalReason,
  type AdmittedChunk,
  type AdmissionComponents,
  type AdmissionInit,
  type AttestationStore,
  type DocumentOwner,
} from "./gate.js";
export { AdmittingNetworkAdapter } from "./admitting-adapter.js";
export {
  ATTESTATION_DOMAIN,
  encodeAttestation,
  readAttestations,
  verifySync,
  type Attestation,
} from "./attestation.js";
export {
  CHECK_DOCUMENTS,
  encodeSyncMessage,
  parseSyncMessage,
  uleb,
  splitChunks,
  ChunkType,
  WireError,
  type Chunk,
  type SyncMessageParts,
} from "./wire.js";
