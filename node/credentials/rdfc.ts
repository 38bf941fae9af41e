import undefinedTermsV2 from "./contexts/credentials-undefined-terms-v2.json" with { type: "json" };
import credentialsV2 from "./contexts/credentials-v2.json" with { type: "json" };
import obContext302 from "./contexts/ob-context-3.0.2.json" with { type: "json" };
import obContext303 from "./contexts/ob-context-3.0.3.json" with { type: "json" };
import obExtensions from "./contexts/ob-extensions.json" with { type: "json" };

/**
 * RDF Dataset Canonicalization (RDFC-1.0) of a JSON-LD document, for `eddsa-rdfc-2022` proofs
 * (W3C Data Integrity EdDSA Cryptosuites v1.0, §3.3). The JSON-LD contexts come only from the
 * copies bundled under ./contexts (see its README): a document naming any other context is
 * refused, never fetched. Expansion is "safe": a term no context defines, or a value that would be
 * dropped, is an error rather than something left unsigned.
 */
const CONTEXTS: ReadonlyMap<string, unknown> = new Map<string, unknown>([
  ["https://www.w3.org/ns/credentials/v2", credentialsV2],
  ["https://www.w3.org/ns/credentials/undefined-terms/v2", undefinedTermsV2],
  ["https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json", obContext303],
  ["https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json", obContext302],
  ["https://purl.imsglobal.org/spec/ob/v3p0/extensions.json", obExtensions],
]);

/** The context URLs served offline (for messages and the docs). */
export const BUNDLED_CONTEXTS: readonly string[] = [...CONTEXTS.keys()];

export class CanonicalisationError extends Error {}

async function documentLoader(url: string) {
  const document = CONTEXTS.get(url);
  if (document === undefined)
    throw new CanonicalisationError(
      `it uses the JSON-LD context ${url}, which is not bundled (contexts are never fetched; bundled: ${BUNDLED_CONTEXTS.join(", ")})`,
    );
  return { contextUrl: null, documentUrl: url, document };
}

interface JsonLdErrorDetails {
  cause?: unknown;
  event?: { code?: string; message?: string; details?: { property?: string } };
}

/** What jsonld's error means for the signer: a term no context defines would be left unsigned. */
function whyNotSafe(error: unknown): string {
  // jsonld wraps the loader's error; ours says which context is missing.
  for (let e: unknown = error; e instanceof Error; e = (e as { details?: JsonLdErrorDetails }).details?.cause)
    if (e instanceof CanonicalisationError) return e.message;
  const event = (error as { details?: JsonLdErrorDetails }).details?.event;
  if (event?.details?.property !== undefined)
    return `its property ${JSON.stringify(event.details.property)} is not defined by its JSON-LD contexts, so eddsa-rdfc-2022 would not sign it (it is refused rather than left unsigned)`;
  if (event?.message) return `it is not JSON-LD that canonicalises safely: ${event.message} (${String(event.code)})`;
  return `it is not JSON-LD that canonicalises safely: ${(error as Error).message}`;
}

/** The canonical N-Quads of a JSON-LD document, or a CanonicalisationError saying why not. */
export async function rdfc(document: unknown): Promise<string> {
  // Loaded on first use: most commands and nodes never see an eddsa-rdfc-2022 proof.
  const [{ default: jsonld }, { canonize }] = await Promise.all([import("jsonld"), import("rdf-canonize")]);
  let dataset: unknown;
  try {
    dataset = await jsonld.toRDF(document, { documentLoader, safe: true, base: null });
  } catch (error) {
    throw new CanonicalisationError(whyNotSafe(error));
  }
  try {
    return await canonize(dataset, { algorithm: "RDFC-1.0", format: "application/n-quads" });
  } catch (error) {
    throw new CanonicalisationError(`RDF canonicalisation failed: ${(error as Error).message}`);
  }
}
