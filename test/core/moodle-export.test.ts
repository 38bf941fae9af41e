/**
 * The core back out as Moodle's competency framework CSV (the file tool_lpimportcsv imports and
 * parseMoodleCsv reads): a Moodle file comes back out the same, a core made elsewhere becomes a
 * file Moodle's importer takes, and what Moodle cannot hold is named.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { coreExportCommand, coreImportCommand, coreReleaseCommand } from "../../cli/commands/core.js";
import { parseCasePackage } from "../../node/core/case.js";
import type { CoreAssociation, CoreItem } from "../../node/core/model.js";
import { MOODLE_COLUMNS, parseMoodleCsv, toMoodleCsv, type MoodleImport } from "../../node/core/moodle.js";
import { readCsv } from "../../node/csv.js";
import { startFederationWith, type StartedFederation } from "../helpers/federation.js";
import { makeTempDir } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

const NOW = "2026-03-01T09:00:00Z";
const moodlePath = new URL("../fixtures/moodle/ssr-framework.csv", import.meta.url).pathname;
const casePath = (name: string) => new URL(`../fixtures/case/${name}.json`, import.meta.url).pathname;

/** The import with its records in a fixed order: file order is the exporter's choice. */
function sorted(result: MoodleImport): MoodleImport {
  const by = <T extends { identifier: string }>(list: readonly T[]) =>
    [...list].sort((a, b) => a.identifier.localeCompare(b.identifier));
  return { framework: result.framework, items: by(result.items), associations: by(result.associations) };
}

/** Each item's parent code ("" for the framework), by code. */
function tree(items: readonly CoreItem[], associations: readonly CoreAssociation[], frameworkId: string) {
  const code = new Map(items.map((i) => [i.identifier, i.code]));
  code.set(frameworkId, "");
  return Object.fromEntries(
    associations
      .filter((a) => a.type === "isChildOf")
      .map((a) => [code.get(a.origin.identifier), code.get(a.destination.identifier)]),
  );
}

describe("toMoodleCsv", () => {
  let original: MoodleImport;
  beforeAll(async () => {
    original = parseMoodleCsv(await readFile(moodlePath, "utf8"), { now: NOW });
  });

  it("writes Moodle's header and one framework row, then every competency after its parent", () => {
    const { csv, omitted } = toMoodleCsv(original);
    expect(omitted).toEqual([]);
    expect(csv.startsWith("\uFEFF")).toBe(true);
    const { records, errors } = readCsv(csv.slice(1));
    expect(errors).toEqual([]);
    expect(records[0]?.cells).toEqual([...MOODLE_COLUMNS]);
    const rows = records.slice(1).map((r) => r.cells);
    expect(rows.filter((r) => r[12] === "1")).toHaveLength(1);
    expect(rows).toHaveLength(1 + original.items.length);
    // A cross-reference is written on both competencies, as Moodle's exporter writes it.
    const related = new Map(rows.map((r) => [r[1], (r[10] ?? "").split(",").filter((x) => x !== "")]));
    const pairs = original.associations.filter((a) => a.type === "isRelatedTo");
    expect(pairs.length).toBeGreaterThan(0);
    const code = new Map(original.items.map((i) => [i.identifier, i.code]));
    for (const a of pairs) {
      const [x, y] = [code.get(a.origin.identifier) ?? "", code.get(a.destination.identifier) ?? ""];
      expect(related.get(x)).toContain(y);
      expect(related.get(y)).toContain(x);
    }
    const seen = new Set<string>([""]);
    for (const r of rows.slice(1)) {
      expect(seen.has(r[0] ?? "?")).toBe(true); // the parent is already written
      seen.add(r[1] ?? "");
    }
  });

  it("round-trips a Moodle file through parseMoodleCsv: the same framework, items and links", () => {
    const back = parseMoodleCsv(toMoodleCsv(original).csv, { now: NOW });
    expect(sorted(back)).toEqual(sorted(original));
    // And the second export is the first, byte for byte.
    expect(toMoodleCsv(back).csv).toBe(toMoodleCsv(original).csv);
  });

  it("writes a core made elsewhere as a file Moodle takes, naming what Moodle cannot hold", async () => {
    const content = parseCasePackage(JSON.parse(await readFile(casePath("ssr-core"), "utf8")));
    const { csv, omitted } = toMoodleCsv(content);
    const back = parseMoodleCsv(csv, { now: NOW, language: content.framework.language });
    expect(back.items).toHaveLength(content.items.length);
    expect(back.framework.title).toBe(content.framework.title);
    // The tree by code is the same.
    expect(tree(back.items, back.associations, back.framework.identifier)).toEqual(
      tree(content.items, content.associations, content.framework.identifier),
    );
    // A scale, as Moodle requires of a framework, and a taxonomy from the item types.
    expect((back.framework.extra.extensions as { moodle: Record<string, unknown> }).moodle).toMatchObject({
      scaleValues: "Not yet competent,Competent",
      taxonomy: expect.stringMatching(/^[a-z,]+$/),
    });
    const others = content.associations.filter((a) => a.type !== "isChildOf" && a.type !== "isRelatedTo");
    for (const a of others) expect(omitted.join("\n")).toContain(a.identifier);
    expect(others.length).toBeGreaterThan(0);
  });

  it("gives each competency a unique ID number, cuts a short name over 100 characters and keeps the full text", () => {
    const base = original.items[0] as CoreItem;
    const long = "x".repeat(150);
    const items: CoreItem[] = [
      { ...base, identifier: "a", code: "SAME", statement: { en: long, fr: "long" }, extra: {} },
      { ...base, identifier: "b", code: "SAME", statement: { en: "Short" }, extra: {}, notes: undefined },
    ];
    const { csv, omitted } = toMoodleCsv({ framework: { ...original.framework, extra: {} }, items, associations: [] });
    const back = parseMoodleCsv(csv, { now: NOW });
    expect(back.items.map((i) => i.code)).toEqual(["SAME", "b"]);
    expect([...(back.items[0]?.statement.en ?? "")]).toHaveLength(100);
    expect(back.items[0]?.notes?.startsWith(long)).toBe(true);
    expect(omitted).toHaveLength(3); // the shared ID number, the short name, the French statement
  });
});

