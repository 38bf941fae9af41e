import type { Stats } from "node:fs";
import { chmod, lstat, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * A node's data directory holds personal data (LevelDB), its private key and credentials: only the
 * user the node runs as may read it. Directories are 0700 and files 0600, whatever the umask:
 * `init` and `restore` set the modes of what they create, `concordat start` runs the node with umask
 * 077 so that what LevelDB creates later is private too, and every start tightens what an older
 * version, another tool or a hand left wider (`tightenDataDir`).
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
/** The umask of a node process (`concordat start`). */
export const NODE_UMASK = 0o077;

/** Creates `dir` (and missing parents, with the usual modes) and makes `dir` itself 0700. */
export async function makePrivateDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await chmod(dir, PRIVATE_DIR_MODE);
}

export interface ModeFix {
  path: string;
  /** The permission bits before, e.g. 0o644. */
  from: number;
  to: number;
}

/**
 * Removes the group and other permission bits from `root` and everything under it (symbolic links are
 * neither followed nor changed). Returns what it changed. A file it may not change (owned by another
 * user) is reported through `onError` and left as it is.
 */
export async function tightenDataDir(
  root: string,
  onError?: (path: string, error: unknown) => void,
): Promise<ModeFix[]> {
  const fixes: ModeFix[] = [];
  const visit = async (path: string): Promise<void> => {
    let info: Stats;
    try {
      info = await lstat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return; // gone meanwhile (LevelDB replaces files)
      throw error;
    }
    if (info.isSymbolicLink()) return;
    const mode = info.mode & 0o7777;
    const wanted = mode & ~0o077;
    if (mode !== wanted) {
      try {
        await chmod(path, wanted);
        fixes.push({ path, from: mode, to: wanted });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") onError?.(path, error);
      }
    }
    if (info.isDirectory()) {
      for (const name of await readdir(path).catch(() => [] as string[])) await visit(join(path, name));
    }
  };
  await visit(root);
  return fixes;
}
