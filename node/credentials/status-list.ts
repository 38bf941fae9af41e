import { gunzipSync, gzipSync } from "node:zlib";
import { base64url } from "multiformats/bases/base64";

/**
 * W3C Bitstring Status List v1.0: a list of bits, GZIP-compressed and multibase base64url
 * encoded (`u…`); bit 0 is the left-most bit of the first byte. The minimum size, 131,072 bits
 * (16 KiB), gives herd privacy: a verifier fetching the list learns nothing about which entry it
 * checks.
 */
export const STATUS_LIST_BITS = 131_072;

export function emptyBitstring(bits = STATUS_LIST_BITS): Uint8Array {
  return new Uint8Array(Math.ceil(bits / 8));
}

export function encodeBitstring(bits: Uint8Array): string {
  return base64url.encode(new Uint8Array(gzipSync(bits)));
}

export function decodeBitstring(encoded: string): Uint8Array {
  return new Uint8Array(gunzipSync(base64url.decode(encoded)));
}

export function getBit(bits: Uint8Array, index: number): boolean {
  const byte = bits[index >> 3];
  if (byte === undefined) throw new RangeError(`status index ${index} is beyond the list's ${bits.length * 8} bits`);
  return (byte & (0x80 >> (index & 7))) !== 0;
}

export function setBit(bits: Uint8Array, index: number, value: boolean): Uint8Array {
  const next = new Uint8Array(bits);
  const mask = 0x80 >> (index & 7);
  const byte = next[index >> 3];
  if (byte === undefined) throw new RangeError(`status index ${index} is beyond the list's ${bits.length * 8} bits`);
  next[index >> 3] = value ? byte | mask : byte & ~mask;
  return next;
}