describe("concordat core export moodle", () => {
  let fed: StartedFederation;
  const cli = () => ({ api: fed.byName("s").node.address, token: fed.byName("s").node.adminToken });
  beforeAll(async () => {
    fed = await startFederationWith(["s"], []);
  }, 60_000);
  afterAll(async () => {
    await fed?.stop();
  });

  it("writes a release as a CSV that reads back as the framework imported", async () => {
    await coreImportCommand({ ...cli(), format: "moodle", file: moodlePath }, memoryIo(false));
    await coreReleaseCommand({ ...cli(), version: "1.0.0" }, memoryIo(false));
    const out = join(await makeTempDir("concordat-moodle-export-"), "framework.csv");
    const io = memoryIo(false);
    await coreExportCommand({ ...cli(), format: "moodle", release: "1.0.0", out }, io);
    expect(io.out()).toMatch(/Wrote the core \(1\.0\.0\) as a Moodle competency framework CSV/);
    const text = await readFile(out, "utf8");
    const back = parseMoodleCsv(text, { now: NOW });
    const original = parseMoodleCsv(await readFile(moodlePath, "utf8"), { now: NOW });
    const strip = (m: MoodleImport) => {
      const s = sorted(m);
      // The node stamps its own times on import.
      return {
        framework: { ...s.framework, lastChangeDateTime: "" },
        items: s.items.map((i) => ({ ...i, lastChangeDateTime: "" })),
        associations: s.associations.map((a) => ({ ...a, lastChangeDateTime: "" })),
      };
    };
    expect(strip(back)).toEqual(strip(original));
  });

  it("writes to standard output without --out, and --json names the file and what was left out", async () => {
    const io = memoryIo(false);
    await coreExportCommand({ ...cli(), format: "moodle", draft: true }, io);
    expect(io.out().startsWith("\uFEFF")).toBe(true);
    expect(parseMoodleCsv(io.out(), { now: NOW }).items.length).toBeGreaterThan(0);
    const json = memoryIo(true);
    const out = join(await makeTempDir("concordat-moodle-export-"), "f.csv");
    await coreExportCommand({ ...cli(), format: "moodle", draft: true, out }, json);
    expect(JSON.parse(json.out())).toEqual({ release: "draft", out, omitted: [] });
  });
});
