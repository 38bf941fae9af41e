import type { Startable } from "../lifecycle.js";
import type { DocumentId } from "@automerge/automerge-repo";
import type { Logger } from "pino";
import { checkpointProblem, CheckpointKind, type SignedCheckpoint } from "../authority/index.js";
import {
  directoryIdOf,
  ownedDocumentId,
  signerProblem,
  type CharterMember,
  type Membership,
} from "../federation/index.js";
import { readCore } from "./content.js";
import { CORE_KEY, type CoreRelease, type CoreSource } from "./core.js";
import { compareVersions, VERSION_PATTERN, type CoreContent } from "./model.js";
import type { Replica } from "../replica/index.js";
import type { NodeStore } from "../storage/index.js";
import { textOf } from "../documents/index.js";

const KNOWN_PREFIX = "core-release/";

/** The core's document id in a federation whose secretariat has this peer id. */
export function coreIdOf(anchor: string): DocumentId {
  return ownedDocumentId(directoryIdOf(anchor), CORE_KEY);
}

export interface ReleaseProblem {
  version: string;
  reason: string;
}

/**
 * The core's releases as a hub sees them: read from the secretariat's directory (release
 * checkpoints, kept per version), each verified — signed by the secretariat's key as the charter
 * (rooted in the trust anchor) gives it, of kind `release`, for the core — and together: versions
 * only go up in signing order, and each release's heads descend from the previous one's. A release
 * whose heads have not arrived yet is left out until they do. The content of a release is the core
 * document at its heads: the drafts in between are never published, and nothing unsigned shows.
 */
export class VerifiedCoreReleases implements CoreSource, Startable {
  readonly #federationId: string;
  readonly #membership: Membership;
  readonly #replica: Replica;
  readonly #log: Logger;
  readonly #coreId: DocumentId | undefined;
  readonly #directoryId: DocumentId | undefined;
  /** Problems found on the last read, for status and tests. */
  #problems: ReleaseProblem[] = [];
  readonly #logged = new Set<string>();
  #cache: { key: string; releases: CoreRelease[] } | undefined;

  readonly #store: NodeStore;
  /** Releases verified here (persisted), by `version@seq`. */
  readonly #known = new Map<string, SignedCheckpoint>();

  constructor(
    init: { federationId: string },
    components: { membership: Membership; replica: Replica; store: NodeStore; logger: Logger },
  ) {
    this.#federationId = init.federationId;
    this.#store = components.store;
    this.#membership = components.membership;
    this.#replica = components.replica;
    this.#log = components.logger;
    const anchor = components.membership.anchor;
    this.#coreId = anchor ? coreIdOf(anchor) : undefined;
    this.#directoryId = anchor ? directoryIdOf(anchor) : undefined;
  }

  get coreId(): string | undefined {
    return this.#coreId;
  }

  /** Loads the releases verified before, and starts pulling the core (it is not listed until its first release). */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    for await (const [, value] of this.#store.meta.iterator({ gt: KNOWN_PREFIX, lt: `${KNOWN_PREFIX}~` })) {
      const signed = JSON.parse(value as string) as SignedCheckpoint;
      this.#known.set(`${signed.checkpoint.version}@${signed.checkpoint.seq}`, signed);
    }
    if (this.#coreId) this.#replica.request(this.#coreId);
  }

  /** Nothing to stop: what it verified is persisted as it verifies. */
  stop(): void {}

  #started = false;

