import { describe, expect, it } from "vitest";
import { validateTrainer, type RawTrainerDraft } from "../../node/roster/index.js";

function draft(overrides: Partial<RawTrainerDraft> = {}): RawTrainerDraft {
  return {
    id: "T-1",
    displayName: "Amina Odhiambo",
    languages: [{ tag: "en", level: "C1" }],
    regions: ["KE"],
    accreditations: [
      {
        scheme: "unitar",
        competency: "dialogue",
        level: "2",
        validFrom: "2025-01-01",
        validUntil: "2027-01-01",
        status: "active",
      },
    ],
    availability: [{ start: "2026-03-01T00:00:00Z", end: "2026-04-01T00:00:00Z" }],
    blackouts: [],
    private: { email: "amina@example.org", phone: "+254 700 000000", nationalId: "12345678", notes: "" },
    ...overrides,
  };
}

const fields = (d: RawTrainerDraft, prefix?: string): string[] =>
  [...new Set(validateTrainer(d, prefix).violations.map((v) => v.field))].sort();

describe("validateTrainer", () => {
  it("accepts a valid draft without violations", () => {
    const { value, violations } = validateTrainer(draft());
    expect(violations).toEqual([]);
    expect(value).toEqual({
      id: "T-1",
      displayName: "Amina Odhiambo",
      languages: [{ tag: "en", level: "C1" }],
      regions: ["KE"],
      accreditations: [
        {
          scheme: "unitar",
          competency: "dialogue",
          level: "2",
          validFrom: "2025-01-01",
          validUntil: "2027-01-01",
          status: "active",
        },
      ],
      availability: [{ start: "2026-03-01T00:00:00.000Z", end: "2026-04-01T00:00:00.000Z" }],
      blackouts: [],
      private: { email: "amina@example.org", phone: "+254 700 000000", nationalId: "12345678", notes: "" },
    });
  });

  it("reports every problem at once, each with its field path", () => {
    const bad = draft({
      id: "bad id!",
      displayName: "   ",
      languages: [
        { tag: "en", level: "Z9" },
        { tag: "not a tag!", level: "B1" },
        { tag: "EN", level: "A1" },
      ],
      regions: ["XX", "ke", "KE", "KEN"],
      accreditations: [
        {
          scheme: "",
          competency: "bad code!",
          level: "",
          validFrom: "2027-01-01",
          validUntil: "2026-01-01",
          status: "expired",
        },
      ],
      availability: [
        { start: "2026-05-02", end: "2026-05-01" },
        { start: "", end: "tomorrow" },
      ],
      blackouts: [{ start: "2026-13-01", end: "2026-02-30" }],
      private: { email: "not-an-email", phone: "call me", nationalId: "", notes: "" },
    });
    expect(fields(bad)).toEqual(
      [
        "trainer.id",
        "trainer.display_name",
        "trainer.languages[0].level",
        "trainer.languages[1].tag",
        "trainer.languages[2].tag",
        "trainer.regions[0]",
        "trainer.regions[2]",
        "trainer.regions[3]",
        "trainer.accreditations[0].scheme",
        "trainer.accreditations[0].competency",
        "trainer.accreditations[0].valid_until",
        "trainer.accreditations[0].status",
        "trainer.availability[0]",
        "trainer.availability[1].start",
        "trainer.availability[1].end",
        "trainer.blackouts[0].start",
        "trainer.blackouts[0].end",
        "trainer.private.email",
        "trainer.private.phone",
      ].sort(),
    );
    for (const v of validateTrainer(bad).violations) expect(v.description.length).toBeGreaterThan(0);
  });

  it("uses the given prefix, or none (as imports do)", () => {
    const bad = draft({ languages: [{ tag: "en", level: "Z9" }], regions: ["XX"] });
    expect(fields(bad, "")).toEqual(["languages[0].level", "regions[0]"]);
    expect(fields(bad, "rows[3]")).toEqual(["rows[3].languages[0].level", "rows[3].regions[0]"]);
  });

  it("enforces the size limits", () => {
    const many = draft({
      id: "x".repeat(129),
      displayName: "n".repeat(201),
      languages: Array.from({ length: 21 }, (_, i) => ({ tag: `x-lang${String(i).padStart(3, "0")}`, level: "A1" })),
    });
    expect(fields(many)).toEqual(expect.arrayContaining(["trainer.id", "trainer.display_name", "trainer.languages"]));
  });

  it("a range must end after it starts (an empty range is refused)", () => {
    expect(fields(draft({ availability: [{ start: "2026-03-01", end: "2026-03-01" }] }))).toEqual([
      "trainer.availability[0]",
    ]);
    expect(fields(draft({ blackouts: [{ start: "2026-03-01T10:00:00+02:00", end: "2026-03-01T08:00:00Z" }] }))).toEqual(
      ["trainer.blackouts[0]"],
    );
    expect(fields(draft({ blackouts: [{ start: "2026-03-01T10:00:00+02:00", end: "2026-03-01T08:00:01Z" }] }))).toEqual(
      [],
    );
  });

  it("refuses dates that do not exist, in dates and in date-times", () => {
    expect(fields(draft({ blackouts: [{ start: "2026-02-29", end: "2026-03-05" }] }))).toEqual([
      "trainer.blackouts[0].start",
    ]);
    expect(fields(draft({ blackouts: [{ start: "2028-02-29", end: "2028-03-05" }] }))).toEqual([]);
    expect(fields(draft({ availability: [{ start: "2026-03-01T25:00:00Z", end: "2026-03-05T00:00:00Z" }] }))).toEqual([
      "trainer.availability[0].start",
    ]);
  });

  it("refuses date-times on days that do not exist instead of rolling them over", () => {
    // 30 February is not a day: a date-time on it must not silently become 2 March.
    expect(fields(draft({ availability: [{ start: "2026-02-30T09:00:00Z", end: "2026-03-05T00:00:00Z" }] }))).toEqual([
      "trainer.availability[0].start",
    ]);
    expect(
      fields(draft({ availability: [{ start: "2026-03-01T09:00:00Z", end: "2026-04-31T09:00:00+02:00" }] })),
    ).toEqual(["trainer.availability[0].end"]);
  });

  it("refuses a date-time without a zone", () => {
    expect(fields(draft({ availability: [{ start: "2026-03-01T09:00:00", end: "2026-03-05T00:00:00Z" }] }))).toEqual([
      "trainer.availability[0].start",
    ]);
  });
});

