// Builds the web console (web/) into dist/console, which the node serves (node/console/server.ts):
//   - one JavaScript bundle and one stylesheet (esbuild), named by their content's hash;
//   - one catalogue per language folder found in web/locales (files merged, keys prefixed by file name);
//   - index.html naming them, with no inline script or style (the Content-Security-Policy forbids both);
//   - a brotli and a gzip copy of every file, which the node sends to browsers that accept them.
// Then it checks the budget: what a first visit downloads (brotli) must load in under 3 s over a
// 1 Mbit/s link, and it writes the figures to dist/console-budget.json. Over budget, the build fails.
import { readdirSync, readFileSync, writeFileSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;
const web = join(root, "web");
const out = join(root, "dist", "console");

/** A first visit over 1 Mbit/s (125,000 bytes/s) within 3 s, leaving 1 s for round trips and the API's first answers. */
export const FIRST_LOAD_BUDGET_BYTES = 250_000;
const LINK_BYTES_PER_SECOND = 125_000;

function fail(message) {
  console.error(`build-console: ${message}`);
  process.exit(1);
}

/** web/locales/<lang>/<file>.json → { "<file>.<key>": value }, every value a string or a plural object. */
function catalogue(lang) {
  const dir = join(web, "locales", lang);
  const merged = {};
  for (const name of readdirSync(dir)
    .filter((n) => n.endsWith(".json"))
    .sort()) {
    const prefix = name.slice(0, -".json".length);
    let entries;
    try {
      entries = JSON.parse(readFileSync(join(dir, name), "utf8"));
    } catch (error) {
      fail(`web/locales/${lang}/${name} is not valid JSON: ${error.message}`);
    }
    for (const [key, value] of Object.entries(entries)) {
      const plural = typeof value === "object" && value !== null && !Array.isArray(value);
      if (typeof value !== "string" && !(plural && Object.values(value).every((v) => typeof v === "string"))) {
        fail(`web/locales/${lang}/${name}: "${key}" must be a string or an object of plural forms`);
      }
      merged[`${prefix}.${key}`] = value;
    }
  }
  return merged;
}

const languages = readdirSync(join(web, "locales"))
  .filter((name) => statSync(join(web, "locales", name)).isDirectory() && /^[a-z]{2,3}(-[A-Za-z0-9]+)*$/.test(name))
  .sort((a, b) => (a === "en" ? -1 : b === "en" ? 1 : a.localeCompare(b)));
if (!languages.includes("en")) fail("web/locales/en is missing: English is every other catalogue's reference");
const catalogues = Object.fromEntries(languages.map((lang) => [lang, catalogue(lang)]));

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });
mkdirSync(join(out, "locales"), { recursive: true });

const result = await build({
  entryPoints: { app: join(web, "src", "main.tsx") },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022", "chrome109", "firefox115", "safari16"],
  outdir: join(out, "assets"),
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
  tsconfig: join(web, "tsconfig.json"),
  plugins: [
    {
      name: "concordat-locale",
      setup(b) {
        b.onResolve({ filter: /^concordat:locale\/en$/ }, () => ({ path: "en", namespace: "concordat-locale" }));
        b.onLoad({ filter: /.*/, namespace: "concordat-locale" }, () => ({
          contents: JSON.stringify(catalogues.en),
          loader: "json",
        }));
      },
    },
  ],
});

const outputs = Object.keys(result.metafile.outputs).map((p) => join(root, p));
const js = outputs.find((p) => p.endsWith(".js"));
const css = outputs.find((p) => p.endsWith(".css"));
if (!js || !css) fail("esbuild wrote no app bundle or no stylesheet");

for (const lang of languages) {
  if (lang === "en") continue;
  writeFileSync(join(out, "locales", `${lang}.json`), JSON.stringify(catalogues[lang]));
}

const html = readFileSync(join(web, "index.html"), "utf8")
  .replace("%APP_JS%", `/${relative(out, js)}`)
  .replace("%APP_CSS%", `/${relative(out, css)}`)
  .replace("%LOCALES%", languages.join(","));
if (/<script(?![^>]*\bsrc=)[^>]*>/.test(html) || /\sstyle=/.test(html)) fail("index.html holds inline script or style");
writeFileSync(join(out, "index.html"), html);

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

const sizes = {};
for (const file of filesUnder(out)) {
  const body = readFileSync(file);
  const br = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  writeFileSync(`${file}.br`, br);
  writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
  sizes[`/${relative(out, file)}`] = { raw: body.byteLength, brotli: br.byteLength };
}

// A first visit: the page, the bundle, the stylesheet and the largest other catalogue (English is in the bundle).
const largestCatalogue = Object.entries(sizes)
  .filter(([path]) => path.startsWith("/locales/"))
  .reduce((max, [, s]) => Math.max(max, s.brotli), 0);
const firstLoad =
  sizes["/index.html"].brotli +
  sizes[`/${relative(out, js)}`].brotli +
  sizes[`/${relative(out, css)}`].brotli +
  largestCatalogue;
const budget = {
  firstLoadBytes: firstLoad,
  budgetBytes: FIRST_LOAD_BUDGET_BYTES,
  secondsAt1Mbit: Number((firstLoad / LINK_BYTES_PER_SECOND).toFixed(2)),
  languages,
  files: sizes,
};
writeFileSync(join(root, "dist", "console-budget.json"), `${JSON.stringify(budget, null, 2)}\n`);
if (firstLoad > FIRST_LOAD_BUDGET_BYTES) {
  fail(
    `a first visit downloads ${firstLoad} bytes (brotli), over the budget of ${FIRST_LOAD_BUDGET_BYTES} (3 s at 1 Mbit/s); see dist/console-budget.json`,
  );
}
console.log(
  `web console: ${(firstLoad / 1000).toFixed(1)} kB on a first visit (brotli; budget ${FIRST_LOAD_BUDGET_BYTES / 1000} kB, ${budget.secondsAt1Mbit} s at 1 Mbit/s), ${languages.length} languages (${languages.join(", ")})`,
);
