/**
 * The core framework's hierarchy as the rest of the node asks it: the parents of an item (CASE
 * isChildOf) and what a person's name for a competency stands for. The core supplies it; the
 * availability index, the case search, bookings and reports use it.
 */
/** The competency framework's hierarchy: the parents of an item (CASE isChildOf). */
export interface CompetencyTree {
  parents(competency: string): readonly string[];
  /**
   * The competencies a person's name for one means: those whose identifier or code equals it (any
   * case); failing that, the family it prefixes (`hr` → codes or identifiers `HR-1`, `hr.2`, …).
   */
  named?(name: string): readonly string[];
}

/** The identifiers `name` stands for in `tree` (itself included, for ids the framework does not hold). */
export function competenciesNamed(tree: CompetencyTree, name: string): Set<string> {
  return new Set([name, ...(tree.named?.(name) ?? [])]);
}

/** The item and all its ancestors. */
export function withAncestors(tree: CompetencyTree, competency: string): Set<string> {
  const out = new Set<string>();
  const stack = [competency];
  while (stack.length > 0) {
    const c = stack.pop() as string;
    if (out.has(c)) continue;
    out.add(c);
    stack.push(...tree.parents(c));
  }
  return out;
}
