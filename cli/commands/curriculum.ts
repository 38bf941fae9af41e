import type { EffectiveCurriculum, JobMapping } from "../../node/core/curriculum.js";
import { withConnection, type ConnectionOptions } from "../connection.js";
import { CliError, ExitCode } from "../errors.js";
import { printJson, printLine, printTable, type Io } from "../io.js";
import { langPairs, readInput } from "./core.js";

function firstText(map: Record<string, string> | undefined): string {
  return map ? (Object.values(map)[0] ?? "") : "";
}

/** `curriculum show`: the adopted release with this hub's adaptations, and its local modules. */
export async function curriculumShowCommand(options: ConnectionOptions, io: Io): Promise<void> {
  const result = await withConnection(options, (c) => c.core.showCurriculum({}));
  const parsed = JSON.parse(result.json) as { effective: EffectiveCurriculum; mappings: JobMapping[] };
  if (io.json) {
    printJson(io, parsed);
    return;
  }
  const e = parsed.effective;
  if (!e.release) printLine(io, "No core release adopted yet (`concordat core adopt VERSION`).");
  else
    printLine(
      io,
      `Curriculum on core ${e.release}: ${e.items.length} competencies, ${e.modules.length} modules; ${e.needsReview} adaptation(s) need review`,
    );
  if (e.latest && e.latest !== e.release)
    printLine(
      io,
      `Release ${e.latest} is available: see what it changes for this hub with \`concordat core impact\`, then \`concordat core adopt ${e.latest}\`.`,
    );
  const adapted = e.items.filter((i) => i.adaptation);
  if (adapted.length > 0) {
    printTable(
      io,
      ["adapted item", "statement (languages)", "legal references", "scenarios", "based on", "state"],
      adapted.map((i) => [
        i.code,
        Object.keys(i.statement).join(" "),
        String(i.adaptation?.legalReferences.length ?? 0),
        String(i.adaptation?.scenarios.length ?? 0),
        i.adaptation?.baseRelease ?? "",
        i.adaptation?.needsReview ? "NEEDS REVIEW" : "ok",
      ]),
    );
  }
  if (e.modules.length > 0) {
    printTable(
      io,
      ["module", "title", "origin", "minutes", "adapted"],
      e.modules.map((m) => [
        m.code || m.id,
        firstText(m.title),
        m.origin,
        String(m.durationMinutes),
        m.adaptation ? (m.adaptation.needsReview ? "yes, NEEDS REVIEW" : "yes") : "",
      ]),
    );
  }
}

/** `curriculum adapt`: an adaptation from flags (or a JSON file with --file). */
export async function curriculumAdaptCommand(
  options: ConnectionOptions & {
    id: string;
    item?: string;
    module?: string;
    file?: string;
    statement?: string[];
    title?: string[];
    legalRef?: string[];
    scenario?: string[];
    duration?: number;
    notes?: string;
    release?: string;
  },
  io: Io,
): Promise<void> {
  let adaptation: Record<string, unknown>;
  if (options.file) {
    adaptation = JSON.parse((await readInput(options.file)).toString("utf8")) as Record<string, unknown>;
  } else {
    if (!options.item === !options.module)
      throw new CliError("name what is adapted: --item ID or --module ID", ExitCode.Usage);
    const scenarios = (options.scenario ?? []).map((s) => {
      const m = /^([^=]+)=([^|]+)\|([\s\S]+)$/.exec(s);
      if (!m) throw new CliError(`--scenario '${s}' is not LANG=TITLE|TEXT`, ExitCode.Usage);
      return { language: m[1] as string, title: m[2] as string, text: m[3] as string };
    });
    adaptation = {
      id: options.id,
      target: options.item ? { kind: "item", id: options.item } : { kind: "module", id: options.module },
      ...(options.release ? { baseRelease: options.release } : {}),
      ...(langPairs(options.statement, "--statement")
        ? { statement: langPairs(options.statement, "--statement") }
        : {}),
      ...(langPairs(options.title, "--title") ? { title: langPairs(options.title, "--title") } : {}),
      scenarios,
      legalReferences: options.legalRef ?? [],
      ...(options.duration !== undefined ? { durationMinutes: options.duration } : {}),
      ...(options.notes ? { notes: options.notes } : {}),
    };
  }
  const result = await withConnection(options, (c) =>
    c.core.putCurriculumRecord({ kind: "adaptation", json: JSON.stringify(adaptation) }),
  );
  const saved = JSON.parse(result.json) as { id: string; baseRelease: string; target: { kind: string; id: string } };
  if (io.json) printJson(io, saved);
  else
    printLine(
      io,
      `Saved adaptation '${saved.id}' of ${saved.target.kind} ${saved.target.id}, pinned to core ${saved.baseRelease}`,
    );
}

