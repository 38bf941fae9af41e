import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** One file of the built console, held in memory with its precompressed forms. */
export interface Asset {
  body: Buffer;
  brotli?: Buffer;
  gzip?: Buffer;
  type: string;
  etag: string;
  /** Content-hashed names (under assets/) never change: cached for a year. */
  immutable: boolean;
}

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".webmanifest": "application/manifest+json",
};

/** The folder `npm run build` writes the console to: dist/console beside this package's package.json. */
export function defaultAssetRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return join(dir, "dist", "console");
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the package root of the web console");
    dir = parent;
  }
}

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/**
 * Every file of the built console by URL path ("/index.html", "/assets/app-3f2a….js"), read once
 * at start: the whole console is a few hundred kilobytes. `x.br` and `x.gz` beside `x` are its
 * precompressed forms (written by the build, scripts/build-console.mjs). Undefined when the folder
 * does not exist (the console was not built).
 */
export async function loadAssets(root: string): Promise<Map<string, Asset> | undefined> {
  if (!existsSync(join(root, "index.html"))) return undefined;
  const files = await filesUnder(root);
  const assets = new Map<string, Asset>();
  const present = new Set(files);
  for (const file of files) {
    const ext = extname(file);
    if (ext === ".br" || ext === ".gz") continue;
    const body = await readFile(file);
    const path = `/${relative(root, file).split(sep).join("/")}`;
    const asset: Asset = {
      body,
      type: TYPES[ext] ?? "application/octet-stream",
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
      immutable: path.startsWith("/assets/"),
    };
    if (present.has(`${file}.br`)) asset.brotli = await readFile(`${file}.br`);
    if (present.has(`${file}.gz`)) asset.gzip = await readFile(`${file}.gz`);
    assets.set(path, asset);
  }
  return assets;
}
