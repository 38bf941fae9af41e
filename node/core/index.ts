export * from "./model.js";
export { competenciesNamed, withAncestors, type CompetencyTree } from "./competency-tree.js";
export {
  CoreAuthoring,
  coreSpec,
  CORE_KEY,
  type CoreRelease,
  type CoreSource,
  type CoreImport,
  type ImportSummary,
} from "./core.js";
export { VerifiedCoreReleases, coreIdOf, type ReleaseProblem } from "./releases.js";
export {
  Curriculum,
  curriculumSpec,
  type CurriculumChange,
  readCurriculum,
  impactOf,
  CURRICULUM_KEY,
  type Adaptation,
  type Adoption,
  type JobMapping,
  type ImpactEntry,
  type EffectiveCurriculum,
  type CurriculumContent,
} from "./curriculum.js";
export { diffCore, diffContent, diffFields, isBookkeeping, type RecordChange, type FieldChange } from "./diff.js";
export { readCore, canonicalJson } from "./content.js";
export { casePackageOf, parseCasePackage, prepareForCase, toCasePackage } from "./case.js";
export { parseMoodleCsv, toMoodleCsv, type MoodleExport } from "./moodle.js";
