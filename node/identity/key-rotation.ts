import { open, rename, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createIdentityFile, loadIdentityFile } from "./identity.js";

/**
 * A hub's own key rotation (`concordat keys rotate`): a new key is made beside the current one and
 * waits, in `identity.next.key`, until the verified charter names it; then the node promotes it to
 * `identity.key` (the old key is kept as `identity.<old peer id>.retired.key`) and restarts with it.
 * Each step is a rename followed by a directory fsync, so a crash at any point leaves either the old
 * key in use with the new one waiting, or the new key in use.
 */
export class KeyRotation {
  readonly #identity: string;
  readonly #next: string;

  constructor(identityPath: string) {
    this.#identity = identityPath;
    this.#next = join(dirname(identityPath), "identity.next.key");
  }

  get nextPath(): string {
    return this.#next;
  }

  /** The waiting key's peer id, if there is one. */
  async pending(): Promise<string | undefined> {
    if (!(await exists(this.#next))) return undefined;
    return (await loadIdentityFile(this.#next)).peerId;
  }

  /** Makes the next key (once; later calls return the same) and returns its peer id. */
  async prepare(): Promise<string> {
    const waiting = await this.pending();
    if (waiting) return waiting;
    const identity = await createIdentityFile(this.#next);
    await syncDirectory(dirname(this.#next));
    return identity.peerId;
  }

  /** Makes the waiting key the node's key; the current one is kept, retired. */
  async promote(currentPeerId: string): Promise<void> {
    const retired = join(dirname(this.#identity), `identity.${currentPeerId}.retired.key`);
    await rename(this.#identity, retired);
    await syncDirectory(dirname(this.#identity));
    await rename(this.#next, this.#identity);
    await syncDirectory(dirname(this.#identity));
  }

  /** Finishes a promotion a crash cut short (no current key, a waiting one). */
  async recover(): Promise<boolean> {
    if ((await exists(this.#identity)) || !(await exists(this.#next))) return false;
    await rename(this.#next, this.#identity);
    await syncDirectory(dirname(this.#identity));
    return true;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
