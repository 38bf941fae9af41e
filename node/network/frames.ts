/**
 * Length-prefixed frames: a 4-byte big-endian length, then that many bytes. Used on every libp2p
 * sync stream; a frame longer than the limit is refused before it is buffered.
 */

export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FrameError";
  }
}

export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.byteLength);
  new DataView(out.buffer).setUint32(0, payload.byteLength, false);
  out.set(payload, 4);
  return out;
}

/** Accumulates bytes and yields whole frames; throws FrameError on an oversized frame. */
export class FrameDecoder {
  readonly #max: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;

  constructor(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {
    this.#max = maxFrameBytes;
  }

  /** Bytes received but not yet part of a whole frame (a truncated frame at close). */
  get pending(): number {
    return this.#buffered;
  }

  push(bytes: Uint8Array): Uint8Array[] {
    if (bytes.byteLength > 0) {
      this.#chunks.push(bytes);
      this.#buffered += bytes.byteLength;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.#buffered < 4) return frames;
      const head = this.#peek(4);
      const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, false);
      if (length > this.#max) throw new FrameError(`frame of ${length} bytes exceeds the ${this.#max}-byte limit`);
      if (this.#buffered < 4 + length) return frames;
      const whole = this.#take(4 + length);
      frames.push(whole.subarray(4));
    }
  }

  #peek(n: number): Uint8Array {
    const first = this.#chunks[0] as Uint8Array;
    if (first.byteLength >= n) return first.subarray(0, n);
    return this.#concat().subarray(0, n);
  }

  #concat(): Uint8Array {
    if (this.#chunks.length === 1) return this.#chunks[0] as Uint8Array;
    const all = new Uint8Array(this.#buffered);
    let offset = 0;
    for (const c of this.#chunks) {
      all.set(c, offset);
      offset += c.byteLength;
    }
    this.#chunks = [all];
    return all;
  }

  #take(n: number): Uint8Array {
    const all = this.#concat();
    const taken = all.slice(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.byteLength > 0 ? [rest] : [];
    this.#buffered = rest.byteLength;
    return taken;
  }
}