export async function curriculumConfirmCommand(
  options: ConnectionOptions & { id: string; release?: string },
  io: Io,
): Promise<void> {
  const result = await withConnection(options, (c) =>
    c.core.confirmAdaptation({ id: options.id, release: options.release ?? "" }),
  );
  const saved = JSON.parse(result.json) as { id: string; baseRelease: string };
  if (io.json) printJson(io, saved);
  else printLine(io, `Adaptation '${saved.id}' reviewed: now pinned to core ${saved.baseRelease}`);
}

export async function curriculumRemoveCommand(
  options: ConnectionOptions & { kind: string; id: string },
  io: Io,
): Promise<void> {
  await withConnection(options, (c) => c.core.removeCurriculumRecord({ kind: options.kind, id: options.id }));
  if (io.json) printJson(io, { removed: options.id });
  else printLine(io, `Removed ${options.kind} '${options.id}'`);
}

/** `curriculum scheme FILE`: one of the hub's own accreditation schemes (id `HUB.ID`), which it alone accredits. */
export async function curriculumSchemeCommand(options: ConnectionOptions & { file: string }, io: Io): Promise<void> {
  const json = (await readInput(options.file)).toString("utf8");
  const result = await withConnection(options, (c) => c.core.putCurriculumRecord({ kind: "scheme", json }));
  const saved = JSON.parse(result.json) as { id: string; levels: string[] };
  if (io.json) printJson(io, saved);
  else printLine(io, `Saved this hub's accreditation scheme ${saved.id} (levels ${saved.levels.join(", ")})`);
}

export async function curriculumModuleCommand(options: ConnectionOptions & { file: string }, io: Io): Promise<void> {
  const json = (await readInput(options.file)).toString("utf8");
  const result = await withConnection(options, (c) => c.core.putCurriculumRecord({ kind: "local-module", json }));
  const saved = JSON.parse(result.json) as { id: string; code: string };
  if (io.json) printJson(io, saved);
  else printLine(io, `Saved local module ${saved.code || saved.id}`);
}

/** `mappings add`: a national job title mapped to ESCO / ISCO-08 and to competencies. */
export async function mappingsAddCommand(
  options: ConnectionOptions & {
    id: string;
    title: string[];
    country: string;
    esco?: string;
    isco?: string;
    careerStep?: number;
    competency: string[];
  },
  io: Io,
): Promise<void> {
  const competencies = options.competency.map((c) => {
    const [id, relevance = "essential"] = c.split(":");
    return { id, relevance };
  });
  const mapping = {
    id: options.id,
    jobTitle: langPairs(options.title, "--title"),
    country: options.country,
    ...(options.esco ? { escoUri: options.esco } : {}),
    ...(options.isco ? { iscoCode: options.isco } : {}),
    ...(options.careerStep !== undefined ? { careerStep: options.careerStep } : {}),
    competencies,
  };
  const result = await withConnection(options, (c) =>
    c.core.putCurriculumRecord({ kind: "mapping", json: JSON.stringify(mapping) }),
  );
  const saved = JSON.parse(result.json) as JobMapping;
  if (io.json) printJson(io, saved);
  else
    printLine(
      io,
      `Saved job mapping '${saved.id}' (${firstText(saved.jobTitle)}, ${saved.country}${saved.iscoCode ? `, ISCO-08 ${saved.iscoCode}` : ""}): ${saved.competencies.length} competencies`,
    );
}

export async function mappingsListCommand(options: ConnectionOptions, io: Io): Promise<void> {
  const result = await withConnection(options, (c) => c.core.showCurriculum({}));
  const { mappings } = JSON.parse(result.json) as { mappings: JobMapping[] };
  if (io.json) {
    printJson(io, mappings);
    return;
  }
  if (mappings.length === 0) {
    printLine(io, "No job mappings yet (`concordat mappings add`).");
    return;
  }
  printTable(
    io,
    ["id", "job title", "country", "ISCO-08", "ESCO occupation", "step", "essential", "optional"],
    mappings.map((m) => [
      m.id,
      firstText(m.jobTitle),
      m.country,
      m.iscoCode ?? "",
      m.escoUri ?? "",
      m.careerStep === undefined ? "" : String(m.careerStep),
      String(m.competencies.filter((c) => c.relevance === "essential").length),
      String(m.competencies.filter((c) => c.relevance === "optional").length),
    ]),
  );
}
