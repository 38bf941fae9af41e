import { type FileHandle, open, readFile, stat } from "node:fs/promises";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import type { Ed25519PrivateKey } from "@libp2p/interface";
import { alreadyExists, failedPrecondition } from "../errors.js";
import { peerId, type PeerId } from "../ids.js";

/**
 * The node's Ed25519 key. The same key is its libp2p peer id and signs its checkpoints.
 * Stored as libp2p's protobuf private-key encoding in a file only the owner can read.
 */
export interface NodeIdentity {
  readonly privateKey: Ed25519PrivateKey;
  /** base58btc libp2p peer id, e.g. `12D3KooW…` */
  readonly peerId: PeerId;
  sign(data: Uint8Array): Promise<Uint8Array>;
  /** The same signature, synchronously (Node's crypto signs without a promise): for the sync layer, which decides in message order. */
  signSync(data: Uint8Array): Uint8Array;
  verify(data: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

function toIdentity(privateKey: Ed25519PrivateKey): NodeIdentity {
  return {
    privateKey,
    peerId: peerId(peerIdFromPrivateKey(privateKey).toString()),
    sign: async (data) => privateKey.sign(data),
    signSync: (data) => {
      const signature = privateKey.sign(data);
      if (!(signature instanceof Uint8Array)) throw new Error("this runtime signs Ed25519 asynchronously only");
      return signature;
    },
    verify: async (data, signature) => privateKey.publicKey.verify(data, signature),
  };
}

/** Creates a new key at `path` (mode 0600). Refuses to overwrite an existing identity. */
export async function createIdentityFile(path: string): Promise<NodeIdentity> {
  const privateKey = await generateKeyPair("Ed25519");
  let handle: FileHandle;
  try {
    handle = await open(path, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw alreadyExists(`an identity already exists at ${path}; refusing to overwrite it`);
    }
    throw error;
  }
  try {
    await handle.writeFile(privateKeyToProtobuf(privateKey));
    await handle.sync();
  } finally {
    await handle.close();
  }
  return toIdentity(privateKey);
}

/** Writes given key bytes (a restore) with the same refusal to overwrite. */
export async function writeIdentityBytes(path: string, bytes: Uint8Array): Promise<NodeIdentity> {
  const identity = identityFromBytes(bytes, path);
  let handle: FileHandle;
  try {
    handle = await open(path, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw alreadyExists(`an identity already exists at ${path}; refusing to overwrite it`);
    }
    throw error;
  }
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return identity;
}

function identityFromBytes(bytes: Uint8Array, path: string): NodeIdentity {
  let key: ReturnType<typeof privateKeyFromProtobuf>;
  try {
    key = privateKeyFromProtobuf(bytes);
  } catch (error) {
    throw failedPrecondition(`identity file ${path} is not a valid private key: ${(error as Error).message}`);
  }
  if (key.type !== "Ed25519") {
    throw failedPrecondition(`identity file ${path} holds a ${key.type} key; Concordat needs Ed25519`);
  }
  return toIdentity(key);
}

export async function loadIdentityFile(path: string): Promise<NodeIdentity> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") throw failedPrecondition(`no identity at ${path}; run \`concordat init\` first`);
    throw error;
  });
  if ((info.mode & 0o077) !== 0) {
    throw failedPrecondition(
      `identity file ${path} is readable by others (mode ${(info.mode & 0o777).toString(8)}); run \`chmod 600 ${path}\``,
    );
  }
  return identityFromBytes(new Uint8Array(await readFile(path)), path);
}

export async function readIdentityBytes(path: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}

/**
 * Verifies an Ed25519 signature against the public key inside a libp2p peer id (Ed25519 peer ids
 * embed their key). False for anything that does not parse or verify.
 */
export async function verifyPeerSignature(peerId: string, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    const key = peerIdFromString(peerId).publicKey;
    if (key?.type !== "Ed25519") return false;
    return await key.verify(data, signature);
  } catch {
    return false;
  }
}
