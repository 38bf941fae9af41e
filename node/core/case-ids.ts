import { createHash } from "node:crypto";

/**
 * CASE identifiers and URIs for records made in Concordat (docs/secretariat.md, "The core, for the
 * secretariat"). CASE 1.1 wants every CFDocument, CFItem and CFAssociation identified by a
 * lower-case UUID (versions 1-5) and reachable by a `uri`; Concordat lets the secretariat name its
 * records with short stable tokens (`hr-1`). On export, a record whose identifier is not such a
 * UUID is given a UUID v5 derived from the framework's identifier and its own — the same on every
 * node and in every export — and keeps its Concordat identifier in `extensions.concordat.identifier`,
 * from which an import restores it. A record without a `uri` is given one: under the configured
 * base (`core.caseUriBase`) when the secretariat set one at the time it was written, else
 * `urn:uuid:<its UUID>`.
 */

/** The namespace of Concordat's UUID v5 identifiers (a fixed, random UUID). */
export const CONCORDAT_UUID_NAMESPACE = "0f6b9c52-5d0e-4f4c-9a8e-2b7f1e3d6a41";

/** CASE 1.1's UUID pattern (CASE service model, the UUID derived type). */
export const CASE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function isCaseUuid(value: string): boolean {
  return CASE_UUID.test(value);
}

/** A name-based UUID (RFC 9562 version 5: SHA-1 of the namespace's bytes and the name's UTF-8). */
export function uuidV5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ""), "hex");
  if (ns.length !== 16) throw new Error(`not a UUID: ${namespace}`);
  const hash = createHash("sha1").update(ns).update(name, "utf8").digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The CASE identifier of a framework with this Concordat identifier. */
export function caseFrameworkIdentifier(frameworkId: string): string {
  return isCaseUuid(frameworkId) ? frameworkId : uuidV5(CONCORDAT_UUID_NAMESPACE, `framework:${frameworkId}`);
}

/** The CASE identifier of a record (item or association) of the framework `frameworkId`. */
export function caseRecordIdentifier(frameworkId: string, localId: string): string {
  return isCaseUuid(localId) ? localId : uuidV5(CONCORDAT_UUID_NAMESPACE, `${frameworkId}/${localId}`);
}

/** The uri of a record with this CASE identifier: under `base` when given, else a `urn:uuid:`. */
export function caseUri(uuid: string, base?: string): string {
  return base ? `${base}${uuid}` : `urn:uuid:${uuid}`;
}

/** The identifier of the framework Concordat makes for a core authored in Concordat only. */
export function concordatFrameworkIdentifier(federationId: string): string {
  return uuidV5(CONCORDAT_UUID_NAMESPACE, `federation:${federationId}`);
}
