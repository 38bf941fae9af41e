import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    // config/default.yaml gives the web console port 7480: nodes started by tests take a free one.
    env: { CONCORDAT_CONSOLE_PORT: "0" },
    // In CI, also write machine-readable results; .ci/run prints their totals as a plain line.
    reporters: process.env.CI ? ["default", ["json", { outputFile: ".tmp/vitest-results.json" }]] : ["default"],
  },
});
