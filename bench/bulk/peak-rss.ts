/**
 * Preloaded into a CLI process by bulk.import (`node --import …/peak-rss.js`): when the process
 * exits, writes its peak resident memory (getrusage's ru_maxrss, in KiB) and CPU time (µs) to
 * $CONCORDAT_BENCH_RSS_FILE as JSON: {"maxRssKb", "userUs", "systemUs"}. Without the variable it
 * does nothing.
 */
import { writeFileSync } from "node:fs";

const FILE = process.env.CONCORDAT_BENCH_RSS_FILE;
if (FILE) {
  process.on("exit", () => {
    try {
      const usage = process.resourceUsage();
      writeFileSync(
        FILE,
        `${JSON.stringify({ maxRssKb: usage.maxRSS, userUs: usage.userCPUTime, systemUs: usage.systemCPUTime })}\n`,
      );
    } catch {
      // nowhere to report to
    }
  });
}