describe("normalisation", () => {
  it("a date-time with an offset becomes UTC ISO 8601; a date stays a date", () => {
    const { value, violations } = validateTrainer(
      draft({
        availability: [
          { start: "2026-03-01T12:00:00+03:00", end: "2026-03-01T18:30+0300" },
          { start: "2026-03-02T00:00:00.5-01:00", end: "2026-03-03" },
        ],
        blackouts: [{ start: " 2026-03-10 ", end: "2026-03-12" }],
      }),
    );
    expect(violations).toEqual([]);
    expect(value.availability).toEqual([
      { start: "2026-03-01T09:00:00.000Z", end: "2026-03-01T15:30:00.000Z" },
      { start: "2026-03-02T01:00:00.500Z", end: "2026-03-03" },
    ]);
    expect(value.blackouts).toEqual([{ start: "2026-03-10", end: "2026-03-12" }]);
  });

  it("canonicalises language tags and upper-cases CEFR levels", () => {
    const { value, violations } = validateTrainer(
      draft({
        languages: [
          { tag: "EN-gb", level: "b2" },
          { tag: "zh-hant-tw", level: " c1 " },
          { tag: " FR ", level: "a1" },
        ],
      }),
    );
    expect(violations).toEqual([]);
    expect(value.languages).toEqual([
      { tag: "en-GB", level: "B2" },
      { tag: "zh-Hant-TW", level: "C1" },
      { tag: "fr", level: "A1" },
    ]);
  });

  it("upper-cases regions and accepts ISO 3166-2 subdivisions", () => {
    const { value, violations } = validateTrainer(draft({ regions: ["ke", "ke-30", " ug "] }));
    expect(violations).toEqual([]);
    expect(value.regions).toEqual(["KE", "KE-30", "UG"]);
  });

  it("trims text, lower-cases statuses and defaults an empty status to active", () => {
    const { value, violations } = validateTrainer(
      draft({
        id: "  T-2 ",
        displayName: "  Name  ",
        accreditations: [
          { scheme: " unitar ", competency: "dialogue", level: "", validFrom: "", validUntil: "", status: "" },
          { scheme: "unitar", competency: "mediation", level: "3", validFrom: "", validUntil: "", status: "Suspended" },
        ],
      }),
    );
    expect(violations).toEqual([]);
    expect(value.id).toBe("T-2");
    expect(value.displayName).toBe("Name");
    expect(value.accreditations.map((a) => [a.scheme, a.status])).toEqual([
      ["unitar", "active"],
      ["unitar", "suspended"],
    ]);
  });

  it("drops an all-empty private part", () => {
    const { value, violations } = validateTrainer(
      draft({ private: { email: "", phone: "", nationalId: "", notes: "" } }),
    );
    expect(violations).toEqual([]);
    expect(value.private).toBeUndefined();
  });
});
