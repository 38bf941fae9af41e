import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MOODLE_COLUMNS, parseMoodleCsv, type MoodleImport } from "../../node/core/moodle.js";
import { ErrorCode, isConcordatError } from "../../node/errors.js";
import type { CoreItem } from "../../node/core/model.js";

const NOW = "2026-03-01T09:00:00Z";
const fixture = (name: string) => readFileSync(new URL(`../fixtures/moodle/${name}`, import.meta.url), "utf8");
const SSR = fixture("ssr-framework.csv");
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The problems a parse throws, as `field: description` lines; fails when it does not throw. */
function problems(text: string, options = { now: NOW }): { message: string; lines: string[] } {
  try {
    parseMoodleCsv(text, options);
  } catch (error) {
    if (!isConcordatError(error)) throw error;
    expect(error.code).toBe(ErrorCode.InvalidArgument);
    return { message: error.message, lines: error.violations.map((v) => `${v.field}: ${v.description}`) };
  }
  throw new Error("expected the parse to fail");
}

/** A CSV cell as Moodle's exporter (PHP fputcsv) writes it. */
function cell(value: string): string {
  return /[",\r\n\t ]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

const HEADER = MOODLE_COLUMNS.map(cell).join(",");

/** A row from the cells that matter, the others empty. */
function row(cells: Partial<Record<(typeof MOODLE_COLUMNS)[number], string>>): string {
  return MOODLE_COLUMNS.map((c) => cell(cells[c] ?? "")).join(",");
}

const FRAMEWORK_ROW = row({
  "ID number": "FW",
  "Short name": "Framework",
  "Is framework": "1",
  Taxonomy: "domain,competency",
});

function csv(...rows: string[]): string {
  return `${[HEADER, FRAMEWORK_ROW, ...rows].join("\r\n")}\r\n`;
}

function byCode(result: MoodleImport): Map<string, CoreItem> {
  return new Map(result.items.map((i) => [i.code, i]));
}

/** Each child's parent code (the framework as "") and sequence number, by child code. */
function tree(result: MoodleImport): Record<string, [string, number | undefined]> {
  const codeOf = new Map<string, string>(result.items.map((i) => [i.identifier, i.code]));
  codeOf.set(result.framework.identifier, "");
  const out: Record<string, [string, number | undefined]> = {};
  for (const a of result.associations.filter((a) => a.type === "isChildOf")) {
    out[codeOf.get(a.origin.identifier)!] = [codeOf.get(a.destination.identifier)!, a.sequenceNumber];
  }
  return out;
}

describe("parseMoodleCsv: a framework as Moodle exports it", () => {
  const result = parseMoodleCsv(SSR, { now: NOW });
  const items = byCode(result);

  it("reads the framework, 11 competencies, 11 isChildOf and 2 isRelatedTo", () => {
    expect(result.items.map((i) => i.code)).toEqual([
      "HR",
      "GEN",
      "HR-1",
      "HR-2",
      "GEN-1",
      "GOV",
      "GOV-1",
      "HR-1.1",
      "HR-1.2",
      "GOV-1.1",
      "HR-3",
    ]);
    expect(result.associations.filter((a) => a.type === "isChildOf")).toHaveLength(11);
    expect(result.associations.filter((a) => a.type === "isRelatedTo")).toHaveLength(2);
    expect(result.associations).toHaveLength(13);
  });

  it("maps the framework row", () => {
    const f = result.framework;
    expect(f.identifier).toMatch(UUID);
    expect(f.title).toBe("SSR Core Competencies");
    expect(f.description).toBe(
      "<p>Competencies for trainers of the security sector reform network, hubs and assessors.</p>\n" +
        '<p>Adopted by the secretariat; see <a href="https://example.org/ssr/charter">the charter</a>, section 2.</p>',
    );
    expect(f.creator).toBe("Moodle import");
    expect(f.language).toBe("en");
    expect(f.lastChangeDateTime).toBe(NOW);
    expect(f.extra.extensions).toEqual({
      moodle: {
        idnumber: "SSR-CORE",
        scaleValues: "Not yet competent,Competent",
        scaleConfiguration:
          '[{"scaleid":"2"},{"id":1,"scaledefault":1,"proficient":0},{"id":2,"scaledefault":0,"proficient":1}]',
        taxonomy: "domain,competency,behaviour",
        descriptionFormat: 1,
      },
    });
  });

  it("maps a competency row to an item", () => {
    expect(items.get("HR-1")).toEqual({
      identifier: expect.stringMatching(UUID),
      code: "HR-1",
      statement: { en: "Apply human rights standards in detention" },
      type: "Competency",
      language: "en",
      roleLevels: [],
      themes: [],
      notes: "<p>Applies the standards of detention: registration, access to counsel, family contact.</p>",
      lastChangeDateTime: NOW,
      extra: {
        extensions: {
          moodle: {
            idnumber: "HR-1",
            parentIdnumber: "HR",
            descriptionFormat: 1,
            exportedId: "4",
            ruleType: "core_competency\\competency_rule_all",
            ruleOutcome: "2",
          },
        },
      },
    });
    // a scale of its own; no rule (outcome 0 and config "null" are the exporter's "none")
    expect(items.get("GOV-1")?.extra.extensions).toEqual({
      moodle: {
        idnumber: "GOV-1",
        parentIdnumber: "GOV",
        descriptionFormat: 1,
        scaleValues: "Not yet competent,Competent,Expert",
        scaleConfiguration:
          '[{"scaleid":"3"},{"id":1,"scaledefault":1,"proficient":0},{"id":2,"scaledefault":0,"proficient":1},{"id":3,"scaledefault":0,"proficient":1}]',
        exportedId: "8",
      },
    });
    expect(items.get("GOV-1")).not.toHaveProperty("notes"); // empty description
    expect(items.get("GEN-1")?.notes).toBe('Plain text, with a comma and "quotes".');
    expect((items.get("GEN-1")?.extra.extensions as { moodle: unknown } | undefined)?.moodle).toMatchObject({
      descriptionFormat: 2,
    });
    expect(items.get("HR-1.2")?.statement).toEqual({ en: 'Records a complaint with "due diligence"' });
  });

  it("types each item by the taxonomy term of its depth", () => {
    const types = Object.fromEntries(result.items.map((i) => [i.code, i.type]));
    expect(types).toEqual({
      HR: "Domain",
      GEN: "Domain",
      GOV: "Domain",
      "HR-1": "Competency",
      "HR-2": "Competency",
      "HR-3": "Competency",
      "GEN-1": "Competency",
      "GOV-1": "Competency",
      "HR-1.1": "Behaviour",
      "HR-1.2": "Behaviour",
      "GOV-1.1": "Behaviour",
    });
  });

  it("links each competency to its parent, top-level ones to the framework, numbered among siblings in file order", () => {
    expect(tree(result)).toEqual({
      HR: ["", 1],
      GEN: ["", 2],
      GOV: ["", 3],
      "HR-1": ["HR", 1],
      "HR-2": ["HR", 2],
      "HR-3": ["HR", 3], // HR-3 comes last in the file
      "GEN-1": ["GEN", 1],
      "GOV-1": ["GOV", 1],
      "HR-1.1": ["HR-1", 1],
      "HR-1.2": ["HR-1", 2],
      "GOV-1.1": ["GOV-1", 1],
    });
    const top = result.associations.find((a) => a.origin.identifier === items.get("HR")?.identifier);
    expect(top).toEqual({
      identifier: expect.stringMatching(UUID),
      type: "isChildOf",
      origin: { identifier: items.get("HR")?.identifier, title: "Human rights" },
      destination: { identifier: result.framework.identifier, title: "SSR Core Competencies" },
      sequenceNumber: 1,
      lastChangeDateTime: NOW,
      extra: {},
    });
  });

  it("gives one isRelatedTo per cross-referenced pair, listed on one side or both", () => {
    const related = result.associations
      .filter((a) => a.type === "isRelatedTo")
      .map((a) => [a.origin.title, a.destination.title, a.sequenceNumber]);
    expect(related).toEqual([
      // HR-1 ↔ GEN-1 is listed on both (as Moodle exports it): one association, from the first
      ["Apply human rights standards in detention", "Intégrer la dimension de genre dans la formation", undefined],
      ["Protéger les civils 🕊", "الرقابة المدنية على قطاع الأمن", undefined],
    ]);
  });

  it("derives every identifier from the ID numbers: the same on every parse, distinct, independent of the time", () => {
    const again = parseMoodleCsv(SSR, { now: "2027-01-01T00:00:00Z" });
    const ids = (r: MoodleImport) => [
      r.framework.identifier,
      ...r.items.map((i) => i.identifier),
      ...r.associations.map((a) => a.identifier),
    ];
    expect(ids(again)).toEqual(ids(result));
    expect(parseMoodleCsv(SSR, { now: NOW })).toEqual(result);
    expect(new Set(ids(result)).size).toBe(1 + 11 + 13);
    for (const id of ids(result)) expect(id).toMatch(UUID);
    // the framework's: SHA-256 of "moodle:" + its ID number, as a version 8 UUID
    const hex = createHash("sha256").update("moodle:SSR-CORE").digest("hex");
    expect(result.framework.identifier.replace(/-/g, "")).toBe(
      `${hex.slice(0, 12)}8${hex.slice(13, 16)}${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 32)}`,
    );
  });

  it("reads the BOM, CRLF line ends and quoted line ends of either kind", () => {
    expect(SSR.startsWith("\uFEFF")).toBe(true);
    expect(SSR).toContain('context.</li>\n</ul>",1');
    expect(items.get("HR")?.notes).toBe(
      "<p>Human rights, international humanitarian law and the rule of law,\r\napplied to the daily work of security institutions.</p>",
    );
    expect(items.get("HR-1.1")?.notes).toBe(
      "<ul>\n<li>Names the absolute prohibition;</li>\n<li>gives two examples, from the trainees' context.</li>\n</ul>",
    );
    expect(parseMoodleCsv(SSR.slice(1), { now: NOW })).toEqual(result); // without the BOM
  });

  it("counts lines past quoted line ends, whatever the line ends", () => {
    const bad = `HR,HR-1,"Duplicate",,1,,,,0,null,,99,,`;
    expect(SSR.split("\r\n").length - 1).toBe(14); // 18 lines, 4 of them inside quoted cells
    for (const eol of ["\r\n", "\n", "\r"]) {
      const text = SSR.replace(/\r\n/g, eol) + bad + eol;
      expect(problems(text).lines).toEqual(["line 19, ID number: 'HR-1' is used twice (first on line 7)"]);
    }
  });

  it("keeps every Unicode character, beyond the BMP too", () => {
    expect(items.get("HR-2")?.statement.en).toBe("Protéger les civils \u{1F54A}");
    expect(items.get("GEN")?.statement.en).toBe("Égalité des genres");
    expect(items.get("GOV")?.statement.en).toBe("الحوكمة والرقابة");
    expect(items.get("GOV-1.1")?.notes).toBe("<p>يشرح دور البرلمان، والهيئات المستقلة.</p>");
    expect(items.get("HR-2")?.notes).toBe("<p>Protection of civilians, «\u00a0sans exception\u00a0».</p>");
  });

  it("takes the language of the statements from the options", () => {
    const fr = parseMoodleCsv(SSR, { now: NOW, language: "fr" });
    expect(fr.framework.language).toBe("fr");
    expect(byCode(fr).get("GEN")).toMatchObject({ language: "fr", statement: { fr: "Égalité des genres" } });
    expect(fr.items.map((i) => i.identifier)).toEqual(result.items.map((i) => i.identifier));
  });
});

describe("parseMoodleCsv: other valid files", () => {
  it("accepts the header of Moodle 3.1 (other spelling and case)", () => {
    const old =
      '"Parent id number","Id number",Shortname,Description,"Description format","Scale values","Scale configuration",' +
      '"Rule type (optional)","Rule outcome (optional)","Rule config (optional)","Cross referenced competency id numbers",' +
      '"Exported id (optional)","Is framework",Taxonomy';
    const text = csv(row({ "ID number": "A", "Short name": "A" })).replace(HEADER, old);
    expect(parseMoodleCsv(text, { now: NOW }).items.map((i) => i.code)).toEqual(["A"]);
  });

  it("places a child listed before its parent, and ID numbers beyond the BMP", () => {
    const result = parseMoodleCsv(
      csv(
        row({
          "Parent ID number": "🕊",
          "ID number": "🕊-1",
          "Short name": "Child",
          "Cross-referenced competency ID numbers": "🕊",
        }),
        row({ "ID number": "🕊", "Short name": "Parent" }),
      ),
      { now: NOW },
    );
    expect(tree(result)).toEqual({ "🕊-1": ["🕊", 1], "🕊": ["", 1] });
    expect(byCode(result).get("🕊-1")?.type).toBe("Competency");
    expect(result.associations.filter((a) => a.type === "isRelatedTo").map((a) => a.destination.title)).toEqual([
      "Parent",
    ]);
  });

  it("reads %2C in a cross-reference as a comma of the ID number, as Moodle's exporter writes it", () => {
    const result = parseMoodleCsv(
      csv(
        row({ "ID number": "A,1", "Short name": "With a comma" }),
        row({ "ID number": "B", "Short name": "B", "Cross-referenced competency ID numbers": "A%2C1, A%2c1" }),
      ),
      { now: NOW },
    );
    expect(result.associations.filter((a) => a.type === "isRelatedTo").map((a) => a.destination.title)).toEqual([
      "With a comma",
    ]);
  });

  it("capitalises a taxonomy term by its first code point, and defaults to Competency below the taxonomy", () => {
    const text = csv(
      row({ "ID number": "A", "Short name": "A" }),
      row({ "Parent ID number": "A", "ID number": "B", "Short name": "B" }),
      row({ "Parent ID number": "B", "ID number": "C", "Short name": "C" }),
    ).replace("domain,competency", "\u{10428}x,"); // DESERET SMALL LETTER LONG I; an empty second term
    expect(parseMoodleCsv(text, { now: NOW }).items.map((i) => i.type)).toEqual([
      "\u{10400}x",
      "Competency",
      "Competency",
    ]);
  });

  it("handles a deep tree without recursion", () => {
    const depth = 3000;
    const rows = Array.from({ length: depth }, (_, i) =>
      row({ "Parent ID number": i === 0 ? "" : `C${i - 1}`, "ID number": `C${i}`, "Short name": `Level ${i}` }),
    );
    const result = parseMoodleCsv(csv(...rows.reverse()), { now: NOW });
    expect(result.items).toHaveLength(depth);
    expect(tree(result)[`C${depth - 1}`]).toEqual([`C${depth - 2}`, 1]);
  });

  it("reads back any short name, whatever its characters", () => {
    const unit = fc.oneof(
      { arbitrary: fc.constantFrom(",", '"', "\n", "\r\n", "\r", "%2C", "\u00a0", "\ufeff"), weight: 1 },
      { arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }), weight: 3 },
    );
    const nameArb = fc.string({ unit, minLength: 1, maxLength: 20 }).filter((s) => s.trim() !== "");
    fc.assert(
      fc.property(fc.array(nameArb, { minLength: 1, maxLength: 4 }), (names) => {
        const rows = names.map((n, i) => row({ "ID number": `C${i}`, "Short name": n, Description: n }));
        const result = parseMoodleCsv(csv(...rows), { now: NOW });
        expect(result.items.map((i) => i.statement.en)).toEqual(names.map((n) => n.trim()));
        expect(result.items.map((i) => i.notes)).toEqual(names);
      }),
      { numRuns: 150 },
    );
  });
});

