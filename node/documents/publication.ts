import * as A from "@automerge/automerge";
import type { DocumentId, StorageAdapterInterface } from "@automerge/automerge-repo";
import type { Logger } from "pino";
import type { Replica } from "../replica/index.js";
import type { NodeStore, StoreBatchOperation } from "../storage/index.js";
import { changeGraph, changesUpTo } from "../replica/index.js";
import type { AuthoringCopy } from "./registry.js";
import type { CommitPublisher, StoredChanges } from "./transactions.js";

export interface PublicationComponents {
  /** The Repo's copies, in the replica worker. */
  replica: Replica;
  /** The Repo's storage, where a copy stored before is dropped when the copy is rebuilt. */
  repoStorage: StorageAdapterInterface;
  /** Where a release-only document's released heads are kept (`released/<key>` in `meta`). */
  store: NodeStore;
  logger: Logger;
}

/** What the Repo has been given of one owned document. */
interface Published {
  readonly copy: AuthoringCopy;
  /** The Repo has been given its copy. */
  imported?: boolean;
  /** Heads last published into the Repo's copy. */
  publishedHeads: A.Heads;
  /** For a release-only document: the heads released so far (undefined before its first release). */
  releasedHeads?: A.Heads;
  /** The Repo's copy refused a change: nothing more is published until the next start rebuilds it. */
  failed?: boolean;
}

function releasedKey(key: string): string {
  return `released/${key}`;
}

/** The changes under a release-only document's released heads, as one loadable chunk. */
function releasedBytes(published: Published): Uint8Array {
  const changes = changesUpTo(changeGraph(published.copy.doc), published.releasedHeads ?? []);
  return A.save(A.applyChanges(A.init<unknown>(), changes)[0]);
}

/**
 * The owner's copies of its replicated documents in the automerge-repo Repo, published from the
 * authoring copies with `loadIncremental(saveSince(authoring, lastPublishedHeads))` once a change is
 * stored (a release-only document: only up to its released heads). At every start the Repo's copy
 * is rebuilt from the authoring copy. Whatever reaches the Repo's copy from elsewhere never flows
 * back, and a publish that the Repo's copy refuses never fails the durable write it publishes.
 */
export class Publication implements CommitPublisher {
  readonly #replica: Replica;
  readonly #repoStorage: StorageAdapterInterface;
  readonly #store: NodeStore;
  readonly #log: Logger;
  /** Every owned document by id (private ones too: they answer "not replicated"). */
  readonly #byId = new Map<DocumentId, Published>();

  constructor(components: PublicationComponents) {
    this.#replica = components.replica;
    this.#repoStorage = components.repoStorage;
    this.#store = components.store;
    this.#log = components.logger;
  }

