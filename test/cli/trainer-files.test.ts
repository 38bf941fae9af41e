import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  CSV_COLUMNS,
  formatFromPath,
  formatTrainerFile,
  parseTrainerFile,
  type TrainerFileFormat,
} from "../../cli/trainer-files.js";
import { Trainer, type TrainerPrivate } from "../../node/api/generated/concordat/v1/trainers.js";

// ---------------------------------------------------------------------------------------
// generators

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A string over [A-Za-z0-9] plus `extra`. */
function code(extra: string, minLength = 1, maxLength = 12): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...(ALNUM + extra)), minLength, maxLength });
}

// ids and codes: the realistic alphabet [A-Za-z0-9._:-] minus the separators of their cell
const idArb = code("._:-");
const languagePartArb = code("._-"); // no ':' (tag:LEVEL) and no ';'
const regionArb = code("._:-"); // no ';'
const accreditationRequiredArb = code("._:-/"); // no '|' or ';'; '/' and ':' are fine here
const accreditationOptionalArb = code("._:-/ ", 0); // may be empty; spaces at the ends are trimmed
const intervalEndArb = code("._:-"); // no '/' or ';'

/** Arbitrary Unicode text, biased towards characters that matter to CSV, JSON and the cell syntax. */
const textArb = fc.string({
  unit: fc.oneof(
    {
      arbitrary: fc.constantFrom(
        ",",
        '"',
        "\n",
        "\r\n",
        "\r",
        ";",
        "|",
        "/",
        ":",
        " ",
        "\t",
        "\u00a0",
        "\ufeff",
        "\\",
        "{",
        "[",
      ),
      weight: 2,
    },
    { arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 }), weight: 2 },
    { arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), weight: 1 },
  ),
  maxLength: 30,
});

const rangeArb = fc.record({ start: intervalEndArb, end: intervalEndArb });

const privateArb: fc.Arbitrary<TrainerPrivate | undefined> = fc.option(
  fc.record({
    email: fc.oneof(code("@.+-_", 0), textArb),
    phone: code("+ -()", 0),
    nationalId: code("-/", 0),
    notes: textArb,
  }),
  { nil: undefined },
);

const trainerArb: fc.Arbitrary<Trainer> = fc.record({
  id: idArb,
  displayName: textArb,
  homeHub: code("._:-", 0),
  languages: fc.array(fc.record({ tag: languagePartArb, level: languagePartArb }), { maxLength: 4 }),
  regions: fc.array(regionArb, { maxLength: 4 }),
  accreditations: fc.array(
    fc.record({
      scheme: accreditationRequiredArb,
      competency: accreditationRequiredArb,
      level: accreditationOptionalArb,
      validFrom: accreditationOptionalArb,
      validUntil: accreditationOptionalArb,
      status: accreditationOptionalArb,
    }),
    { maxLength: 3 },
  ),
  availability: fc.array(rangeArb, { maxLength: 3 }),
  blackouts: fc.array(rangeArb, { maxLength: 3 }),
  private: privateArb,
  updatedAt: fc.oneof(
    fc.constant(""),
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  ),
  updatedBy: code("-", 0),
});

/** What a trainer looks like after export and import: trimmed, node-set fields dropped. */
function normalised(t: Trainer, includePrivate: boolean): Trainer {
  let priv: TrainerPrivate | undefined;
  if (includePrivate && t.private) {
    priv = {
      email: t.private.email.trim(),
      phone: t.private.phone.trim(),
      nationalId: t.private.nationalId.trim(),
      notes: t.private.notes.trim(),
    };
    if (!priv.email && !priv.phone && !priv.nationalId && !priv.notes) priv = undefined;
  }
  return {
    id: t.id.trim(),
    displayName: t.displayName.trim(),
    homeHub: t.homeHub.trim(),
    languages: t.languages.map((l) => ({ tag: l.tag.trim(), level: l.level.trim() })),
    regions: t.regions.map((r) => r.trim()),
    accreditations: t.accreditations.map((a) => ({
      scheme: a.scheme.trim(),
      competency: a.competency.trim(),
      level: a.level.trim(),
      validFrom: a.validFrom.trim(),
      validUntil: a.validUntil.trim(),
      status: a.status.trim(),
    })),
    availability: t.availability.map((r) => ({ start: r.start.trim(), end: r.end.trim() })),
    blackouts: t.blackouts.map((r) => ({ start: r.start.trim(), end: r.end.trim() })),
    private: priv,
    updatedAt: "",
    updatedBy: "",
  };
}

function physicalLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

// ---------------------------------------------------------------------------------------

describe("formatFromPath", () => {
  it("recognises .csv and .json in any case", () => {
    expect(formatFromPath("trainers.csv")).toBe("csv");
    expect(formatFromPath("/tmp/x/Trainers.CSV")).toBe("csv");
    expect(formatFromPath("out.Json")).toBe("json");
    expect(formatFromPath("C:\\data\\t.json")).toBe("json");
  });
  it("returns undefined otherwise", () => {
    expect(formatFromPath("trainers.xlsx")).toBeUndefined();
    expect(formatFromPath("trainers")).toBeUndefined();
    expect(formatFromPath("csv")).toBeUndefined();
    expect(formatFromPath("dir.csv/file")).toBeUndefined();
  });
});

describe("round trip", () => {
  for (const format of ["csv", "json"] as const satisfies readonly TrainerFileFormat[]) {
    it(`parse(format(x)) = x for ${format}`, () => {
      fc.assert(
        fc.property(fc.array(trainerArb, { maxLength: 6 }), (trainers) => {
          const text = formatTrainerFile(trainers, format, { includePrivate: true });
          const { rows, errors } = parseTrainerFile(text, format);
          expect(errors).toEqual([]);
          expect(rows.map((r) => r.trainer)).toEqual(trainers.map((t) => normalised(t, true)));

          const lines = physicalLines(text);
          rows.forEach((row, i) => {
            if (i > 0) expect(row.line).toBeGreaterThan(rows[i - 1]!.line);
            // the reported line is where the record starts
            if (format === "json") expect(lines[row.line - 1]).toBe("  {");
            else expect(lines[row.line - 1]?.startsWith(`${row.trainer.id},`)).toBe(true);
          });
          if (rows.length > 0) expect(rows[0]!.line).toBe(2);
        }),
        { numRuns: 200 },
      );
    });
  }

  it("is stable: format(parse(format(x))) = format(x)", () => {
    fc.assert(
      fc.property(
        fc.array(trainerArb, { maxLength: 4 }),
        fc.constantFrom<TrainerFileFormat>("csv", "json"),
        (trainers, format) => {
          const once = formatTrainerFile(trainers, format, { includePrivate: true });
          const again = formatTrainerFile(
            parseTrainerFile(once, format).rows.map((r) => r.trainer),
            format,
            { includePrivate: true },
          );
          expect(again).toBe(once);
        },
      ),
    );
  });

  it("CSV and JSON carry the same data", () => {
    fc.assert(
      fc.property(fc.array(trainerArb, { maxLength: 4 }), (trainers) => {
        const viaCsv = parseTrainerFile(formatTrainerFile(trainers, "csv", { includePrivate: true }), "csv");
        const viaJson = parseTrainerFile(formatTrainerFile(trainers, "json", { includePrivate: true }), "json");
        expect(viaCsv.rows.map((r) => r.trainer)).toEqual(viaJson.rows.map((r) => r.trainer));
      }),
    );
  });

  it("leaves out the private part unless includePrivate", () => {
    fc.assert(
      fc.property(
        fc.array(trainerArb, { maxLength: 4 }),
        fc.constantFrom<TrainerFileFormat>("csv", "json"),
        (trainers, format) => {
          const text = formatTrainerFile(trainers, format);
          const { rows, errors } = parseTrainerFile(text, format);
          expect(errors).toEqual([]);
          expect(rows.map((r) => r.trainer)).toEqual(trainers.map((t) => normalised(t, false)));
        },
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------

const alice = Trainer.create({
  id: "tr-001",
  displayName: "Amina Odhiambo",
  homeHub: "hub-nairobi",
  languages: [
    { tag: "en", level: "C2" },
    { tag: "sw", level: "C1" },
  ],
  regions: ["KE", "UG", "KE-30"],
  accreditations: [
    {
      scheme: "UN-CPTM",
      competency: "protection-of-civilians",
      level: "trainer",
      validFrom: "2024-03-01",
      validUntil: "2027-02-28",
      status: "active",
    },
  ],
  availability: [{ start: "2026-01-05T00:00:00Z", end: "2026-01-20T00:00:00Z" }],
  blackouts: [{ start: "2026-03-01T00:00:00Z", end: "2026-03-08T00:00:00Z" }],
  private: {
    email: "amina@example.org",
    phone: "+254 700 000000",
    nationalId: "",
    notes: 'Prefers "morning" sessions, no weekends',
  },
  updatedAt: "2025-11-02T10:00:00Z",
  updatedBy: "op-7",
});

describe("formatTrainerFile", () => {
  it("writes CSV with the documented header and cell syntax", () => {
    const text = formatTrainerFile([alice], "csv", { includePrivate: true });
    expect(text).toBe(
      `${CSV_COLUMNS.join(",")}\n` +
        "tr-001,Amina Odhiambo,hub-nairobi,en:C2;sw:C1,KE;UG;KE-30," +
        "UN-CPTM|protection-of-civilians|trainer|2024-03-01|2027-02-28|active," +
        "2026-01-05T00:00:00Z/2026-01-20T00:00:00Z,2026-03-01T00:00:00Z/2026-03-08T00:00:00Z," +
        'amina@example.org,+254 700 000000,,"Prefers ""morning"" sessions, no weekends"\n',
    );
  });

  it("omits the private columns and never writes updatedAt/updatedBy", () => {
    const csv = formatTrainerFile([alice], "csv");
    expect(csv.split("\n")[0]).toBe("id,display_name,home_hub,languages,regions,accreditations,availability,blackouts");
    expect(csv).not.toContain("amina@example.org");
    expect(csv).not.toContain("op-7");
    const json = formatTrainerFile([alice], "json");
    expect(json).not.toContain("private");
    expect(json).not.toContain("updated");
  });

  it("writes pretty-printed JSON with a trailing newline", () => {
    const json = formatTrainerFile([alice], "json", { includePrivate: true });
    expect(json.endsWith("}\n]\n")).toBe(true);
    expect(json.startsWith('[\n  {\n    "id": "tr-001",\n    "displayName": "Amina Odhiambo",\n')).toBe(true);
    const parsed = JSON.parse(json) as unknown[];
    expect(parsed).toHaveLength(1);
    expect(Object.keys(parsed[0] as object)).toEqual([
      "id",
      "displayName",
      "homeHub",
      "languages",
      "regions",
      "accreditations",
      "availability",
      "blackouts",
      "private",
    ]);
  });

  it("writes empty files for no trainers", () => {
    expect(formatTrainerFile([], "json")).toBe("[]\n");
    expect(formatTrainerFile([], "csv", { includePrivate: true })).toBe(`${CSV_COLUMNS.join(",")}\n`);
  });

  it("refuses CSV values that would not read back the same", () => {
    const bad = Trainer.create({
      id: "x",
      displayName: "X",
      regions: ["KE;UG"],
      languages: [{ tag: "en", level: "" }],
    });
    expect(() => formatTrainerFile([bad], "csv")).toThrow(
      /languages\[0\]\.level is empty[\s\S]*regions\[0\] "KE;UG" contains ";"/,
    );
    // JSON has no such limits
    expect(parseTrainerFile(formatTrainerFile([bad], "json"), "json").rows[0]?.trainer.regions).toEqual(["KE;UG"]);
  });
});

// ---------------------------------------------------------------------------------------

describe("parseTrainerFile: CSV", () => {
  it("reads the example, columns in any order and any case, values trimmed", () => {
    const text =
      "Display_Name , ID,languages,regions,notes\n" +
      ' Amina Odhiambo ,tr-001 , en:C2 ; sw : C1 ;, KE ;UG;;KE-30 ,"  call first "\n';
    const { rows, errors } = parseTrainerFile(text, "csv");
    expect(errors).toEqual([]);
    expect(rows).toEqual([
      {
        line: 2,
        trainer: Trainer.create({
          id: "tr-001",
          displayName: "Amina Odhiambo",
          languages: [
            { tag: "en", level: "C2" },
            { tag: "sw", level: "C1" },
          ],
          regions: ["KE", "UG", "KE-30"],
          private: { email: "", phone: "", nationalId: "", notes: "call first" },
        }),
      },
    ]);
  });

  it("passes semantically invalid values through verbatim for the node to reject", () => {
    const text =
      "id,display_name,languages,regions,accreditations,availability\n" +
      "a,A,xx-NOT-A-TAG:Z9,ZZ-999,s|c|||2020-01-01|bogus,2026-02-01/2026-01-01\n" +
      "a,,,,,\n";
    const { rows, errors } = parseTrainerFile(text, "csv");
    expect(errors).toEqual([]);
    expect(rows[0]?.trainer).toMatchObject({
      languages: [{ tag: "xx-NOT-A-TAG", level: "Z9" }],
      regions: ["ZZ-999"],
      accreditations: [
        { scheme: "s", competency: "c", level: "", validFrom: "", validUntil: "2020-01-01", status: "bogus" },
      ],
      availability: [{ start: "2026-02-01", end: "2026-01-01" }],
      private: undefined,
    });
    // duplicate ids and an empty display name are the node's business too
    expect(rows[1]).toMatchObject({ line: 3, trainer: { id: "a", displayName: "" } });
  });

  it("reports every bad row with the line it starts on, also after multi-line cells", () => {
    const text = [
      "id,display_name,languages,accreditations,availability,notes", // 1
      't1,"Amina', // 2  (record spans 2-4)
      'Odhiambo",en:C1,,,"first', // 3
      'second"', // 4
      "t2,Bad Language,en,,,", // 5  bad
      "", // 6  blank line
      't3,"Multi', // 7  (record spans 7-8) bad accreditation
      'line",,UN|PoC|basic|2024-01-01|active,,', // 8
      "t4,Fine,fr-CA:B2,,,", // 9
      't5,"Bad ""interval""",,,2026-01-05T00:00:00Z,', // 10 bad
      "t6,Last,,,,", // 11
    ].join("\n");
    const { rows, errors } = parseTrainerFile(text, "csv");
    expect(rows.map((r) => [r.line, r.trainer.id])).toEqual([
      [2, "t1"],
      [9, "t4"],
      [11, "t6"],
    ]);
    expect(rows[0]?.trainer.displayName).toBe("Amina\nOdhiambo");
    expect(rows[0]?.trainer.private?.notes).toBe("first\nsecond");
    expect(errors).toEqual([
      { line: 5, field: "languages", message: expect.stringContaining('"en"') },
      { line: 7, field: "accreditations", message: expect.stringMatching(/has 5 .*parts, expected 6/) },
      { line: 10, field: "availability", message: expect.stringContaining("start/end") },
    ]);
  });

  it("gets line numbers right with CRLF and CR line ends", () => {
    for (const eol of ["\r\n", "\r"]) {
      const text = ["id,display_name,languages", `a,"x${eol}y${eol}z",`, "b,B,bad", "c,C,"].join(eol) + eol;
      const { rows, errors } = parseTrainerFile(text, "csv");
      expect(rows.map((r) => [r.line, r.trainer.id])).toEqual([
        [2, "a"],
        [6, "c"],
      ]);
      expect(rows[0]?.trainer.displayName).toBe(`x${eol}y${eol}z`);
      expect(errors).toEqual([{ line: 5, field: "languages", message: expect.any(String) }]);
    }
  });

  it("reports a malformed accreditation (5 parts) and an empty scheme", () => {
    const text = "id,display_name,accreditations\n" + "a,A,UN|PoC|basic|2024-01-01|2026-01-01;|PoC|||| \n";
    const { rows, errors } = parseTrainerFile(text, "csv");
    expect(rows).toEqual([]);
    expect(errors).toEqual([
      {
        line: 2,
        field: "accreditations",
        message:
          'item 1 "UN|PoC|basic|2024-01-01|2026-01-01" has 5 "|"-separated parts, expected 6: scheme|competency|level|validFrom|validUntil|status',
      },
      { line: 2, field: "accreditations", message: 'item 2 "|PoC||||" has an empty scheme' },
    ]);
  });

  it("reports a missing required column", () => {
    const { rows, errors } = parseTrainerFile("display_name,regions\nAmina,KE\n", "csv");
    expect(rows).toEqual([]);
    expect(errors).toEqual([{ line: 1, field: "id", message: 'missing required column "id"' }]);
  });

  it("reports unknown and duplicate columns, and still checks the rows", () => {
    const text = "id,display_name,displayName,emial,regions,id\na,A,x,y,KE,a\nb,B,x,y,KE\n";
    const { rows, errors } = parseTrainerFile(text, "csv");
    expect(rows).toEqual([]);
    expect(errors).toEqual([
      {
        line: 1,
        field: "displayName",
        message: expect.stringMatching(/^unknown column "displayname"; did you mean "display_name"\?/),
      },
      { line: 1, field: "emial", message: expect.stringContaining('unknown column "emial"') },
      { line: 1, field: "id", message: 'duplicate column "id"' },
      { line: 3, field: "", message: "the record has 5 cells but the header has 6 columns" },
    ]);
  });

  it("hints at the delimiter when the file uses semicolons", () => {
    const { errors } = parseTrainerFile("id;display_name\na;A\n", "csv");
    expect(errors[0]?.message).toContain("columns must be separated by ','");
  });

  it("reports quote errors and keeps reading", () => {
    const text = 'id,display_name\na,Amina "Ami" O\nb,"Bob" Smith\nc,Carol\nd,"never closed\ne,E\n';
    const { rows, errors } = parseTrainerFile(text, "csv");
    expect(rows.map((r) => [r.line, r.trainer.id])).toEqual([[4, "c"]]);
    expect(errors).toEqual([
      { line: 2, field: "display_name", message: expect.stringContaining("a quote inside an unquoted cell") },
      { line: 3, field: "display_name", message: expect.stringContaining("after the closing quote") },
      { line: 5, field: "display_name", message: "the quoted cell opened on line 5 is never closed" },
    ]);
  });

  it("strips a UTF-8 BOM", () => {
    const { rows, errors } = parseTrainerFile("\uFEFFid,display_name\na,A\n", "csv");
    expect(errors).toEqual([]);
    expect(rows).toEqual([{ line: 2, trainer: Trainer.create({ id: "a", displayName: "A" }) }]);
  });

  it("gives no rows and no errors for empty input", () => {
    for (const text of ["", "\uFEFF", "\n\n", "id,display_name\n", "id,display_name", "id,display_name\n\n,\n"]) {
      expect(parseTrainerFile(text, "csv")).toEqual({ rows: [], errors: [] });
    }
  });
});

// ---------------------------------------------------------------------------------------

describe("parseTrainerFile: JSON", () => {
  it("reads trainers with their lines, ignoring updatedAt/updatedBy and defaulting arrays", () => {
    const text = `[
  {"id": " a ", "displayName": "A", "updatedAt": "2025-01-01T00:00:00Z", "updatedBy": "op"},
  {
    "id": "b", "displayName": "B", "regions": ["KE"], "private": null
  },
  {"id": "c", "displayName": "C", "private": {"email": "", "notes": ""}}, {"id": "d", "displayName": "D", "private": {"phone": "1"}}
]`;
    const { rows, errors } = parseTrainerFile(text, "json");
    expect(errors).toEqual([]);
    expect(rows).toEqual([
      { line: 2, trainer: Trainer.create({ id: "a", displayName: "A" }) },
      { line: 3, trainer: Trainer.create({ id: "b", displayName: "B", regions: ["KE"] }) },
      { line: 6, trainer: Trainer.create({ id: "c", displayName: "C" }) },
      { line: 6, trainer: Trainer.create({ id: "d", displayName: "D", private: { phone: "1" } }) },
    ]);
  });

  it("reports a syntax error with its line", () => {
    const text = '[\n  {"id": "a", "displayName": "A"},\n  {"id": "b" "displayName": "B"}\n]\n';
    const { rows, errors } = parseTrainerFile(text, "json");
    expect(rows).toEqual([]);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toEqual({ line: 3, field: "", message: "JSON syntax error: ',' was expected" });
  });

  it("reports trailing commas and comments as syntax errors", () => {
    expect(parseTrainerFile('[\n  {"id": "a", "displayName": "A"},\n]', "json").errors[0]?.line).toBe(3);
    expect(parseTrainerFile("// trainers\n[]", "json").errors[0]).toMatchObject({
      line: 1,
      message: expect.stringContaining("comment"),
    });
  });

  it("reports wrong types, unknown keys and missing fields with the element's line", () => {
    const text = `[
  {"id": "ok", "displayName": "Fine"},
  {
    "id": 42,
    "displayName": "Typed",
    "languages": [{"tag": "en", "level": 2}, "fr"],
    "regions": "KE",
    "display_name": "x"
  },
  "tr-003",
  {"displayName": "No id", "private": {"email": "a@b", "nationalID": "1"}, "blackouts": [{"start": "a", "end": null}]}
]`;
    const { rows, errors } = parseTrainerFile(text, "json");
    expect(rows.map((r) => [r.line, r.trainer.id])).toEqual([[2, "ok"]]);
    expect(errors).toEqual([
      { line: 3, field: "display_name", message: 'unknown field "display_name"; did you mean "displayName"?' },
      { line: 3, field: "id", message: "expected a string, got a number" },
      { line: 3, field: "languages[0].level", message: "expected a string, got a number" },
      { line: 3, field: "languages[1]", message: "expected an object with tag, level, got a string" },
      { line: 3, field: "regions", message: "expected an array, got a string" },
      { line: 10, field: "", message: "element 3 of the array must be a trainer object, not a string" },
      { line: 11, field: "id", message: 'missing required field "id"' },
      {
        line: 11,
        field: "private.nationalID",
        message: 'unknown field "nationalID" (expected: email, phone, nationalId, notes)',
      },
      { line: 11, field: "blackouts[0].end", message: "expected a string, got a null" },
    ]);
  });

  it("reports a top level that is not an array", () => {
    expect(parseTrainerFile('\n{"id": "a", "displayName": "A"}', "json")).toEqual({
      rows: [],
      errors: [{ line: 2, field: "", message: "the file must contain a JSON array of trainer objects, not an object" }],
    });
  });

  it("reports duplicate keys", () => {
    const { errors } = parseTrainerFile('[{"id": "a", "displayName": "A", "id": "b"}]', "json");
    expect(errors).toEqual([{ line: 1, field: "id", message: 'duplicate key "id"' }]);
  });

  it("strips a UTF-8 BOM", () => {
    const { rows, errors } = parseTrainerFile('\uFEFF[{"id": "a", "displayName": "A"}]', "json");
    expect(errors).toEqual([]);
    expect(rows).toEqual([{ line: 1, trainer: Trainer.create({ id: "a", displayName: "A" }) }]);
  });

  it("gives no rows and no errors for empty input", () => {
    for (const text of ["", "\uFEFF", "  \n", "[]", "[\n]\n"]) {
      expect(parseTrainerFile(text, "json")).toEqual({ rows: [], errors: [] });
    }
  });
});

// ---------------------------------------------------------------------------------------

describe("docs/trainer-files.md", () => {
  const doc = readFileSync(new URL("../../docs/trainer-files.md", import.meta.url), "utf8");
  const block = (lang: string) => {
    const m = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(doc);
    if (!m?.[1]) throw new Error(`no ${lang} example in the doc`);
    return m[1];
  };

  it("has CSV and JSON examples that parse to the same trainers", () => {
    const csv = parseTrainerFile(block("csv"), "csv");
    const json = parseTrainerFile(block("json"), "json");
    expect(csv.errors).toEqual([]);
    expect(json.errors).toEqual([]);
    expect(csv.rows.map((r) => r.line)).toEqual([2, 3]);
    expect(csv.rows).toHaveLength(2);
    expect(csv.rows.map((r) => r.trainer)).toEqual(json.rows.map((r) => r.trainer));
  });

  it("shows the CSV exactly as export writes it", () => {
    const trainers = parseTrainerFile(block("csv"), "csv").rows.map((r) => r.trainer);
    expect(formatTrainerFile(trainers, "csv", { includePrivate: true })).toBe(block("csv"));
  });
});
