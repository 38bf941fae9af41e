/**
 * A check of LevelDB's write-ahead logs (`NNNNNN.log`) and MANIFEST, made before LevelDB opens the
 * database. LevelDB's own recovery (paranoid_checks off, as classic-level opens it) skips a damaged
 * log record and everything after it in its 32 KiB block, sometimes the rest of the log, and says
 * nothing: the node would start with part of its data gone. This reads the same format and names
 * the first damaged record instead.
 *
 * Format (LevelDB doc/log_format.md): the file is a sequence of 32 KiB blocks; a block holds records
 * of a 7-byte header — masked CRC32C of (type byte ++ data) as little-endian u32, data length as
 * little-endian u16, type (FULL=1, FIRST=2, MIDDLE=3, LAST=4) — then the data. A record never
 * crosses a block boundary; fewer than 7 bytes left at a block's end are zero padding. A logical
 * entry larger than a block is FIRST, MIDDLE…, LAST.
 *
 * What an interrupted write leaves is not damage: a last record cut short at the end of the file
 * (kill -9), or one whose bytes did not all reach the disk, followed by zeros or nothing readable
 * (power loss). LevelDB drops that last record, and so does this check (reported as `torn`). Damage
 * is a bad record — a checksum that does not match, a length that runs past its block, an unknown
 * type, zeros — with anything sound after it, which LevelDB would drop with it; and fragments of an
 * entry out of order.
 */
import { open, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

export const LOG_BLOCK_SIZE = 32 * 1024;
export const LOG_HEADER_SIZE = 7;
export const RecordType = { Zero: 0, Full: 1, First: 2, Middle: 3, Last: 4 } as const;
const MASK_DELTA = 0xa282ead8;

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli) of `bytes`, continuing from `crc` (0 to start). */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i += 1) c = (CRC32C_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return ~c >>> 0;
}

/** LevelDB stores checksums masked, so that a CRC of data that embeds CRCs stays well distributed. */
export function maskCrc(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0;
}

/** The masked checksum LevelDB writes in the header of a record of `type` holding `data`. */
export function recordChecksum(type: number, data: Uint8Array): number {
  return maskCrc(crc32c(data, crc32c(Uint8Array.of(type))));
}

export interface LogDamage {
  /** Byte offset of the damaged record's header in the file. */
  offset: number;
  reason: string;
}

export interface LogScan {
  /** Complete records whose checksum matched. */
  records: number;
  /** The first damaged record, if any: LevelDB would drop it and what follows it in silence. */
  damage?: LogDamage;
  /** Where an interrupted last write begins, if the file ends with one (normal after a crash). */
  torn?: { offset: number; reason: string };
}

