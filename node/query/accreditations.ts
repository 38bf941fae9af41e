import { issuerId, peerIdOfDidKey, type JsonObject, type Verification } from "../credentials/index.js";
import { parseSchemeUrn } from "../credentials/index.js";
import type { IndexedAccreditation } from "./model.js";

const COMPETENCY_URN = "urn:concordat:competency:";

/**
 * What a trainer's held credentials accredit: one entry per competency a credential aligns to, for
 * every credential that verifies in all respects but its validity period (which a query judges over
 * the period it asks for, and a report at its date). Also the hubs that issued them, so that a
 * change to an issuer's credentials document re-derives exactly the trainers it touches. The
 * availability index and the reports (at a node, and recomputed from an audit bundle) share it.
 */
export async function accreditationsOf(
  held: readonly JsonObject[],
  verify: (credential: JsonObject) => Promise<Verification>,
  hubOf: (peerId: string) => string,
): Promise<{ accreditations: IndexedAccreditation[]; issuers: Set<string> }> {
  const accreditations: IndexedAccreditation[] = [];
  const issuers = new Set<string>();
  for (const credential of held) {
    const issuerPeer = peerIdOfDidKey(issuerId(credential) ?? "");
    const issuerHub = issuerPeer ? hubOf(issuerPeer) : "";
    if (issuerHub) issuers.add(issuerHub);
    const verification = await verify(credential);
    if (!verification.checks.every((c) => c.ok || c.check === "validity")) continue;
    const achievement = (credential.credentialSubject as JsonObject).achievement as JsonObject;
    const scheme = parseSchemeUrn(String(achievement?.id ?? ""));
    if (!scheme) continue;
    for (const alignment of (achievement.alignment ?? []) as JsonObject[]) {
      const url = String(alignment.targetUrl ?? "");
      if (!url.startsWith(COMPETENCY_URN)) continue;
      accreditations.push({
        scheme: scheme.scheme,
        competency: url.slice(COMPETENCY_URN.length),
        level: scheme.level,
        validFrom: Date.parse(String(credential.validFrom)),
        validUntil:
          credential.validUntil === undefined ? Number.MAX_SAFE_INTEGER : Date.parse(String(credential.validUntil)),
      });
    }
  }
  return { accreditations, issuers };
}
