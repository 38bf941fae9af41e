import { describe, expect, it } from "vitest";
import { apiRange } from "../../cli/date-flags.js";
import { formatRange } from "../../cli/day-ranges.js";
import { CliError } from "../../cli/errors.js";
import { formatTrainerFile, parseTrainerFile, trainerFromFields } from "../../cli/trainer-files.js";

describe("day ranges on the command line (docs/cli.md)", () => {
  it("plain dates are whole UTC days, the last one included; instants are kept", () => {
    expect(apiRange("2027-03-01", "2027-03-05")).toEqual({
      from: "2027-03-01T00:00:00.000Z",
      to: "2027-03-06T00:00:00.000Z",
    });
    expect(apiRange("2027-03-05", "2027-03-05")).toEqual({
      from: "2027-03-05T00:00:00.000Z",
      to: "2027-03-06T00:00:00.000Z",
    });
    expect(apiRange("2027-02-28", "2027-02-28").to).toBe("2027-03-01T00:00:00.000Z");
    expect(apiRange("2027-03-01T09:00:00Z", "2027-03-01T17:00:00Z")).toEqual({
      from: "2027-03-01T09:00:00Z",
      to: "2027-03-01T17:00:00Z",
    });
    expect(apiRange("2027-03-01", "2027-03-01T12:00:00+02:00")).toEqual({
      from: "2027-03-01T00:00:00.000Z",
      to: "2027-03-01T12:00:00+02:00",
    });
  });

  it("refuses impossible dates, times without a zone and ranges the wrong way round, naming the flag", () => {
    expect(() => apiRange("2027-02-30", "2027-03-01")).toThrow(/--from: '2027-02-30' is neither a date/);
    expect(() => apiRange("2027-03-01", "2027-03-01T09:00")).toThrow(/--to: '2027-03-01T09:00'/);
    expect(() => apiRange("2027-03-05", "2027-03-04")).toThrow(CliError);
    expect(() => apiRange("2027-03-05", "2027-03-04")).toThrow(/--to \(2027-03-04\) is before --from \(2027-03-05\)/);
  });

  it("prints whole days as first – last day, anything else as instants", () => {
    expect(formatRange("2027-03-01T00:00:00.000Z", "2027-03-06T00:00:00.000Z")).toBe("2027-03-01 – 2027-03-05");
    expect(formatRange("2027-03-01T00:00:00Z", "2027-03-02T00:00:00Z")).toBe("2027-03-01 – 2027-03-01");
    expect(formatRange("2027-03-20", "2027-03-24")).toBe("2027-03-20 – 2027-03-23");
    expect(formatRange("2027-03-01T09:00:00Z", "2027-03-01T17:00:00Z")).toBe(
      "2027-03-01T09:00:00Z – 2027-03-01T17:00:00Z",
    );
  });

  it("a blackout of plain dates in a flag or a file includes its last day, and is written back the same way", () => {
    const { trainer, errors } = trainerFromFields({
      id: "T-1",
      display_name: "A",
      blackouts: "2027-03-20/2027-03-23",
      availability: "2027-01-01T00:00:00Z/2027-07-01T00:00:00Z",
    });
    expect(errors).toEqual([]);
    expect(trainer.blackouts).toEqual([{ start: "2027-03-20", end: "2027-03-24" }]);
    expect(trainer.availability).toEqual([{ start: "2027-01-01T00:00:00Z", end: "2027-07-01T00:00:00Z" }]);
    for (const format of ["csv", "json"] as const) {
      const text = formatTrainerFile([trainer], format);
      expect(text).toContain(format === "csv" ? "2027-03-20/2027-03-23" : '"end": "2027-03-23"');
      expect(parseTrainerFile(text, format).rows[0]?.trainer.blackouts).toEqual([
        { start: "2027-03-20", end: "2027-03-24" },
      ]);
    }
  });
});
