import type * as A from "@automerge/automerge";
import countries from "i18n-iso-countries";
import type { Logger } from "pino";
import { z } from "zod";
import { DocumentType, type OwnedDocuments, type OwnedDocumentSpec } from "../documents/index.js";
import { failedPrecondition, invalidArgument, notFound, type FieldViolation } from "../errors.js";
import { encodeRecord } from "./content.js";
import type { CoreRelease, CoreSource } from "./core.js";
import { diffContent, type FieldChange } from "./diff.js";
import {
  identifierSchema,
  langMapSchema,
  lineLangMapSchema,
  moduleSchema,
  schemeSchema,
  violationsOf,
  type AccreditationScheme,
  type CoreContent,
  type CoreItem,
  type CoreModule,
  type LangMap,
} from "./model.js";
import { textOf } from "../documents/index.js";
import { quote, textRule, TextKind } from "../text.js";

export const CURRICULUM_KEY = "curriculum";

/**
 * A hub's curriculum: the core release it adopted, its adaptations of core items and modules (each
 * pinned to the release it was made against), its local modules, and its job mappings. Owned and
 * signed by the hub like its roster, so the secretariat and auditors read it as of a checkpoint.
 */
export function curriculumSpec(): OwnedDocumentSpec {
  return {
    key: CURRICULUM_KEY,
    type: DocumentType.Curriculum,
    replicated: true,
    initial: { adoption: null, adaptations: {}, localModules: {}, mappings: {}, schemes: {} },
  };
}

export interface Adoption {
  version: string;
  adoptedAt: string;
  adoptedBy: string;
}

export interface Scenario {
  language: string;
  title: string;
  text: string;
}

export interface Adaptation {
  id: string;
  target: { kind: "item" | "module"; id: string };
  /** The core release it was made against (or last confirmed against). */
  baseRelease: string;
  /** Item statement, by language: translations and national wording. */
  statement?: LangMap;
  /** Module title, by language. */
  title?: LangMap;
  scenarios: Scenario[];
  /** National legal references, e.g. "Kenya, National Police Service Act 2011, s. 61". */
  legalReferences: string[];
  /** Module duration at this hub. */
  durationMinutes?: number;
  notes?: string;
  updatedAt: string;
  updatedBy: string;
}

export const RELEVANCE = ["essential", "optional"] as const;

export interface JobMapping {
  id: string;
  jobTitle: LangMap;
  /** ISO 3166-1 alpha-2. */
  country: string;
  /** ESCO occupation URI, e.g. http://data.europa.eu/esco/occupation/… */
  escoUri?: string;
  /** ISCO-08 unit group (4 digits), e.g. 5412 (police officers). */
  iscoCode?: string;
  /** Career step, 1 = entry. */
  careerStep?: number;
  competencies: Array<{ id: string; relevance: (typeof RELEVANCE)[number] }>;
  updatedAt: string;
  updatedBy: string;
}

const line = (max: number) => z.string().trim().min(1).max(max).superRefine(textRule(TextKind.Line));
const scenarioSchema = z
  .object({
    language: z.string().min(2).max(35).superRefine(textRule(TextKind.Line)),
    title: line(500),
    text: z.string().trim().min(1).max(20_000).superRefine(textRule(TextKind.Multiline)),
  })
  .strict();
export const adaptationInputSchema = z
  .object({
    id: identifierSchema,
    target: z.object({ kind: z.enum(["item", "module"]), id: identifierSchema }).strict(),
    baseRelease: z.string().max(20).superRefine(textRule(TextKind.Line)).optional(),
    statement: langMapSchema.optional(),
    title: lineLangMapSchema.optional(),
    scenarios: z.array(scenarioSchema).max(100).default([]),
    legalReferences: z.array(line(1000)).max(100).default([]),
    durationMinutes: z.number().int().min(1).max(100_000).optional(),
    notes: z.string().max(20_000).superRefine(textRule(TextKind.Multiline)).optional(),
  })
  .strict();
