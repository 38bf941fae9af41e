import { join } from "node:path";

/** Where everything lives inside a node's data directory. */
export interface DataPaths {
  readonly root: string;
  /** The node's configuration (written by `init`). */
  readonly config: string;
  /** Ed25519 private key, mode 0600. */
  readonly identity: string;
  /** LevelDB database. */
  readonly db: string;
  /** The first admin's API token, mode 0600, read by the CLI on this machine. */
  readonly adminToken: string;
  /** Written by a running node: its pid and the address its API listens on. */
  readonly runtime: string;
}

export function dataPaths(root: string): DataPaths {
  return {
    root,
    config: join(root, "config.yaml"),
    identity: join(root, "identity.key"),
    db: join(root, "db"),
    adminToken: join(root, "admin.token"),
    runtime: join(root, "node.json"),
  };
}
