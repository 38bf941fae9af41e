import { createPublicKey, type JsonWebKey, type KeyObject } from "node:crypto";
import { publicKeyFromRaw } from "@libp2p/crypto/keys";
import { peerIdFromPublicKey, peerIdFromString } from "@libp2p/peer-id";
import { base58btc } from "multiformats/bases/base58";
import { quote } from "../text.js";

/**
 * `did:key` identifiers for the federation's Ed25519 keys (W3C did:key, Multikey encoding): the
 * multicodec `ed25519-pub` (0xed 0x01) followed by the 32-byte key, base58btc with a `z` prefix.
 * An issuer's did:key and its libp2p peer id are two spellings of the same key, so the charter,
 * which lists peer ids, says which issuers are members.
 */
const ED25519_PUB = [0xed, 0x01];

export function multikeyOfRaw(raw: Uint8Array): string {
  return base58btc.encode(new Uint8Array([...ED25519_PUB, ...raw]));
}

export function didKeyOfPeerId(peerId: string): string {
  const key = peerIdFromString(peerId).publicKey;
  if (key?.type !== "Ed25519") throw new Error(`${peerId} is not an Ed25519 peer id`);
  return `did:key:${multikeyOfRaw(key.raw)}`;
}

/** The verification method of a did:key: `did:key:z…#z…`. */
export function verificationMethodOf(did: string): string {
  return `${did}#${did.slice("did:key:".length)}`;
}

/** The raw Ed25519 public key of a did:key (or its verification method), or why it is not one. */
export function publicKeyOfDidKey(didOrMethod: string): { raw?: Uint8Array; problem?: string } {
  const did = didOrMethod.split("#")[0] ?? "";
  const fragment = didOrMethod.includes("#") ? didOrMethod.slice(didOrMethod.indexOf("#") + 1) : undefined;
  const multikey = did.slice("did:key:".length);
  if (!did.startsWith("did:key:z")) return { problem: `${quote(didOrMethod)} is not a did:key` };
  if (fragment !== undefined && fragment !== multikey)
    return { problem: `${quote(didOrMethod)} names a key other than its DID's` };
  let bytes: Uint8Array;
  try {
    bytes = base58btc.decode(multikey);
  } catch {
    return { problem: `${quote(did)} is not base58btc` };
  }
  if (bytes.length !== 34 || bytes[0] !== ED25519_PUB[0] || bytes[1] !== ED25519_PUB[1])
    return { problem: `${quote(did)} is not an Ed25519 key` };
  return { raw: bytes.subarray(2) };
}

/** The libp2p peer id of a did:key's key (to look the issuer up in the charter). */
export function peerIdOfDidKey(didOrMethod: string): string | undefined {
  const { raw } = publicKeyOfDidKey(didOrMethod);
  return raw ? peerIdFromPublicKey(publicKeyFromRaw(raw)).toString() : undefined;
}

export async function verifyEd25519(raw: Uint8Array, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    return await publicKeyFromRaw(raw).verify(data, signature);
  } catch {
    return false;
  }
}

/**
 * An Ed25519 public key as a user gives it (`--issuer-key`): a did:key (or its verification
 * method), a Multikey (`z6Mk…`, base58btc), a JWK (`{"kty":"OKP","crv":"Ed25519","x":…}`) or a PEM
 * SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`). The raw key, or why it is none of these.
 */
export function parsePublicKey(text: string): { raw?: Uint8Array; problem?: string } {
  const value = text.trim();
  const none = (why: string) => ({
    problem: `${why}; give an Ed25519 public key as a did:key, a Multikey (z6Mk…), a JWK or a PEM public key`,
  });
  if (value.startsWith("did:key:")) return publicKeyOfDidKey(value);
  if (value.startsWith("did:") || value.startsWith("http"))
    return none(`${quote(value.slice(0, 80))} is an identifier, not a key`);
  if (/^z[1-9A-HJ-NP-Za-km-z]+$/.test(value)) {
    const { raw, problem } = publicKeyOfDidKey(`did:key:${value}`);
    return raw ? { raw } : none(problem ?? "not a Multikey");
  }
  let key: KeyObject;
  try {
    if (value.startsWith("{")) {
      const jwk = JSON.parse(value) as JsonWebKey;
      if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519")
        return none(`the JWK is not an Ed25519 key (kty OKP, crv Ed25519)`);
      if (jwk.d !== undefined) return none("the JWK holds a private key (d): give only the public key");
      key = createPublicKey({ key: jwk, format: "jwk" });
    } else if (value.startsWith("-----BEGIN PUBLIC KEY-----")) key = createPublicKey(value);
    else return none(`${quote(value.slice(0, 80))} is not a key`);
  } catch (error) {
    return none(`the key does not parse (${(error as Error).message})`);
  }
  if (key.asymmetricKeyType !== "ed25519") return none(`it is a ${String(key.asymmetricKeyType)} key, not Ed25519`);
  const x = key.export({ format: "jwk" }).x;
  return x ? { raw: new Uint8Array(Buffer.from(x, "base64url")) } : none("the key does not parse");
}