export type AdaptationInput = z.input<typeof adaptationInputSchema>;

export const mappingInputSchema = z
  .object({
    id: identifierSchema,
    jobTitle: lineLangMapSchema,
    country: z
      .string()
      .refine(
        (c) => countries.isValid(c) && c.length === 2 && c === c.toUpperCase(),
        "is not an ISO 3166-1 alpha-2 code",
      ),
    escoUri: z
      .string()
      .regex(
        /^http:\/\/data\.europa\.eu\/esco\/occupation\/[0-9a-f-]{36}$/,
        "is not an ESCO occupation URI (http://data.europa.eu/esco/occupation/<uuid>)",
      )
      .optional(),
    iscoCode: z
      .string()
      .regex(/^\d{4}$/, "is not an ISCO-08 unit group code (4 digits)")
      .optional(),
    careerStep: z.number().int().min(1).max(20).optional(),
    competencies: z
      .array(z.object({ id: identifierSchema, relevance: z.enum(RELEVANCE) }).strict())
      .min(1)
      .max(500),
  })
  .strict();
export type MappingInput = z.input<typeof mappingInputSchema>;

interface CurriculumDoc {
  adoption?: A.ImmutableString | null;
  adaptations: Record<string, A.ImmutableString>;
  localModules: Record<string, A.ImmutableString>;
  mappings: Record<string, A.ImmutableString>;
  /** The hub's own accreditation schemes (ids `HUB.ID`): it alone accredits them. */
  schemes?: Record<string, A.ImmutableString>;
}

function parseMap<T>(map: Record<string, unknown> | undefined): T[] {
  const out: T[] = [];
  for (const raw of Object.values(map ?? {})) {
    try {
      out.push(JSON.parse(textOf(raw) ?? "") as T);
    } catch {
      // only this hub writes its curriculum; a record that does not parse is skipped by readers
    }
  }
  return out;
}

export interface CurriculumContent {
  adoption: Adoption | undefined;
  adaptations: Adaptation[];
  localModules: CoreModule[];
  mappings: JobMapping[];
  schemes: AccreditationScheme[];
}

/** Reads a curriculum document (the hub's authoring copy, or a verified view of another hub's). */
export function readCurriculum(doc: unknown): CurriculumContent {
  const d = (doc ?? {}) as Partial<CurriculumDoc>;
  let adoption: Adoption | undefined;
  try {
    const parsed = JSON.parse(textOf(d.adoption) ?? "null") as Adoption | null;
    adoption = parsed && typeof parsed.version === "string" ? parsed : undefined;
  } catch {
    adoption = undefined;
  }
  return {
    adoption,
    adaptations: parseMap<Adaptation>(d.adaptations)
      .filter(
        (a) =>
          typeof a?.id === "string" &&
          typeof a.baseRelease === "string" &&
          (a.target?.kind === "item" || a.target?.kind === "module") &&
          typeof a.target.id === "string",
      )
      .sort((a, b) => a.id.localeCompare(b.id)),
    localModules: parseMap<CoreModule>(d.localModules).sort((a, b) => a.id.localeCompare(b.id)),
    mappings: parseMap<JobMapping>(d.mappings).sort((a, b) => a.id.localeCompare(b.id)),
    schemes: parseMap<AccreditationScheme>(d.schemes)
      .filter((s) => typeof s?.id === "string")
      .sort((a, b) => a.id.localeCompare(b.id)),
  };
}

/** One adaptation's standing against a release: what changed in its base record since it was made. */
export interface ImpactEntry {
  adaptation: string;
  target: Adaptation["target"];
  code: string;
  baseRelease: string;
  release: string;
  /** `changed`: the base record changed (needs review); `removed`: it is gone; `unchanged`. */
  status: "changed" | "removed" | "unchanged";
  changes: FieldChange[];
}

function targetOf(content: CoreContent, target: Adaptation["target"]): CoreItem | CoreModule | undefined {
  return target.kind === "item"
    ? content.items.find((i) => i.identifier === target.id)
    : content.modules.find((m) => m.id === target.id);
}

