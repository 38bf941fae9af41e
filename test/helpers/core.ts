import type { AccreditationScheme, CoreModule } from "../../node/core/index.js";
import { waitUntil, type FederationNode } from "./federation.js";

/** A competency framework item for tests: code, statement and type from its id. */
export function coreItem(identifier: string, type = "Competency") {
  return {
    identifier,
    code: identifier.toUpperCase(),
    statement: { en: identifier },
    type,
    language: "en",
    roleLevels: [],
    themes: [],
    lastChangeDateTime: new Date().toISOString(),
    extra: {},
  };
}

/**
 * Imports a small core at the secretariat and releases it: items by [id, type], `isChildOf` links
 * by [child, parent], modules and schemes as given.
 */
export async function releaseCore(
  secretariat: FederationNode,
  content: {
    items: Array<[string, string]>;
    childOf?: Array<[string, string]>;
    modules?: CoreModule[];
    schemes?: AccreditationScheme[];
  },
  version = "1.0.0",
): Promise<void> {
  const core = secretariat.node.running.coreAuthoring;
  const now = new Date().toISOString();
  await core.import(
    "op",
    {
      framework: {
        identifier: "fw",
        title: "SSR core",
        creator: "Secretariat",
        language: "en",
        lastChangeDateTime: now,
        extra: {},
      },
      items: content.items.map(([id, type]) => coreItem(id, type)),
      associations: (content.childOf ?? []).map(([child, parent], i) => ({
        identifier: `as-${i + 1}`,
        type: "isChildOf",
        origin: { identifier: child },
        destination: { identifier: parent },
        lastChangeDateTime: now,
        extra: {},
      })),
      ...(content.modules ? { modules: content.modules } : {}),
      schemes: content.schemes ?? [],
    },
    false,
  );
  await core.release("op", version, "");
}

/** The module most federation tests release: `mod-hr`, ten hours on site, teaching `hr-1`. */
export const HR_MODULE: CoreModule = {
  id: "mod-hr",
  code: "M-HR",
  title: { en: "Human rights in policing" },
  durationMinutes: 600,
  deliveryMode: "on-site",
  units: [],
  competencies: ["hr-1"],
  materials: [],
};

/** Waits (bounded) for `hub` to verify release `version` of the secretariat's core, then adopts it. */
export async function adoptRelease(hub: FederationNode, version = "1.0.0"): Promise<void> {
  await waitUntil(
    `${hub.name} to verify release ${version}`,
    async () => (await hub.node.running.coreSource.releases()).some((r) => r.version === version),
    20_000,
  );
  await hub.node.running.curriculum.adopt("op", version);
}
