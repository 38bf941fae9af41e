import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { CLI_ENTRY } from "../helpers/process-node.js";
import { type ReadmeSection, readmeScript, readmeSections } from "./readme-script.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The sections a new user follows top to bottom, in this order, in one folder: the README's tour,
 * then forming a federation (the secretariat's guide), booking across it (the hub operator's), and
 * a quarter evaluated and audited (the evaluation guide), one proposal to the core from a hub to a
 * release (the feedback guide) and one joint annual plan, signed and set beside what was delivered
 * (the plans guide).
 * Each is found by its heading in its file, so moving a section means changing its file here.
 */
const WALKTHROUGH = [
  { file: "README.md", heading: "A five-minute walkthrough" },
  { file: "docs/secretariat.md", heading: "Forming a federation, step by step" },
  { file: "docs/hub-operator.md", heading: "Booking a trainer from another hub" },
  { file: "docs/evaluation.md", heading: "A period, step by step" },
  { file: "docs/feedback.md", heading: "One proposal, step by step" },
  { file: "docs/plans.md", heading: "One plan, step by step" },
] as const;

async function walkthroughSections(): Promise<ReadmeSection[]> {
  const sections: ReadmeSection[] = [];
  for (const { file, heading } of WALKTHROUGH) {
    sections.push(...readmeSections(await readFile(join(ROOT, file), "utf8"), [heading], file));
  }
  return sections;
}

describe("the README and the guides, run as a new user runs them", () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("has no placeholder and no command without a known exit code in the walkthrough", async () => {
    const sections = await walkthroughSections();
    for (const s of sections) expect(s.commands.length, `commands under '${s.heading}'`).toBeGreaterThan(0);
  });

  it(
    "runs the walkthrough, forming a federation and booking verbatim, with one set of data directories",
    async () => {
      const sections = await walkthroughSections();
      dir = await mkdtemp(join(tmpdir(), "concordat-readme-"));
      // "Leave `npm start` running in one terminal": the node of ./data, as `npm start` runs it.
      const script = readmeScript(sections, { node: process.execPath, entry: CLI_ENTRY }, [
        "concordat start --data ./data &",
      ]);
      await writeFile(join(dir, "walkthrough.sh"), script);
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("CONCORDAT_")) env[k] = v;
      const child = spawn("bash", ["walkthrough.sh"], {
        cwd: dir,
        env: { ...env, CONCORDAT_LOG_PRETTY: "false" },
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      const deadline = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 8 * 60_000);
      const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
      clearTimeout(deadline);
      // The nodes the README started in the background belong to the script's process group.
      await endGroup(child.pid!);
      const tail = out.split("\n").slice(-60).join("\n");
      expect(code, tail).toBe(0);
      expect(out).toContain("README walkthrough: every command as the documentation says");
      // Nairobi's answer to Kampala's request, as its confirm printed it.
      expect(out).toContain("Booking kampala-pa/kla-2027-014 — confirmed");
      // The quarter's report, verified from the secretariat's bundle.
      expect(out).toContain("Audit 2027-q1 (2027-01-01 – 2027-03-31, 2 per hub)");
      expect(out).toContain("CONFIRMED");
      // Nairobi's proposal, answered by the release, as Nairobi lists it.
      expect(out).toMatch(/nairobi-ptc\/hr-1-report .*released in 1\.1\.0/);
      // The federation's plan: mod-hr in Kenya planned by both hubs.
      expect(out).toContain("Overlaps (the same module for the same country): 1");
    },
    9 * 60_000,
  );
});

/** SIGTERM to a process group, then SIGKILL if it has not ended within 20 s. */
async function endGroup(pgid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(-pgid, "SIGTERM");
  const until = Date.now() + 20_000;
  while (alive() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(-pgid, "SIGKILL");
}
