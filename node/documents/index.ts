export {
  OwnedDocuments,
  type TransactionPlan,
  type ChangeMeta,
  type ChangeRecord,
  type DocumentEdit,
  type OwnedDocumentSpec,
  type OwnedDocumentsInit,
  type OwnedDocumentsComponents,
} from "./owned-documents.js";
export {
  DocumentType,
  SCHEMA_VERSIONS,
  checkHeader,
  documentTypeOf,
  makeHeader,
  textOf,
  type DocumentHeader,
  type PlainHeader,
} from "./header.js";
export { shardOf } from "./shards.js";
