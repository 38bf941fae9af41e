import * as A from "@automerge/automerge";

/**
 * A document's value as plain data that survives structured cloning: Automerge's immutable strings
 * become strings, counters numbers; maps, lists, dates and byte arrays stay what they are. Readers
 * on the main thread read text with `textOf`, which takes either form.
 */
export function toPlain(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof A.ImmutableString) return value.val;
  if (value instanceof A.Counter) return value.value;
  if (value instanceof Date || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(toPlain);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = toPlain(v);
  return out;
}
