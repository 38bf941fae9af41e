import type { CoreContent, CurriculumContent } from "../core/index.js";

/**
 * Adaptations that recur across hubs, as candidates for the core (docs/feedback.md, "Candidates
 * for the core"). Hubs adapt a core item or module in a few ways; each is an *aspect*: the wording
 * in a language (`statement:fr`, `title:fr`), the duration, added scenarios. An aspect that at least
 * `minHubs` hubs adapted the same way on the same record is a candidate: `agreeing` counts the hubs
 * that share its most common value (wording compared without case and spacing; durations exactly;
 * scenarios by title), and `hubs` lists every hub's value, the others too. Legal references are
 * left out: they are national on purpose.
 */
export interface Candidate {
  target: { kind: "item" | "module"; id: string };
  aspect: string;
  /** The core's value in its latest release ("" when it has none). */
  core: string;
  hubs: Array<{ hub: string; adaptation: string; value: string }>;
  /** The most hubs that agree on one value, and that value. */
  agreeing: number;
  commonValue: string;
  /** Open or accepted proposals on the same record, `HUB/ID`. */
  proposals: string[];
}

const normal = (text: string) => text.toLowerCase().replace(/\s+/g, " ").trim();

function coreValue(core: CoreContent | undefined, target: Candidate["target"], aspect: string): string {
  if (!core) return "";
  const [field, language = ""] = aspect.split(":");
  if (target.kind === "item") {
    const item = core.items.find((i) => i.identifier === target.id);
    return field === "statement" ? (item?.statement[language] ?? "") : "";
  }
  const module = core.modules.find((m) => m.id === target.id);
  if (!module) return "";
  if (field === "title") return module.title[language] ?? "";
  if (field === "duration") return String(module.durationMinutes);
  return "";
}

export function candidatesIn(
  curricula: ReadonlyArray<{ hub: string; content: CurriculumContent }>,
  core: CoreContent | undefined,
  minHubs: number,
): Array<Omit<Candidate, "proposals">> {
  // target|aspect → per hub, the values it adapted that aspect to
  const groups = new Map<string, { target: Candidate["target"]; aspect: string; hubs: Candidate["hubs"] }>();
  const add = (hub: string, adaptation: string, target: Candidate["target"], aspect: string, value: string) => {
    const key = `${target.kind}|${target.id}|${aspect}`;
    const group = groups.get(key) ?? { target, aspect, hubs: [] };
    group.hubs.push({ hub, adaptation, value });
    groups.set(key, group);
  };
  for (const { hub, content } of curricula) {
    for (const a of content.adaptations) {
      const target = { kind: a.target.kind, id: a.target.id };
      for (const [language, text] of Object.entries(a.statement ?? {}))
        add(hub, a.id, target, `statement:${language}`, text);
      for (const [language, text] of Object.entries(a.title ?? {})) add(hub, a.id, target, `title:${language}`, text);
      if (a.durationMinutes !== undefined) add(hub, a.id, target, "duration", String(a.durationMinutes));
      for (const s of a.scenarios) add(hub, a.id, target, "scenario", s.title);
    }
  }
  const out: Array<Omit<Candidate, "proposals">> = [];
  for (const group of groups.values()) {
    // Hubs per value (a hub counts once per value).
    const byValue = new Map<string, Set<string>>();
    for (const h of group.hubs) {
      const key = normal(h.value);
      byValue.set(key, (byValue.get(key) ?? new Set()).add(h.hub));
    }
    let commonKey = "";
    let agreeing = 0;
    for (const [key, set] of byValue) {
      if (set.size > agreeing || (set.size === agreeing && key < commonKey)) {
        agreeing = set.size;
        commonKey = key;
      }
    }
    // Recurring: that many hubs adapted it the same way.
    if (agreeing < minHubs) continue;
    const common = group.hubs.find((h) => normal(h.value) === commonKey)?.value ?? "";
    out.push({
      target: group.target,
      aspect: group.aspect,
      core: coreValue(core, group.target, group.aspect),
      hubs: [...group.hubs].sort((a, b) => a.hub.localeCompare(b.hub) || a.value.localeCompare(b.value)),
      agreeing,
      commonValue: common,
    });
  }
  return out.sort(
    (a, b) =>
      b.agreeing - a.agreeing ||
      new Set(b.hubs.map((h) => h.hub)).size - new Set(a.hubs.map((h) => h.hub)).size ||
      a.target.id.localeCompare(b.target.id) ||
      a.aspect.localeCompare(b.aspect),
  );
}