  /** Takes the documents loaded at start, with the released heads of the release-only ones. */
  async open(copies: readonly AuthoringCopy[]): Promise<void> {
    for (const copy of copies) {
      const published = this.#track(copy);
      if (copy.entry.releaseOnly) {
        const released = (await this.#store.meta.get(releasedKey(copy.entry.key)).catch(() => undefined)) as
          | A.Heads
          | undefined;
        if (released) published.releasedHeads = released;
      }
    }
  }

  /** Gives the Repo a copy of every replicated document that has none yet. */
  async attachAll(copies: readonly AuthoringCopy[]): Promise<void> {
    for (const copy of copies) await this.#attach(this.#track(copy));
  }

  /** A group's stored changes: new documents enter the Repo, changed ones are published. */
  async committed(created: readonly AuthoringCopy[], changed: readonly StoredChanges[]): Promise<void> {
    // Known (as replicated, or not) before anything is awaited.
    const fresh = created.map((copy) => this.#track(copy));
    for (const stored of changed) this.#publish(this.#track(stored.copy), stored);
    for (const published of fresh) {
      // A new document's stored changes are all of it: the Repo loads them as they are.
      const stored = changed.find((c) => c.copy === published.copy && c.since.length === 0);
      await this.#attach(published, stored?.bytes);
    }
  }

  /** The batch operation that records a release-only document's released heads (with the release's signature). */
  releasedHeadsOperation(copy: AuthoringCopy, heads: readonly string[]): StoreBatchOperation {
    return { type: "put", sublevel: this.#store.meta, key: releasedKey(copy.entry.key), value: [...heads] };
  }

  /** Publishes a release-only document up to `heads` (after `releasedHeadsOperation` was stored). */
  async publishRelease(copy: AuthoringCopy, heads: readonly string[]): Promise<void> {
    if (!copy.entry.releaseOnly) {
      throw new Error(`document '${copy.entry.key}' is published on every commit, not by release`);
    }
    const published = this.#track(copy);
    published.releasedHeads = [...heads];
    if (!published.imported) {
      await this.#attach(published);
      return;
    }
    this.#publishInto(published, releasedBytes(published), [...heads]);
  }

  /** The heads last released of a release-only document (undefined before its first release). */
  releasedHeads(id: DocumentId): A.Heads | undefined {
    return this.#byId.get(id)?.releasedHeads;
  }

  /** Is `documentId` one of this node's replicated documents (private ones never are)? */
  isReplicated(documentId: string): boolean {
    return this.#byId.get(documentId as DocumentId)?.copy.entry.replicated === true;
  }

  /** Is `documentId` shared now: replicated, and (for a release-only document) released at least once? */
  isPublished(documentId: string): boolean {
    const published = this.#byId.get(documentId as DocumentId);
    return published?.copy.entry.replicated === true && !this.#unreleased(published);
  }

  /**
   * The heads this node signs for a sync message of its published document whose Repo copy is at
   * `heads`: those heads when they are in the authoring copy (its own history), else the heads it
   * published last (the Repo's copy then holds something that is not its own, which it never signs).
   */
  attestableHeads(documentId: string, heads: string[]): string[] | undefined {
    const published = this.#byId.get(documentId as DocumentId);
    if (!published?.copy.entry.replicated || this.#unreleased(published)) return undefined;
    if (A.hasHeads(published.copy.doc, heads)) return heads;
    const last = published.releasedHeads ?? published.publishedHeads;
    return last.length > 0 ? [...last].sort() : undefined;
  }

  #unreleased(published: Published): boolean {
    return published.copy.entry.releaseOnly === true && !published.releasedHeads;
  }

  #track(copy: AuthoringCopy): Published {
    let published = this.#byId.get(copy.entry.id);
    if (!published) {
      published = { copy, publishedHeads: [] };
      this.#byId.set(copy.entry.id, published);
    }
    return published;
  }

  /**
   * Gives the Repo a copy built from the authoring copy (for a release-only document: exactly the
   * changes under its released heads, or nothing before the first release). Whatever copy the Repo
   * stored before is dropped first: the authoring copy is what a start trusts, so a change that
   * reached the Repo's copy some other way (or a save cut short by a crash) can neither be published
   * nor stop the node from starting.
   */
  async #attach(published: Published, whole?: Uint8Array): Promise<void> {
    const { copy } = published;
    if (!copy.entry.replicated || published.imported || this.#unreleased(published)) return;
    const id = copy.entry.id;
    // Only document chunks: the sync states stored under the id are the peers', and stay.
    await Promise.all([
      this.#repoStorage.removeRange([id, "snapshot"]),
      this.#repoStorage.removeRange([id, "incremental"]),
    ]);
    published.imported = true;
    await this.#replica.import(id, copy.entry.releaseOnly ? releasedBytes(published) : (whole ?? A.save(copy.doc)));
    published.publishedHeads = published.releasedHeads ?? copy.storedHeads;
  }

  /**
   * Brings the Repo's copy up to the authoring copy, sending only what it has not seen from us: the
   * changes just stored, as they were encoded, when they follow what was published last.
   */
  #publish(published: Published, stored: StoredChanges): void {
    if (!published.imported || published.copy.entry.releaseOnly) return;
    const since = published.publishedHeads;
    const follows = since.length === stored.since.length && since.every((h, i) => h === stored.since[i]);
    const bytes = follows ? stored.bytes : A.saveSince(published.copy.doc, since);
    this.#publishInto(published, bytes, published.copy.storedHeads);
  }

  /**
   * Loads `bytes` (changes already stored) into the Repo's copy. If the copy refuses them, the write
   * stays what it is — durable, and acknowledged — and the copy is rebuilt from the authoring copy at
   * the next start; until then this document is not published further (said once).
   */
  #publishInto(published: Published, bytes: Uint8Array, heads: A.Heads): void {
    if (published.failed || !published.imported) return;
    // The worker applies what it is sent in order: the next publish may start from these heads.
    published.publishedHeads = heads;
    this.#replica.apply(published.copy.entry.id, bytes).catch((error: unknown) => {
      if (published.failed) return;
      published.failed = true;
      this.#log.error(
        { document: published.copy.entry.id, key: published.copy.entry.key, err: (error as Error).message },
        "the Repo's copy refused a committed change; the change is durable, and the copy is rebuilt from the authoring copy at the next start",
      );
    });
  }
}
