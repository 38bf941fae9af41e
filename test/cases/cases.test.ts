import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fieldViolations } from "../../node/api/index.js";
import { casesImportCommand, casesSearchCommand, casesShowCommand } from "../../cli/commands/cases.js";
import { CliError } from "../../cli/errors.js";
import { startFederationWith, waitUntil, type FederationNode, type StartedFederation } from "../helpers/federation.js";
import { releaseCore } from "../helpers/core.js";
import { makeTempDir } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });
const SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

const file = (front: Record<string, unknown>, body: string) =>
  `---\n${Object.entries(front)
    .map(([k, v]) => `${k}: ${typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v)}`)
    .join("\n")}\n---\n${body}\n`;

const CASES: Record<string, string> = {
  "uof-en.md": file(
    {
      kind: "case-study",
      title: "Use of force in pre-trial detention",
      summary: "De-escalation halved incidents.",
      language: "en",
      country: "KE",
      region: "East Africa",
      competencies: ["hr-1"],
      tags: ["detention", "de-escalation"],
      review: "peer-reviewed",
      visibility: "public",
      evidence: [{ url: "https://example.org/report.pdf", sha256: SHA, label: "Evaluation report" }],
    },
    "## What happened\n\nGuards trained in **de-escalation**.",
  ),
  "uof-fr.md": file(
    {
      kind: "best-practice",
      title: "Recours proportionné à la force en détention",
      language: "fr",
      country: "SN",
      competencies: ["hr-1"],
      visibility: "public",
    },
    "La désescalade d'abord.",
  ),
  "uof-ar.md": file(
    { kind: "lesson-learned", title: "الاستخدام المتناسب للقوة في الاحتجاز", language: "ar", country: "JO" },
    "التدريب على تهدئة التوتر.",
  ),
  "uof-ru.md": file(
    { kind: "case-study", title: "Соразмерное применение силы при задержании", language: "ru", country: "KG" },
    "Обучение деэскалации.",
  ),
  "uof-zh.md": file(
    { kind: "evaluation-tool", title: "在拘留中相称地使用武力", language: "zh", country: "CN" },
    "降级培训。",
  ),
  "policing-en.md": file(
    {
      kind: "best-practice",
      title: "Community policing in informal settlements",
      language: "en",
      country: "KE",
      region: "East Africa",
      tags: ["community"],
    },
    "Joint patrols.",
  ),
};

/**
 * The case repository across real nodes: hub a imports a folder of Markdown cases in five
 * languages (all checked first: one bad file and nothing is written); hub b searches them as of a's
 * verified checkpoints, in each language, with filters; the secretariat's endorsement shows; an
 * update reaches b's index.
 */
