import { readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const NODE = fileURLToPath(new URL("../../node/", import.meta.url));

/**
 * The unit of the check is a folder of node/ (roster, query, bookings, …). Generated protobuf code
 * (node/api/generated) is a unit of its own: every part may use the wire types without depending on
 * the API's services; so is web/generated (protobuf-es, for the console's bridge). Files directly in node/ (the composition root, logging, …) are not a folder.
 */
function unitOf(file: string): string | undefined {
  const parts = relative(NODE, file).split(sep);
  // The web console's protobuf-es code (web/generated), which its gRPC-Web bridge routes by.
  if (parts[0] === ".." && parts[1] === "web" && parts[2] === "generated") return "web/generated";
  if (parts.length < 2) return undefined;
  if (parts[0] === "api" && parts[1] === "generated") return "api/generated";
  return parts[0];
}

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sources(path)));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** Folder → the folders its files import (relative imports only; `import type` counts too). */
async function folderGraph(): Promise<Map<string, Map<string, string>>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of await sources(NODE)) {
    const from = unitOf(file);
    if (!from) continue;
    const text = await readFile(file, "utf8");
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
      const to = unitOf(resolve(dirname(file), match[1]!));
      if (!to || to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string>();
      if (!edges.has(to)) edges.set(to, `${relative(NODE, file)} imports "${match[1]}"`);
      graph.set(from, edges);
    }
  }
  return graph;
}

/** Every cycle's folders in order, with the import that closes each step (Tarjan's components). */
function cycles(graph: Map<string, Map<string, string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) {
        const members = new Set(component);
        found.push(
          component.flatMap((a) =>
            [...(graph.get(a) ?? [])].filter(([b]) => members.has(b)).map(([b, why]) => `${a} → ${b} (${why})`),
          ),
        );
      }
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/**
 * Imports that reach past another folder's index.ts into one of its files. A folder's index.ts is
 * its public surface; the files behind it may change without the rest of the node noticing.
 * Generated protobuf code has no index and is imported file by file.
 */
async function bypasses(): Promise<string[]> {
  const found: string[] = [];
  for (const file of await sources(NODE)) {
    const text = await readFile(file, "utf8");
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
      const target = resolve(dirname(file), match[1]!);
      const to = unitOf(target);
      if (!to || to === unitOf(file) || to === "api/generated" || to === "web/generated") continue;
      if (relative(join(NODE, to), target) !== "index.js") found.push(`${relative(NODE, file)} imports "${match[1]}"`);
    }
  }
  return found;
}

describe("the folders of node/", () => {
  it("are reached only through their index.ts", async () => {
    expect(await bypasses()).toEqual([]);
  });

  it("import one another without a circle", async () => {
    const graph = await folderGraph();
    expect(graph.size).toBeGreaterThan(10);
    expect(cycles(graph)).toEqual([]);
  });

  it("the check finds a circle when there is one", () => {
    const graph = new Map([
      ["bookings", new Map([["query", "bookings/x.ts imports ../query"]])],
      ["query", new Map([["bookings", "query/y.ts imports ../bookings"]])],
      ["roster", new Map([["documents", "roster/z.ts imports ../documents"]])],
    ]);
    expect(cycles(graph)).toHaveLength(1);
    expect(cycles(graph)[0]!.join("\n")).toContain("query → bookings");
  });
});
