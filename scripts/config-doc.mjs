// Writes docs/configuration.md from the node's configuration schema, so that the reference cannot
// drift from what the node accepts: every key, its type and limits, its default (from the zod schema
// in node/config/schema.ts), what it means (the key's `/** … */` comment there, or its `.describe()`),
// and the environment variable that overrides it (ENV_OVERRIDES in node/config/load.ts).
//
//   npm run docs:config                          build, then write docs/configuration.md
//   node scripts/config-doc.mjs --check          exit 1 when docs/configuration.md differs
//   node scripts/config-doc.mjs --check --file F exit 1 when F differs (the drift test uses it)
//
// It reads the built schema in dist/ (run `npm run build` first) and the TypeScript source's comments.
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { z } from "zod";

const root = new URL("..", import.meta.url).pathname;
const SCHEMA_SOURCE = "node/config/schema.ts";
const TARGET = "docs/configuration.md";

/** Each key's JSDoc comment in the schema's source, by dotted path (array items have no segment of their own). */
function commentsByPath() {
  const file = join(root, SCHEMA_SOURCE);
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const found = new Map();
  const visit = (node, path) => {
    let next = path;
    if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name)) {
      next = [...path, node.name.text];
      const docs = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc);
      const text = docs
        .map((d) => (typeof d.comment === "string" ? d.comment : ts.getTextOfJSDocComment(d.comment)))
        .filter(Boolean)
        .join(" ");
      if (text) found.set(next.join("."), text.replace(/\s+/g, " ").trim());
    }
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === "tlsSchema") {
      next = ["api", "tls"];
    }
    ts.forEachChild(node, (child) => visit(child, next));
  };
  visit(source, []);
  return found;
}

function code(value) {
  return `\`${value}\``;
}

function cell(text) {
  return String(text).replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function typeOf(schema) {
  if (schema.enum) return schema.enum.map((v) => code(JSON.stringify(v).replace(/^"|"$/g, ""))).join(", ");
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(" or ");
  if (schema.const !== undefined) return code(schema.const);
  const bounds = (min, max) =>
    min !== undefined && max !== undefined
      ? ` ${min.toLocaleString("en")}–${max.toLocaleString("en")}`
      : min !== undefined
        ? ` ≥ ${min}`
        : max !== undefined
          ? ` ≤ ${max}`
          : "";
  switch (schema.type) {
    case "integer":
      return `whole number${bounds(schema.minimum, schema.maximum)}`;
    case "number":
      return `number${bounds(schema.minimum, schema.maximum)}`;
    case "string":
      return schema.pattern ? `text matching ${code(schema.pattern)}` : "text";
    case "boolean":
      return "`true` or `false`";
    case "array":
      return schema.items?.type === "object" ? "list of entries (below)" : `list of ${typeOf(schema.items ?? {})}`;
    default:
      return schema.type ?? "";
  }
}

function defaultOf(schema, required) {
  if (typeof schema.default === "string" && schema.default !== "") return code(schema.default);
  if (schema.default !== undefined) return code(JSON.stringify(schema.default));
  return required ? "— (required)" : "unset";
}

/** Table rows: every leaf key, and every list of entries or commented group, in schema order. */
function rows(schema, comments, env, prefix = [], required = false, out = []) {
  const path = prefix.join(".");
  const isObject = schema.type === "object" && schema.properties;
  const isEntries = schema.type === "array" && schema.items?.type === "object";
  const meaning = comments.get(path.replace(/\[\]/g, "")) ?? schema.description ?? "";
  if (prefix.length > 0 && (!isObject || meaning)) {
    const variable = env.get(path);
    out.push({
      key: path,
      type: isObject ? "group" : typeOf(schema),
      default: defaultOf(schema, required),
      meaning,
      variable,
    });
  }
  if (isObject) {
    for (const [name, child] of Object.entries(schema.properties)) {
      rows(child, comments, env, [...prefix, name], (schema.required ?? []).includes(name), out);
    }
  }
  if (isEntries) {
    const item = schema.items;
    for (const [name, child] of Object.entries(item.properties)) {
      rows(
        child,
        comments,
        env,
        [...prefix.slice(0, -1), `${prefix.at(-1)}[]`, name],
        (item.required ?? []).includes(name),
        out,
      );
    }
  }
  return out;
}

export async function render() {
  const { configSchema, ENV_OVERRIDES } = await import(join(root, "dist/node/config/index.js"));
  const json = z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" });
  const env = new Map();
  for (const [name, { path, type }] of Object.entries(ENV_OVERRIDES)) {
    env.set(path.join("."), type === "list" ? `${code(name)} (comma-separated)` : code(name));
  }
  const comments = commentsByPath();
  const table = rows(json, comments, env)
    .map((r) => `| ${code(r.key)} | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.meaning)} | ${r.variable ?? ""} |`)
    .join("\n");
  const unused = [...env.keys()].filter((p) => !table.includes(code(p)));
  if (unused.length > 0) throw new Error(`ENV_OVERRIDES names keys the schema does not have: ${unused.join(", ")}`);
  return `<!-- Generated by \`npm run docs:config\` from ${SCHEMA_SOURCE} and node/config/load.ts: edit those, not this file. -->

# Configuration

A node reads \`DATA/config.yaml\`, written by \`concordat init\` (or by the first \`npm start\`) from
[\`config/default.yaml\`](../config/default.yaml) or the file given with \`--config\`. It is validated at
start: an unknown key, a wrong type or a YAML syntax error stops the node with an error naming the
key (or the line). Every key but \`hub.id\` and \`hub.name\` has a default, so a file needs only what
differs. Commented examples: [\`config/examples/hub.yaml\`](../config/examples/hub.yaml) and
[\`config/examples/secretariat.yaml\`](../config/examples/secretariat.yaml).

An environment variable in the last column overrides its key, over the file; a value that does not
parse as the key's type stops the node, naming the variable. The \`concordat\` command's own
variables (\`CONCORDAT_DATA\`, \`CONCORDAT_API\`, \`CONCORDAT_TOKEN\`, \`CONCORDAT_TLS_CA\`) are in
[cli.md](cli.md); what the data directory holds is in [hub-operator.md](hub-operator.md#the-data-directory).

| key | type | default | meaning | environment |
| --- | --- | --- | --- | --- |
${table}
`;
}

const args = process.argv.slice(2);
if (import.meta.url === `file://${process.argv[1]}`) {
  const fileArg = args.indexOf("--file");
  const target = fileArg >= 0 && args[fileArg + 1] ? args[fileArg + 1] : join(root, TARGET);
  const text = await render();
  if (args.includes("--check")) {
    let committed = "";
    try {
      committed = readFileSync(target, "utf8");
    } catch {
      // a missing file differs
    }
    if (committed !== text) {
      console.error(`${relative(root, target) || target} is out of date: run \`npm run docs:config\` and commit it`);
      process.exit(1);
    }
    console.log(`${relative(root, target) || target} matches the configuration schema`);
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${relative(root, target)}`);
  }
}