describe("cases: a repository per hub, searched across the federation", () => {
  let fed: StartedFederation;
  let dir: string;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");
  const search = async (n: FederationNode, text: string, extra: Record<string, unknown> = {}) => {
    const io = memoryIo(true);
    await casesSearchCommand({ ...cli(n), text, ...extra }, io);
    return JSON.parse(io.out()) as {
      total: number;
      results: Array<{
        case: { hub: string; id: string; title: string; review: string };
        endorsement?: { by: string };
      }>;
    };
  };
  const ids = async (n: FederationNode, text: string, extra: Record<string, unknown> = {}) =>
    (await search(n, text, extra)).results.map((r) => `${r.case.hub}/${r.case.id}`);

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b"],
      [
        ["a", "s"],
        ["b", "s"],
        ["b", "a"],
      ],
    );
    await releaseCore(s(), {
      items: [
        ["hr", "Domain"],
        ["hr-1", "Competency"],
      ],
      childOf: [["hr-1", "hr"]],
    });
    await waitUntil(
      "b to verify the release",
      async () => (await b().node.running.coreSource.releases()).length === 1,
      15_000,
    );
    dir = await makeTempDir("concordat-cases-");
  }, 90_000);
  afterAll(async () => {
    await fed?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("an import with one bad file writes nothing and names every problem", async () => {
    const bad = join(dir, "bad");
    await mkdir(bad);
    await writeFile(join(bad, "ok.md"), CASES["uof-en.md"] as string);
    await writeFile(join(bad, "broken.md"), "---\ntitle: [unclosed\n---\nbody\n");
    await writeFile(join(bad, "plain.md"), "no front matter here");
    const error = await casesImportCommand({ ...cli(a()), dir: bad }, memoryIo()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).details.join("\n")).toMatch(/broken\.md: front matter line/);
    expect((error as CliError).details.join("\n")).toMatch(/plain\.md: does not start with YAML front matter/);
    // Parsed, but invalid: the node names each field, and writes nothing either.
    await rm(join(bad, "broken.md"));
    await rm(join(bad, "plain.md"));
    await writeFile(
      join(bad, "invalid.md"),
      file({ kind: "anecdote", title: "", language: "xx-!!", evidence: [{ url: "ftp://x", sha256: "abc" }] }, ""),
    );
    const invalid = (await casesImportCommand({ ...cli(a()), dir: bad }, memoryIo()).catch(
      (e: unknown) => e,
    )) as ServiceError;
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(fieldViolations(invalid).map((v) => v.field)).toEqual([
      "invalid.md.kind",
      "invalid.md.title",
      "invalid.md.language",
      "invalid.md.evidence[0].url",
      "invalid.md.evidence[0].sha256",
    ]);
    expect(a().node.running.cases.list()).toEqual([]);
  });

  it("imports a folder; every hub searches it in each language, as of a's checkpoints", async () => {
    const good = join(dir, "good");
    await mkdir(good);
    for (const [name, text] of Object.entries(CASES)) await writeFile(join(good, name), text);
    const dry = memoryIo();
    await casesImportCommand({ ...cli(a()), dir: good, dryRun: true }, dry);
    expect(dry.out()).toContain("Checked (nothing written) 6 case(s)");
    expect(a().node.running.cases.list()).toEqual([]);
    const io = memoryIo();
    await casesImportCommand({ ...cli(a()), dir: good }, io);
    expect(io.out()).toContain("6 new, 0 replaced");

    await waitUntil("b to index a's six cases", () => b().node.running.cases.indexed === 6, 20_000);
    expect((await ids(b(), "use of force detention"))[0]).toBe("hub-a/uof-en");
    expect(await ids(b(), "force détention", { lang: "fr" })).toEqual(["hub-a/uof-fr"]);
    expect((await ids(b(), "القوة في الاحتجاز"))[0]).toBe("hub-a/uof-ar");
    expect((await ids(b(), "применение силы"))[0]).toBe("hub-a/uof-ru");
    expect((await ids(b(), "使用武力"))[0]).toBe("hub-a/uof-zh");
    // Filters: a competency covers the cases of the competencies under it; region by code or name.
    expect((await ids(b(), "", { competency: "hr" })).sort()).toEqual(["hub-a/uof-en", "hub-a/uof-fr"]);
    expect((await ids(b(), "", { region: "East Africa" })).sort()).toEqual(["hub-a/policing-en", "hub-a/uof-en"]);
    expect(await ids(b(), "detention", { region: "KE", lang: "en" })).toEqual(["hub-a/uof-en"]);
    expect((await ids(b(), "", { public: true })).sort()).toEqual(["hub-a/uof-en", "hub-a/uof-fr"]);
  });

  it("shows the secretariat's endorsement, and follows a's updates", async () => {
    await s().node.running.cases.idle();
    await waitUntil("s to index a's cases", () => s().node.running.cases.indexed === 6, 20_000);
    await s().node.running.cases.endorse("op", "hub-a", "uof-en", "exemplary");
    await waitUntil(
      "b to see the endorsement",
      async () => (await search(b(), "use of force detention")).results[0]?.endorsement !== undefined,
      20_000,
    );

    const updated = join(dir, "updated");
    await mkdir(updated);
    await writeFile(
      join(updated, "policing-en.md"),
      file(
        {
          kind: "best-practice",
          title: "Neighbourhood forums and joint patrols",
          language: "en",
          review: "peer-reviewed",
        },
        "Joint patrols.",
      ),
    );
    await casesImportCommand({ ...cli(a()), dir: updated }, memoryIo());
    await waitUntil(
      "b to index the new title",
      async () => (await ids(b(), "neighbourhood forums"))[0] === "hub-a/policing-en",
      20_000,
    );
    expect(await ids(b(), "community policing informal settlements")).not.toContain("hub-a/policing-en");

    const show = memoryIo();
    await casesShowCommand({ ...cli(b()), ref: "hub-a/uof-en" }, show);
    expect(show.out()).toContain("endorsed by the secretariat");
    expect(show.out()).toContain("Guards trained in **de-escalation**.");
  });
});
