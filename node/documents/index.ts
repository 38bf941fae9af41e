export {
  OwnedDocuments,
  type ChangeRecord,
  type OwnedDocumentsInit,
  type OwnedDocumentsComponents,
} from "./owned-documents.js";
export type { TransactionPlan, ChangeMeta, DocumentEdit } from "./transactions.js";
export type { OwnedDocumentSpec } from "./registry.js";
export type { DocumentListing, ListedDocument } from "./listing.js";
export {
  DocumentType,
  SCHEMA_VERSIONS,
  checkHeader,
  decodeStored,
  documentTypeOf,
  makeHeader,
  textOf,
  type DocumentHeader,
  type PlainHeader,
} from "./header.js";
export { shardOf } from "./shards.js";
export { followHandle } from "./follow.js";
export { ancestors, changeGraph, changesUpTo, descends } from "../replica/index.js";