/**
 * For each adaptation, what changed in its base record between the release it is pinned to and
 * `release`: an adaptation whose base changed needs review until it is re-based or confirmed.
 */
export async function impactOf(
  adaptations: readonly Adaptation[],
  core: CoreSource,
  release: string,
): Promise<ImpactEntry[]> {
  const to = await core.content(release);
  if (!to) throw notFound(`no verified release ${release} of the core here`);
  const bases = new Map<string, CoreContent | undefined>();
  const entries: ImpactEntry[] = [];
  for (const a of adaptations) {
    if (!bases.has(a.baseRelease)) bases.set(a.baseRelease, await core.content(a.baseRelease));
    const from = bases.get(a.baseRelease);
    const before = from ? targetOf(from, a.target) : undefined;
    const after = targetOf(to, a.target);
    // Bookkeeping (node/core/diff.ts: lastChangeDateTime, uris, …) alone never needs review.
    const changes = a.baseRelease === release ? [] : diffContent(before, after);
    const status = !after ? "removed" : changes.length > 0 ? "changed" : "unchanged";
    entries.push({
      adaptation: a.id,
      target: a.target,
      code: ((after ?? before) as { code?: string } | undefined)?.code ?? "",
      baseRelease: a.baseRelease,
      release,
      status,
      changes,
    });
  }
  return entries;
}

export interface EffectiveItem extends CoreItem {
  adaptation?: {
    id: string;
    baseRelease: string;
    scenarios: Scenario[];
    legalReferences: string[];
    needsReview: boolean;
  };
}

export interface EffectiveModule extends CoreModule {
  origin: "core" | "local";
  adaptation?: {
    id: string;
    baseRelease: string;
    scenarios: Scenario[];
    legalReferences: string[];
    needsReview: boolean;
  };
}

/** What a stored write to the curriculum did, and to which record (a release's version when adopted). */
export interface CurriculumChange {
  action:
    | "adopted"
    | "adaptation-changed"
    | "adaptation-confirmed"
    | "adaptation-removed"
    | "module-changed"
    | "module-removed"
    | "scheme-changed"
    | "scheme-removed"
    | "mapping-changed"
    | "mapping-removed";
  subject: string;
}

const RECORD_OF = {
  adaptations: "adaptation",
  localModules: "module",
  schemes: "scheme",
  mappings: "mapping",
} as const;

export interface EffectiveCurriculum {
  release: string | undefined;
  /** The newest verified release (to adopt after reviewing `core impact`). */
  latest: string | undefined;
  items: EffectiveItem[];
  modules: EffectiveModule[];
  needsReview: number;
}

/**
 * The hub's own curriculum: adoption, adaptations, local modules and job mappings, written through
 * its authoring copy like every owned document; reads of the core go through `core` (the
 * verified releases at a hub, the secretariat's own at the secretariat).
 */
export class Curriculum {
  readonly #documents: OwnedDocuments;
  readonly #core: CoreSource;
  readonly #log: Logger;

  readonly #hubId: string;
  readonly #listeners = new Set<(change: CurriculumChange) => void>();

  constructor(components: { hubId: string; documents: OwnedDocuments; core: CoreSource; logger: Logger }) {
    this.#hubId = components.hubId;
    this.#documents = components.documents;
    this.#core = components.core;
    this.#log = components.logger;
  }