  /** The verified release checkpoints, as signed (for audit bundles). */
  async signed(): Promise<SignedCheckpoint[]> {
    const versions = new Set((await this.releases()).map((r) => `${r.version}@${r.seq}`));
    return [...this.#known.values()]
      .filter((s) => versions.has(`${s.checkpoint.version}@${s.checkpoint.seq}`))
      .sort((a, b) => a.checkpoint.seq - b.checkpoint.seq);
  }

  async releases(): Promise<CoreRelease[]> {
    const secretariat = this.#directoryId ? this.#membership.ownerOfDirectory(this.#directoryId) : undefined;
    if (!secretariat || !this.#coreId || !this.#directoryId) return [];
    const coreId = this.#coreId;
    // Every value under every version, conflicts included (a relay's write must not hide the secretariat's).
    const directory = await this.#replica.read(this.#directoryId, {
      path: ["releases", coreId],
      conflictsIn: ["releases", coreId],
    });
    if (!directory) return [];
    const entries = directory.conflicts ?? {};
    const coreHeads = this.#replica.heads(coreId);
    const cacheKey = `${directory.heads.join(",")}|${coreHeads ? coreHeads.join(",") : ""}|${this.#membership.source?.seq ?? 0}|${this.#known.size}`;
    if (this.#cache?.key === cacheKey) return this.#cache.releases;
    const problems: ReleaseProblem[] = [];
    // Every release verified before counts too (a relay deleting an entry hides nothing).
    const verified = new Map(this.#known);
    for (const [version, values] of Object.entries(entries)) {
      for (const raw of values) {
        const result = await this.#check(version, raw, secretariat);
        if (typeof result === "string") {
          problems.push({ version, reason: result });
          continue;
        }
        const key = `${result.checkpoint.version}@${result.checkpoint.seq}`;
        if (!this.#known.has(key)) {
          this.#known.set(key, result);
          await this.#store.batch([
            { type: "put", sublevel: this.#store.meta, key: `${KNOWN_PREFIX}${key}`, value: JSON.stringify(result) },
          ]);
        }
        verified.set(key, result);
      }
    }
    const ordered = [...verified.values()];
    ordered.sort((a, b) => a.checkpoint.seq - b.checkpoint.seq);
    const releases: CoreRelease[] = [];
    let previous: SignedCheckpoint | undefined;
    for (const signed of ordered) {
      const c = signed.checkpoint;
      const version = c.version as string;
      if (previous && compareVersions(version, previous.checkpoint.version as string) <= 0) {
        problems.push({
          version,
          reason: `signed after ${previous.checkpoint.version} but not above it: versions only go up`,
        });
        continue;
      }
      // Its changes have not arrived yet: later ones wait too.
      const atRelease = coreHeads
        ? await this.#replica.read(coreId, { heads: c.heads, path: ["releaseNotes"] })
        : undefined;
      if (!atRelease) break;
      if (previous && !(await this.#replica.descends(coreId, c.heads, previous.checkpoint.heads))) {
        problems.push({ version, reason: `its heads do not descend from release ${previous.checkpoint.version}'s` });
        continue;
      }
      const answered = await this.#replica.read(coreId, { heads: c.heads, path: ["releaseAnswers"] });
      const atHeads = readCore({ releaseNotes: atRelease.value, releaseAnswers: answered?.value });
      releases.push({
        version,
        notes: atHeads.notes[version] ?? "",
        answers: atHeads.answers[version] ?? [],
        heads: c.heads,
        seq: c.seq,
        time: c.time,
      });
      previous = signed;
    }
    for (const p of problems) {
      const key = `${p.version}:${p.reason}`;
      if (this.#logged.has(key)) continue;
      this.#logged.add(key);
      this.#log.warn({ version: p.version, reason: p.reason }, "rejected a core release");
    }
    this.#problems = problems;
    this.#cache = { key: cacheKey, releases };
    return releases;
  }

  /** Problems found on the last read, for status and tests. */
  problems(): ReleaseProblem[] {
    return [...this.#problems];
  }

  /** The verified release entry, or why it is refused. Signatures are remembered once checked. */
  async #check(version: string, raw: unknown, secretariat: CharterMember): Promise<SignedCheckpoint | string> {
    let signed: SignedCheckpoint;
    try {
      signed = JSON.parse(textOf(raw) ?? "") as SignedCheckpoint;
    } catch {
      return "malformed release entry";
    }
    const c = signed?.checkpoint;
    if (!c || typeof signed.signature !== "string") return "malformed release entry";
    if (c.kind !== CheckpointKind.Release) return `a checkpoint of kind '${c.kind}', not a release`;
    if (c.version !== version) return `filed under ${version} but signed as ${c.version}`;
    if (!VERSION_PATTERN.test(version)) return `'${version}' is not a version X.Y.Z`;
    if (c.documentId !== this.#coreId) return `for document ${c.documentId}, not the core`;
    const signer = signerProblem(secretariat, { owner: String(c.owner), time: String(c.time), seq: Number(c.seq) });
    if (signer) return signer;
    let verdict = this.#signatures.get(signed.signature);
    if (verdict === undefined) {
      verdict =
        (await checkpointProblem(signed, { federationId: this.#federationId, documentId: c.documentId })) ?? "ok";
      this.#signatures.set(signed.signature, verdict);
    }
    return verdict === "ok" ? signed : verdict;
  }

  readonly #signatures = new Map<string, string>();

  async content(version?: string): Promise<CoreContent | undefined> {
    const releases = await this.releases();
    const release = version === undefined ? releases.at(-1) : releases.find((r) => r.version === version);
    if (!release || !this.#coreId) return undefined;
    const read = await this.#replica.read(this.#coreId, { heads: release.heads });
    return read ? readCore(read.value).content : undefined;
  }
}
