import { createHash, type Hash } from "node:crypto";
import type { Level } from "level";
import { failedPrecondition, invalidArgument } from "../errors.js";

/**
 * Backup file format, version 1 (all integers big-endian):
 *
 *   "CONCORDAT-BACKUP/1\n"
 *   frame*   where frame = type:u8 length:u32 payload[length]
 *     type 1  header: UTF-8 JSON {hubId, peerId, createdAt, config (YAML text), identityKey (base64)}
 *     type 2  entry:  keyLength:u32 key[keyLength] value[rest]  — one raw LevelDB entry
 *     type 3  end:    SHA-256 of every byte before this frame
 *
 * A backup is a consistent snapshot: it is read through one LevelDB iterator, which sees the
 * database as of its creation while writes go on. It contains the node's private key: keep it as
 * safe as the data directory itself.
 */
export const BACKUP_MAGIC = Buffer.from("CONCORDAT-BACKUP/1\n", "utf8");
const FRAME_HEADER = 1;
const FRAME_ENTRY = 2;
const FRAME_END = 3;

export interface BackupHeader {
  hubId: string;
  peerId: string;
  createdAt: string;
  config: string;
  identityKey: string;
}

export interface BackupEntry {
  key: Uint8Array;
  value: Uint8Array;
}

function frame(type: number, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(type, 0);
  head.writeUInt32BE(payload.byteLength, 1);
  return Buffer.concat([head, payload]);
}

/** Streams a backup of `db` as chunks of about `chunkSize` bytes. */
export async function* writeBackup(
  db: Level<string, Uint8Array>,
  header: BackupHeader,
  chunkSize = 256 * 1024,
): AsyncGenerator<Uint8Array> {
  const hash: Hash = createHash("sha256");
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const push = (bytes: Buffer): Buffer | undefined => {
    hash.update(bytes);
    pending.push(bytes);
    pendingBytes += bytes.byteLength;
    if (pendingBytes < chunkSize) return undefined;
    const out = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    return out;
  };
  push(BACKUP_MAGIC);
  push(frame(FRAME_HEADER, Buffer.from(JSON.stringify(header), "utf8")));
  for await (const [key, value] of db.iterator<Uint8Array, Uint8Array>({
    keyEncoding: "view",
    valueEncoding: "view",
  })) {
    const keyLength = Buffer.alloc(4);
    keyLength.writeUInt32BE(key.byteLength, 0);
    const out = push(frame(FRAME_ENTRY, Buffer.concat([keyLength, key, value])));
    if (out) yield new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
  const digest = hash.digest();
  pending.push(frame(FRAME_END, digest));
  const last = Buffer.concat(pending);
  yield new Uint8Array(last.buffer, last.byteOffset, last.byteLength);
}

/**
 * Parses and verifies a whole backup file. Throws, naming the problem, on a file that is not a
 * backup, is truncated, or whose checksum does not match; nothing is returned from a bad file.
 */
export function readBackup(bytes: Uint8Array, source: string): { header: BackupHeader; entries: BackupEntry[] } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (reason: string) =>
    invalidArgument([{ field: source, description: reason }], `${source} is not a usable backup: ${reason}`);
  if (buf.byteLength < BACKUP_MAGIC.byteLength || !buf.subarray(0, BACKUP_MAGIC.byteLength).equals(BACKUP_MAGIC)) {
    throw bad("it does not start with the Concordat backup signature");
  }

  // First pass: walk the frame headers only, find the end frame, and check the checksum, so that
  // nothing of a damaged file is ever parsed.
  const frames: Array<{ type: number; payload: Buffer; offset: number }> = [];
  let offset = BACKUP_MAGIC.byteLength;
  for (;;) {
    if (offset + 5 > buf.byteLength) throw bad("it is truncated (no end frame)");
    const type = buf.readUInt8(offset);
    const length = buf.readUInt32BE(offset + 1);
    const end = offset + 5 + length;
    if (end > buf.byteLength) throw bad(`it is truncated or damaged (a frame at byte ${offset} runs past the end)`);
    const payload = buf.subarray(offset + 5, end);
    if (type === FRAME_END) {
      const digest = createHash("sha256").update(buf.subarray(0, offset)).digest();
      if (!digest.equals(payload)) throw bad("its checksum does not match; the file is damaged");
      if (end !== buf.byteLength) throw bad("it has bytes after the end frame");
      break;
    }
    frames.push({ type, payload, offset });
    offset = end;
  }

  // Second pass: the checksum holds, so the frames are what the node wrote.
  let header: BackupHeader | undefined;
  const entries: BackupEntry[] = [];
  for (const { type, payload, offset: at } of frames) {
    if (type === FRAME_HEADER) {
      try {
        header = JSON.parse(payload.toString("utf8")) as BackupHeader;
      } catch {
        throw bad(`its header at byte ${at} is not JSON`);
      }
    } else if (type === FRAME_ENTRY) {
      if (payload.byteLength < 4 || payload.readUInt32BE(0) > payload.byteLength - 4)
        throw bad(`the entry at byte ${at} is malformed`);
      const keyLength = payload.readUInt32BE(0);
      entries.push({
        key: new Uint8Array(payload.subarray(4, 4 + keyLength)),
        value: new Uint8Array(payload.subarray(4 + keyLength)),
      });
    } else {
      throw bad(`unknown frame type ${type} at byte ${at}`);
    }
  }
  const h = header as Partial<BackupHeader> | undefined;
  if (
    !h ||
    typeof h.hubId !== "string" ||
    typeof h.peerId !== "string" ||
    typeof h.config !== "string" ||
    typeof h.identityKey !== "string"
  ) {
    throw failedPrecondition(`${source} has no valid header (hub id, peer id, config, identity key)`);
  }
  return { header: h as BackupHeader, entries };
}
