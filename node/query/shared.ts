import { cefrRank, type AvailabilityQuery, type TrainerRecord } from "./model.js";

/** Does a trainer serving `served` serve `asked`? A country covers its subdivisions and vice versa. */
export function servesRegion(served: string, asked: string): boolean {
  return served === asked || asked.startsWith(`${served}-`) || served.startsWith(`${asked}-`);
}

/** Language tags compare by primary subtag, case-insensitively (`fr` is `fr-CA`). */
export function primaryLanguage(tag: string): string {
  return (tag.split("-")[0] ?? "").toLowerCase();
}

/** The trainer's CEFR rank in the asked language (or its best, with none asked); -1 when it lacks it. */
export function proficiencyOf(record: TrainerRecord, query: AvailabilityQuery): number {
  if (!query.language) return Math.max(-1, ...record.languages.map((l) => cefrRank(l.level)));
  const asked = primaryLanguage(query.language.tag);
  return Math.max(
    -1,
    ...record.languages.filter((l) => primaryLanguage(l.tag) === asked).map((l) => cefrRank(l.level)),
  );
}
