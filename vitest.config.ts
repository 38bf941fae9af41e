import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";
import { defineConfig } from "vitest/config";

/**
 * The longest files, started first. Without timings from an earlier run (a clean clone, as in CI)
 * vitest starts the largest files first, and the walkthrough's file is small though it runs for
 * minutes: started last, it ran alone at the end of the run while the other worker sat idle.
 */
const LONGEST_FIRST = [
  "test/readme/walkthrough.test.ts",
  "test/bookings/no-double-booking.test.ts",
  "test/cli/binary.test.ts",
  "test/authority/no-false-alarms.test.ts",
  "test/admission/rogue-member.test.ts",
];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (file: TestSpecification): number => {
      const at = LONGEST_FIRST.indexOf(relative(file.project.config.root, file.moduleId).replaceAll("\\", "/"));
      return at === -1 ? LONGEST_FIRST.length : at;
    };
    // a stable sort: the rest keep vitest's own order
    return sorted
      .map((file, index) => ({ file, index }))
      .sort((a, b) => rank(a.file) - rank(b.file) || a.index - b.index)
      .map(({ file }) => file);
  }
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst },
    // config/default.yaml gives the web console port 7480: nodes started by tests take a free one.
    env: { CONCORDAT_CONSOLE_PORT: "0" },
    // In CI, also write machine-readable results; .ci/run prints their totals as a plain line.
    reporters: process.env.CI ? ["default", ["json", { outputFile: ".tmp/vitest-results.json" }]] : ["default"],
  },
});