describe("parseMoodleCsv: problems", () => {
  it("names every problem of invalid.csv with its line and column, in file order", () => {
    const { message, lines } = problems(fixture("invalid.csv"));
    expect(message).toBe("the Moodle CSV is invalid: 14 problems");
    expect(lines).toEqual([
      "line 6, ID number: 'HR-1' is used twice (first on line 5)",
      "line 7, ID number: is empty; a competency needs one",
      "line 8, Short name: is empty; a competency needs one",
      "line 9, Parent ID number: 'NOPE' names no competency in the file",
      "line 10, Cross-referenced competency ID numbers: 'GHOST' names no competency in the file",
      "line 11, Parent ID number: 'CY-1' is in a parent cycle: CY-1 → CY-2 → CY-1",
      "line 13: the row has 13 fields but the header has 14",
      "line 14, Is framework: a second framework row (the framework is described on line 2); a file holds one framework",
      "line 15, Description format: 'html' is not a Moodle text format number (0 Moodle auto-format, 1 HTML, 2 plain text, 4 Markdown)",
      "line 16, Parent ID number: 'SSR-X' names no competency in the file; it is the framework's: leave Parent ID number empty for a top-level competency",
      expect.stringMatching(/^line 17, ID number: .*100/), // the model's limit on a code, from its schema
      "line 18, Short name: a quote inside an unquoted cell on line 18; put the whole cell in double quotes and double the quotes inside it",
      "line 19, Cross-referenced competency ID numbers: 'HR-10' is the competency itself",
      "line 20, Is framework: 'yes' is neither 1 (the framework row) nor empty (a competency)",
    ]);
  });

  it("names the missing and unknown columns of the header", () => {
    const header = `${MOODLE_COLUMNS.filter((c) => c !== "Short name" && c !== "Is framework")
      .map(cell)
      .join(",")},Sort order`;
    const { message, lines } = problems(`${header}\n,A,1,,,,,,,,,,\n`);
    expect(message).toBe("the Moodle CSV is invalid: 3 problems");
    expect(lines).toEqual([
      expect.stringMatching(
        /^line 1, column 13: 'Sort order' is not a column of Moodle's framework export \(expected: Parent ID number, ID number, Short name, /,
      ),
      "line 1, Short name: the header has no 'Short name' column",
      "line 1, Is framework: the header has no 'Is framework' column",
    ]);
  });

  it("names a repeated column, an empty file, a file without a framework row", () => {
    expect(problems(`${HEADER},Taxonomy\n`).lines).toEqual([
      "line 1, column 15: 'Taxonomy' repeats the column 'Taxonomy'",
    ]);
    expect(problems("\uFEFF\r\n\r\n").lines).toEqual([expect.stringMatching(/^line 1, header: the file is empty/)]);
    expect(problems(`${HEADER}\n${row({ "ID number": "A", "Short name": "A" })}\n`).lines).toEqual([
      "line 1, Is framework: no row has Is framework = 1; Moodle's export describes the framework in the row after the header",
    ]);
  });

  it("names a quote never closed by the line where its record starts", () => {
    const text = csv(
      row({ "ID number": "A", "Short name": "A" }),
      `,B,"Never closed,,1,,,,0,null,,3,,`,
      row({ "ID number": "C", "Short name": "C" }),
    );
    expect(problems(text).lines).toEqual(["line 4, Short name: the quoted cell opened on line 4 is never closed"]);
  });

  it("names a competency that is its own parent and a cell that is not Unicode text", () => {
    const text = csv(
      row({ "Parent ID number": "A", "ID number": "A", "Short name": "A" }),
      row({ "ID number": "B", "Short name": "B\uD800" }),
    );
    expect(problems(text).lines).toEqual([
      "line 3, Parent ID number: 'A' is its own parent",
      "line 4, Short name: holds an unpaired UTF-16 surrogate: not Unicode text",
    ]);
  });

  it("lists and counts every problem (the API bounds what it sends)", () => {
    const rows = Array.from({ length: 300 }, () => row({ "ID number": "SAME", "Short name": "Same" }));
    const error = (() => {
      try {
        return parseMoodleCsv(csv(...rows), { now: NOW });
      } catch (e) {
        return e;
      }
    })();
    expect(isConcordatError(error) && error.violations.length).toBe(299);
    expect(isConcordatError(error) && error.message).toBe("the Moodle CSV is invalid: 299 problems");
  });

  it("refuses invalid options", () => {
    expect(() => parseMoodleCsv(SSR, { now: "yesterday", language: "not a tag" })).toThrow(
      expect.objectContaining({
        code: ErrorCode.InvalidArgument,
        violations: [
          { field: "options.now", description: "'yesterday' is not an ISO 8601 time" },
          { field: "options.language", description: "'not a tag' is not a BCP 47 language tag" },
        ],
      }),
    );
  });
});