/** Reads a file block by block, so that a large log costs 32 KiB of memory, not its size. */
interface BlockSource {
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

function isZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

/** True when a complete record with a matching checksum starts at `pos` of `block`. */
function validRecordAt(block: Uint8Array, pos: number): boolean {
  if (pos + LOG_HEADER_SIZE > block.length) return false;
  const view = new DataView(block.buffer, block.byteOffset + pos, LOG_HEADER_SIZE);
  const length = view.getUint16(4, true);
  const type = view.getUint8(6);
  if (type < RecordType.Full || type > RecordType.Last || pos + LOG_HEADER_SIZE + length > block.length) return false;
  return (
    recordChecksum(type, block.subarray(pos + LOG_HEADER_SIZE, pos + LOG_HEADER_SIZE + length)) ===
    view.getUint32(0, true)
  );
}

/**
 * Whether anything LevelDB wrote follows a bad record: a sound record anywhere in the rest of its
 * block (its own length cannot be trusted, so every offset), at the start of a later block (every
 * block starts with a record), or anywhere in the next block. If not, the bad record is the end of
 * the log: an interrupted write. `block` is read before any later block (the file reader reuses its
 * buffer).
 */
async function soundRecordAfter(source: BlockSource, block: Uint8Array, base: number, pos: number): Promise<boolean> {
  for (let p = pos + 1; p + LOG_HEADER_SIZE <= block.length; p += 1) if (validRecordAt(block, p)) return true;
  for (let next = base + LOG_BLOCK_SIZE; next < source.size; next += LOG_BLOCK_SIZE) {
    const later = await source.read(next, Math.min(LOG_BLOCK_SIZE, source.size - next));
    if (next === base + LOG_BLOCK_SIZE) {
      for (let p = 0; p + LOG_HEADER_SIZE <= later.length; p += 1) if (validRecordAt(later, p)) return true;
    } else if (validRecordAt(later, 0)) {
      return true;
    }
  }
  return false;
}

async function scan(source: BlockSource): Promise<LogScan> {
  let records = 0;
  let fragmentStart: number | undefined;
  const result = (extra: Partial<LogScan>): LogScan => ({ records, ...extra });
  for (let base = 0; base < source.size; base += LOG_BLOCK_SIZE) {
    const block = await source.read(base, Math.min(LOG_BLOCK_SIZE, source.size - base));
    let pos = 0;
    /** A bad record at `pos`: damage if LevelDB wrote anything after it, else the end of an interrupted write. */
    const bad = async (reason: string, tornReason: string): Promise<LogScan> =>
      (await soundRecordAfter(source, block, base, pos))
        ? result({ damage: { offset: base + pos, reason } })
        : result({ torn: { offset: fragmentStart ?? base + pos, reason: tornReason } });
    while (pos < block.length) {
      if (block.length - pos < LOG_HEADER_SIZE) {
        // A full block's trailer is padding; at the end of the file, a header cut short.
        if (block.length < LOG_BLOCK_SIZE && !isZero(block.subarray(pos))) {
          return result({
            torn: { offset: fragmentStart ?? base + pos, reason: "a record header cut short at the end of the file" },
          });
        }
        break;
      }
      const view = new DataView(block.buffer, block.byteOffset + pos, LOG_HEADER_SIZE);
      const stored = view.getUint32(0, true);
      const length = view.getUint16(4, true);
      const type = view.getUint8(6);
      const end = pos + LOG_HEADER_SIZE + length;
      if (type === RecordType.Zero && length === 0) {
        // Zeros where a record should be (never-written space): LevelDB skips the rest of the block.
        if (isZero(block.subarray(pos)) && !(await soundRecordAfter(source, block, base, block.length))) {
          return fragmentStart === undefined
            ? result({})
            : result({ torn: { offset: fragmentStart, reason: "an entry whose last fragments were never written" } });
        }
        return bad("a zeroed record header followed by data", "zeros and unreadable bytes at the end of the file");
      }
      if (end > block.length) {
        return block.length < LOG_BLOCK_SIZE && base + end > source.size
          ? bad(
              `a record of ${length} bytes that runs past the end of the file`,
              "a record cut short at the end of the file",
            )
          : bad(
              `a record length of ${length} bytes that runs past the end of its 32 KiB block`,
              "an unreadable last record",
            );
      }
      if (type < RecordType.Full || type > RecordType.Last)
        return bad(`an unknown record type ${type}`, "an unreadable last record");
      if (recordChecksum(type, block.subarray(pos + LOG_HEADER_SIZE, end)) !== stored) {
        return bad(
          "a record whose checksum does not match its contents",
          "a last record whose checksum does not match (a write that did not fully reach the disk)",
        );
      }
      if (type === RecordType.Full || type === RecordType.First) {
        if (fragmentStart !== undefined)
          return result({
            damage: {
              offset: fragmentStart,
              reason: "an entry whose first fragments are not followed by its last one",
            },
          });
        if (type === RecordType.First) fragmentStart = base + pos;
      } else {
        if (fragmentStart === undefined)
          return result({ damage: { offset: base + pos, reason: "a fragment of an entry whose start is missing" } });
        if (type === RecordType.Last) fragmentStart = undefined;
      }
      records += 1;
      pos = end;
    }
  }
  return fragmentStart === undefined
    ? result({})
    : result({ torn: { offset: fragmentStart, reason: "an entry whose last fragments were never written" } });
}

/** Scans a log held in memory (tests, small files). */
export function scanLogBytes(bytes: Uint8Array): Promise<LogScan> {
  return scan({ size: bytes.byteLength, read: async (offset, length) => bytes.subarray(offset, offset + length) });
}

/** Scans a log file, one block in memory at a time. */
export async function scanLogFile(path: string): Promise<LogScan> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const buffer = new Uint8Array(LOG_BLOCK_SIZE);
    return await scan({
      size,
      read: async (offset, length) => {
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return buffer.subarray(0, filled);
      },
    });
  } finally {
    await handle.close();
  }
}

export interface DatabaseLogDamage extends LogDamage {
  /** The damaged file's path. */
  file: string;
}

/**
 * Checks every write-ahead log and the current MANIFEST of the LevelDB database in `dir` (which may
 * not exist yet). Returns the first damage found, or undefined; interrupted last writes are reported
 * through `onTorn`, since they are normal after a crash.
 */
export async function checkDatabaseLogs(
  dir: string,
  onTorn?: (file: string, offset: number, reason: string) => void,
): Promise<DatabaseLogDamage | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const files = names.filter((n) => /^\d+\.log$/.test(n)).sort();
  if (names.includes("CURRENT")) {
    const manifest = (await readFile(join(dir, "CURRENT"), "utf8")).trim();
    if (/^MANIFEST-\d+$/.test(manifest) && names.includes(manifest)) files.push(manifest);
  }
  for (const name of files) {
    const file = join(dir, name);
    let scanned: LogScan;
    try {
      scanned = await scanLogFile(file);
    } catch (error) {
      // Gone since the listing: LevelDB (of a node already running here) retired it.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    if (scanned.damage) return { file, ...scanned.damage };
    if (scanned.torn) onTorn?.(file, scanned.torn.offset, scanned.torn.reason);
  }
  return undefined;
}
