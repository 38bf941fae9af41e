/**
 * Which of a sharded document's shards a record's id falls in (the roster's trainers, the case
 * repository's cases): stable across nodes and versions.
 */
/** Stable 32-bit FNV-1a hash of a record id, modulo the number of shards. */
export function shardOf(id: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i += 1) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}