  /** Calls `listener` after every stored write to the curriculum. Returns the unsubscribe. */
  onChange(listener: (change: CurriculumChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(change: CurriculumChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (error) {
        this.#log.error({ err: error }, "curriculum listener failed");
      }
    }
  }

  current(): CurriculumContent {
    return readCurriculum(this.#documents.get(CURRICULUM_KEY));
  }

  async #release(version: string): Promise<{ release: CoreRelease; content: CoreContent }> {
    const releases = await this.#core.releases();
    const release = releases.find((r) => r.version === version);
    const content = release ? await this.#core.content(version) : undefined;
    if (!release || !content) {
      throw notFound(
        `no verified release ${version} of the core here (known: ${releases.map((r) => r.version).join(", ") || "none yet"})`,
      );
    }
    return { release, content };
  }

  async #adopted(): Promise<{ adoption: Adoption; content: CoreContent }> {
    const adoption = this.current().adoption;
    if (!adoption)
      throw failedPrecondition("this hub has adopted no release of the core yet: `concordat core adopt VERSION`");
    return { adoption, content: (await this.#release(adoption.version)).content };
  }

  async adopt(operatorId: string, version: string): Promise<Adoption> {
    await this.#release(version);
    const adoption: Adoption = { version, adoptedAt: new Date().toISOString(), adoptedBy: operatorId };
    await this.#documents.transact({ operatorId, action: "core.adopt", subjects: [version] }, () => ({
      edits: [{ key: CURRICULUM_KEY, subject: version, change: (doc) => void (doc.adoption = encodeRecord(adoption)) }],
      result: undefined,
    }));
    this.#log.info({ version }, "adopted a core release");
    this.#changed({ action: "adopted", subject: version });
    return adoption;
  }

  /** Adds or replaces an adaptation; its base release defaults to the adopted one (a re-base). */
  async adapt(operatorId: string, input: unknown): Promise<Adaptation> {
    const parsed = adaptationInputSchema.safeParse(input);
    if (!parsed.success) throw invalidArgument(violationsOf(parsed.error, "adaptation"));
    const { adoption, content } = await this.#adopted();
    const value = parsed.data;
    const base = value.baseRelease ?? adoption.version;
    const baseContent = base === adoption.version ? content : (await this.#release(base)).content;
    const violations: FieldViolation[] = [];
    const target = targetOf(baseContent, value.target);
    if (!target)
      violations.push({
        field: "adaptation.target.id",
        description: `no ${value.target.kind} '${value.target.id}' in release ${base}`,
      });
    if (value.target.kind === "item" && (value.title || value.durationMinutes !== undefined)) {
      violations.push({
        field: "adaptation",
        description:
          "an item's adaptation has a statement, scenarios and legal references; title and duration belong to modules",
      });
    }
    if (value.target.kind === "module" && value.statement)
      violations.push({
        field: "adaptation.statement",
        description: "a module's adaptation has a title, not a statement",
      });
    const clash = this.current().adaptations.find(
      (a) => a.id !== value.id && a.target.kind === value.target.kind && a.target.id === value.target.id,
    );
    if (clash) violations.push({ field: "adaptation.target", description: `already adapted by '${clash.id}'` });
    if (violations.length > 0) throw invalidArgument(violations);
    const adaptation: Adaptation = {
      id: value.id,
      target: value.target,
      baseRelease: base,
      ...(value.statement ? { statement: value.statement } : {}),
      ...(value.title ? { title: value.title } : {}),
      scenarios: value.scenarios,
      legalReferences: value.legalReferences,
      ...(value.durationMinutes !== undefined ? { durationMinutes: value.durationMinutes } : {}),
      ...(value.notes ? { notes: value.notes } : {}),
      updatedAt: new Date().toISOString(),
      updatedBy: operatorId,
    };
    await this.#put(operatorId, "adaptations", "core.adapt", adaptation.id, adaptation);
    return adaptation;
  }

  /** The operator has reviewed an adaptation against `version` (default: the adopted release): it is pinned there. */
  async confirm(operatorId: string, id: string, version?: string): Promise<Adaptation> {
    const existing = this.current().adaptations.find((a) => a.id === id);
    if (!existing) throw notFound(`no adaptation ${quote(id)}`);
    const adopted = (await this.#adopted()).adoption.version;
    const release = version ?? adopted;
    // A review counts against the release the hub follows: a newer one is adopted first.
    const order = (await this.#core.releases()).map((r) => r.version);
    const newest = order.at(-1);
    if (order.indexOf(release) > order.indexOf(adopted)) {
      throw failedPrecondition(
        `this hub follows release ${adopted}: adopt release ${release} first (\`concordat core adopt ${release}\`), then confirm adaptation '${id}' against it`,
      );
    }
    if (version === undefined && newest !== undefined && newest !== adopted && existing.baseRelease === adopted) {
      throw failedPrecondition(
        `adaptation '${id}' is already pinned to release ${adopted}, the one this hub follows; to confirm it against release ${newest}, adopt that release first (\`concordat core adopt ${newest}\`), then run \`concordat curriculum confirm ${id}\` again`,
      );
    }
    const { content } = await this.#release(release);
    if (!targetOf(content, existing.target)) {
      throw failedPrecondition(
        `${existing.target.kind} '${existing.target.id}' is not in release ${release}: remove or re-target the adaptation`,
      );
    }
    const confirmed: Adaptation = {
      ...existing,
      baseRelease: release,
      updatedAt: new Date().toISOString(),
      updatedBy: operatorId,
    };
    await this.#put(operatorId, "adaptations", "core.adaptation.confirm", id, confirmed);
    return confirmed;
  }

  async putLocalModule(operatorId: string, input: unknown): Promise<CoreModule> {
    const parsed = moduleSchema.safeParse(input);
    if (!parsed.success) throw invalidArgument(violationsOf(parsed.error, "module"));
    const { content } = await this.#adopted();
    const module = parsed.data as CoreModule;
    if (content.modules.some((m) => m.id === module.id))
      throw invalidArgument([{ field: "module.id", description: `'${module.id}' is a core module; adapt it instead` }]);
    const items = new Set(content.items.map((i) => i.identifier));
    const violations = module.competencies.flatMap((c, i) =>
      items.has(c)
        ? []
        : [{ field: `module.competencies[${i}]`, description: `'${c}' is not an item of the adopted release` }],
    );
    if (violations.length > 0) throw invalidArgument(violations);
    await this.#put(operatorId, "localModules", "core.local-module.put", module.id, module);
    return module;
  }

  /** Adds or replaces one of the hub's own accreditation schemes (id `HUB.ID`, aligned to the adopted release). */
  async putScheme(operatorId: string, input: unknown): Promise<AccreditationScheme> {
    const parsed = schemeSchema.safeParse(input);
    if (!parsed.success) throw invalidArgument(violationsOf(parsed.error, "scheme"));
    const scheme = parsed.data as AccreditationScheme;
    if (!scheme.id.startsWith(`${this.#hubId}.`)) {
      throw invalidArgument([
        {
          field: "scheme.id",
          description: `a hub's own scheme is named '${this.#hubId}.<id>' (core schemes are the secretariat's)`,
        },
      ]);
    }
    const { content } = await this.#adopted();
    const items = new Set(content.items.map((i) => i.identifier));
    const violations = scheme.competencies.flatMap((c, i) =>
      items.has(c)
        ? []
        : [{ field: `scheme.competencies[${i}]`, description: `'${c}' is not an item of the adopted release` }],
    );
    if (violations.length > 0) throw invalidArgument(violations);
    await this.#put(operatorId, "schemes", "scheme.put", scheme.id, scheme);
    return scheme;
  }

  async putMapping(operatorId: string, input: unknown): Promise<JobMapping> {
    const parsed = mappingInputSchema.safeParse(input);
    if (!parsed.success) throw invalidArgument(violationsOf(parsed.error, "mapping"));
    const { content } = await this.#adopted();
    const items = new Set(content.items.map((i) => i.identifier));
    const violations = parsed.data.competencies.flatMap((c, i) =>
      items.has(c.id)
        ? []
        : [{ field: `mapping.competencies[${i}].id`, description: `'${c.id}' is not an item of the adopted release` }],
    );
    if (violations.length > 0) throw invalidArgument(violations);
    const mapping: JobMapping = { ...parsed.data, updatedAt: new Date().toISOString(), updatedBy: operatorId };
    await this.#put(operatorId, "mappings", "mapping.put", mapping.id, mapping);
    return mapping;
  }

  async remove(
    operatorId: string,
    map: "adaptations" | "localModules" | "mappings" | "schemes",
    id: string,
  ): Promise<void> {
    await this.#documents.transact({ operatorId, action: `curriculum.${map}.remove`, subjects: [id] }, () => {
      const doc = this.#documents.get<CurriculumDoc>(CURRICULUM_KEY);
      if (!Object.hasOwn(doc[map] ?? {}, id))
        throw notFound(`no ${map === "localModules" ? "local module" : map.slice(0, -1)} ${quote(id)}`);
      return {
        edits: [
          { key: CURRICULUM_KEY, subject: id, change: (d) => void delete (d[map] as Record<string, unknown>)[id] },
        ],
        result: undefined,
      };
    });
    this.#changed({ action: `${RECORD_OF[map]}-removed`, subject: id });
  }

  async #put(
    operatorId: string,
    map: keyof typeof RECORD_OF,
    action: string,
    id: string,
    record: unknown,
  ): Promise<void> {
    await this.#documents.transact({ operatorId, action, subjects: [id] }, () => ({
      edits: [
        {
          key: CURRICULUM_KEY,
          subject: id,
          change: (doc) => {
            doc[map] ??= {}; // documents made before this map existed
            (doc[map] as Record<string, unknown>)[id] = encodeRecord(record);
          },
        },
      ],
      result: undefined,
    }));
    this.#changed({
      action: action === "core.adaptation.confirm" ? "adaptation-confirmed" : `${RECORD_OF[map]}-changed`,
      subject: id,
    });
  }

  /** The impact of release `version` (default: the newest verified) on this hub's adaptations. */
  async impact(version?: string): Promise<ImpactEntry[]> {
    const release = version ?? (await this.#core.releases()).at(-1)?.version;
    if (!release) throw notFound("no verified release of the core here yet");
    return impactOf(this.current().adaptations, this.#core, release);
  }

  /** The adopted release with this hub's adaptations applied, plus its local modules. */
  async effective(): Promise<EffectiveCurriculum> {
    const curriculum = this.current();
    const latest = (await this.#core.releases()).at(-1)?.version;
    if (!curriculum.adoption)
      return {
        release: undefined,
        latest,
        items: [],
        modules: curriculum.localModules.map((m) => ({ ...m, origin: "local" })),
        needsReview: 0,
      };
    const { content } = await this.#adopted();
    const impact = new Map(
      (await impactOf(curriculum.adaptations, this.#core, curriculum.adoption.version)).map((e) => [e.adaptation, e]),
    );
    const byTarget = new Map(curriculum.adaptations.map((a) => [`${a.target.kind}:${a.target.id}`, a]));
    const note = (a: Adaptation) => ({
      id: a.id,
      baseRelease: a.baseRelease,
      scenarios: a.scenarios,
      legalReferences: a.legalReferences,
      needsReview: impact.get(a.id)?.status !== "unchanged",
    });
    const items: EffectiveItem[] = content.items.map((item) => {
      const a = byTarget.get(`item:${item.identifier}`);
      return a ? { ...item, statement: { ...item.statement, ...(a.statement ?? {}) }, adaptation: note(a) } : item;
    });
    const modules: EffectiveModule[] = [
      ...content.modules.map((m): EffectiveModule => {
        const a = byTarget.get(`module:${m.id}`);
        if (!a) return { ...m, origin: "core" };
        return {
          ...m,
          title: { ...m.title, ...(a.title ?? {}) },
          durationMinutes: a.durationMinutes ?? m.durationMinutes,
          origin: "core",
          adaptation: note(a),
        };
      }),
      ...curriculum.localModules.map((m): EffectiveModule => ({ ...m, origin: "local" })),
    ];
    const needsReview = [...impact.values()].filter((e) => e.status !== "unchanged").length;
    return { release: curriculum.adoption.version, latest, items, modules, needsReview };
  }
}
