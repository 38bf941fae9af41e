// Minimal declarations for Digital Bazaar's JSON-LD and RDF canonicalisation libraries (used by rdfc.ts).
declare module "jsonld" {
  interface RemoteDocument {
    contextUrl: string | null;
    documentUrl: string;
    document: unknown;
  }
  const jsonld: {
    toRDF(
      input: unknown,
      options: { documentLoader: (url: string) => Promise<RemoteDocument>; safe?: boolean; base?: string | null },
    ): Promise<unknown>;
  };
  export default jsonld;
}
declare module "rdf-canonize" {
  export function canonize(
    input: unknown,
    options: { algorithm: "RDFC-1.0"; format?: "application/n-quads"; maxWorkFactor?: number },
  ): Promise<string>;
}
