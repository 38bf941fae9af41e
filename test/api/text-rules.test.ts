import { describe, expect, it } from "vitest";
import {
  Checker,
  clip,
  forbiddenCharacter,
  quote,
  showJson,
  showText,
  TextKind,
  textProblem,
  textViolationsIn,
} from "../../node/text.js";

/** The text rule every validator shares (node/text.ts), and how text from elsewhere is shown. */

const NEVER = [
  "\u0000",
  "\u0007",
  "\u0008",
  "\u000b",
  "\u000c",
  "\u001b",
  "\u007f",
  "\u0080",
  "\u0085",
  "\u009b",
  "\u009f",
  "\u202a",
  "\u202b",
  "\u202c",
  "\u202d",
  "\u202e",
  "\u2066",
  "\u2067",
  "\u2068",
  "\u2069",
];
const LINE_ONLY = ["\t", "\n", "\r", "\u2028", "\u2029", "\u200e", "\u200f", "\u061c"];

describe("the text rule", () => {
  it("refuses C0 controls, DEL, C1 controls and bidirectional overrides and isolates in any text", () => {
    for (const c of NEVER) {
      for (const kind of [TextKind.Line, TextKind.Multiline]) {
        expect(forbiddenCharacter(`a${c}b`, kind), `${JSON.stringify(c)} in ${kind}`).toEqual({
          codePoint: c.charCodeAt(0),
          index: 1,
        });
      }
    }
  });

  it("refuses tabs, line ends and direction marks in one-line text only", () => {
    for (const c of LINE_ONLY) {
      expect(forbiddenCharacter(`a${c}b`, TextKind.Line), JSON.stringify(c)).toBeDefined();
      expect(forbiddenCharacter(`a${c}b`, TextKind.Multiline), JSON.stringify(c)).toBeUndefined();
    }
  });

  it("accepts the world's scripts, emoji and the characters people type", () => {
    for (const text of [
      "Amina Odhiambo",
      "Égalité des genres",
      "الحوكمة والرقابة",
      "Защита гражданских лиц",
      "保护平民",
      "👩🏽‍⚖️ \u{1F54A}",
      'O\'Brien – "quoted" & <tags>',
      "\u00a0no-break\u00ad",
    ]) {
      expect(forbiddenCharacter(text, TextKind.Line), text).toBeUndefined();
    }
  });

  it("names the character as U+XXXX and never repeats the value", () => {
    expect(textProblem("x\u001b]0;pwned\u0007", TextKind.Line)).toBe(
      "contains U+001B (a control character), which no text may hold",
    );
    expect(textProblem("x\u202ey", TextKind.Multiline)).toBe(
      "contains U+202E (a bidirectional override or isolate), which no text may hold",
    );
    expect(textProblem("two\nlines", TextKind.Line)).toBe(
      "contains U+000A (a line break), which this one-line field may not hold",
    );
    expect(textProblem("Ali\u200f", TextKind.Line)).toBe(
      "contains U+200F (an invisible direction mark), which this one-line field may not hold",
    );
    expect(textProblem("two\nlines\tand a tab\r\n", TextKind.Multiline)).toBeUndefined();
  });

  it("checks every string and key of a decoded value, naming the path, and stops at the limit", () => {
    const value = {
      trainer: { displayName: "A\u001bB", languages: [{ tag: "en", level: "C\u00851" }] },
      part: { $case: "rows", value: { note: "\u202e" } },
      "k\u0007": 1,
    };
    const violations = textViolationsIn(value, "", TextKind.Multiline, {
      name: (k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      oneofs: true,
    });
    expect(violations.map((v) => v.field)).toEqual([
      "trainer.display_name",
      "trainer.languages[0].level",
      "rows.note",
      "(a key)",
    ]);
    expect(
      textViolationsIn(
        Array.from({ length: 100 }, () => "\u0000"),
        "list",
        TextKind.Multiline,
        { limit: 5 },
      ),
    ).toHaveLength(5);
    // binary fields are not text
    expect(textViolationsIn({ content: new Uint8Array([0x1b, 0x00]) }, "")).toEqual([]);
    // deep nesting cannot exhaust the stack
    let deep: unknown = "\u001b";
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(textViolationsIn(deep, "x")).toHaveLength(1);
  });

  it("the checker trims, bounds and checks one-line text by default", () => {
    const c = new Checker();
    expect(c.text("name", "  Amina  ", { max: 10 })).toBe("Amina");
    c.text("title", "a\tb", { max: 10 });
    c.text("notes", "a\tb\nc", { max: 10, kind: TextKind.Multiline });
    c.text("big", "x".repeat(11), { max: 10 });
    c.text("needed", " ", { max: 10, required: true });
    expect(c.violations).toEqual([
      { field: "title", description: "contains U+0009 (a tab), which this one-line field may not hold" },
      { field: "big", description: "is 11 characters long; at most 10 allowed" },
      { field: "needed", description: "is required" },
    ]);
  });
});

describe("showing text from elsewhere", () => {
  it("shows controls, escapes and bidirectional characters as visible escapes, and keeps tabs and line ends", () => {
    expect(showText("\u001b]0;owned\u0007\u001b[2J")).toBe("\\x1b]0;owned\\x07\\x1b[2J");
    expect(showText("abc\u202edef\u2066\u0000\u009b\u007f")).toBe("abc\\u202edef\\u2066\\x00\\x9b\\x7f");
    expect(showText("line one\r\nline two\tend\n")).toBe("line one\r\nline two\tend\n");
    expect(showText("over\rwritten")).toBe("over\\x0dwritten");
    expect(showText("ordinary text, الحوكمة")).toBe("ordinary text, الحوكمة");
  });

  it("JSON keeps its value: DEL, C1 and bidirectional controls become \\uXXXX escapes", () => {
    const value = { name: "a\u202eb\u0085c\u007fd\u001be" };
    const json = showJson(JSON.stringify(value));
    expect(json).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(JSON.parse(json)).toEqual(value);
  });

  it("quotes at most 40 characters of a value, then …, shown safely, never half a surrogate pair", () => {
    expect(quote("short")).toBe("'short'");
    expect(quote("x".repeat(200_000))).toBe(`'${"x".repeat(40)}…'`);
    expect(quote("\u001b".repeat(100))).toBe(`'${"\\x1b".repeat(40)}…'`);
    const emoji = "\u{1F54A}".repeat(50);
    expect(quote(emoji)).toBe(`'${"\u{1F54A}".repeat(40)}…'`);
    expect(clip("\u{1F54A}".repeat(3), 3)).toBe("\u{1F54A}…");
  });
});
