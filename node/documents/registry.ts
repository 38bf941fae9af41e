import * as A from "@automerge/automerge";
import { generateAutomergeUrl, parseAutomergeUrl, type DocumentId } from "@automerge/automerge-repo";
import { failedPrecondition } from "../errors.js";
import type { NodeStore, StoreBatchOperation } from "../storage/index.js";
import type { ChunkStore } from "./chunk-store.js";
import { checkHeader, makeHeader, type DocumentType } from "./header.js";
import type { ChangeMeta } from "./transactions.js";

/** One document this node owns, by a stable logical key such as `roster/3`. */
export interface OwnedDocumentSpec {
  key: string;
  /** A fixed document id (e.g. the directory's, derived from the peer id); random when absent. */
  id?: DocumentId;
  type: DocumentType;
  /** Published into the Repo (and so, later, replicated). Private documents never are. */
  replicated: boolean;
  /** Initial content (header excluded); use ImmutableString for ids, codes, names and dates. */
  initial: Record<string, unknown>;
  /**
   * `on-commit` (default): every committed change is published into the Repo. `on-release`: only
   * what `publishRelease` names (the secretariat's core: hubs never see drafts).
   */
  publish?: "on-commit" | "on-release";
}

/** What the registry stores of a document (under the `documents` meta key). */
export interface RegistryEntry {
  key: string;
  id: DocumentId;
  type: DocumentType;
  replicated: boolean;
  /** Published only up to released heads. */
  releaseOnly?: boolean;
}

/** The authoring copy of one owned document. */
export interface AuthoringCopy {
  readonly entry: RegistryEntry;
  doc: A.Doc<unknown>;
  /** Heads of what is stored in LevelDB (equal to the doc's heads outside a transaction). */
  storedHeads: A.Heads;
}

export interface DocumentRegistryInit {
  /** Hub id of this node: the owner written into headers, and checked on every load. */
  owner: string;
  /** The id of a new document whose spec gives none; random when absent. */
  idFor?: ((key: string) => DocumentId) | undefined;
}

export interface DocumentRegistryComponents {
  store: NodeStore;
  chunks: ChunkStore;
}

const REGISTRY_KEY = "documents";

/**
 * Which documents this node owns, by key, and their authoring copies: loaded from the chunk store at
 * start (headers and owner checked), created new for a transaction, and registered once the batch
 * that stores them is written.
 */
export class DocumentRegistry {
  /** The id a key was registered under, read from the store before any document is opened. */
  static async registeredId(store: NodeStore, key: string): Promise<DocumentId | undefined> {
    const registry = ((await store.meta.get(REGISTRY_KEY)) as RegistryEntry[] | undefined) ?? [];
    return registry.find((entry) => entry.key === key)?.id;
  }

  readonly #owner: string;
  readonly #idFor: ((key: string) => DocumentId) | undefined;
  readonly #store: NodeStore;
  readonly #chunks: ChunkStore;
  readonly #copies = new Map<string, AuthoringCopy>();

  constructor(init: DocumentRegistryInit, components: DocumentRegistryComponents) {
    this.#owner = init.owner;
    this.#idFor = init.idFor;
    this.#store = components.store;
    this.#chunks = components.chunks;
  }

  /** Loads every registered document, checking its header, schema version and owner. */
  async open(): Promise<AuthoringCopy[]> {
    const registry = ((await this.#store.meta.get(REGISTRY_KEY)) as RegistryEntry[] | undefined) ?? [];
    for (const entry of registry) {
      this.#copies.set(entry.key, { entry, ...(await this.#load(entry)) });
    }
    return [...this.#copies.values()];
  }

  /** Puts `copy` back to what is stored (after a transaction on it was refused or not written). */
  async reload(copy: AuthoringCopy): Promise<void> {
    Object.assign(copy, await this.#load(copy.entry));
  }

  async #load(entry: RegistryEntry): Promise<{ doc: A.Doc<unknown>; storedHeads: A.Heads }> {
    const doc = await this.#chunks.load(entry.id);
    if (!doc) throw new Error(`document ${entry.key} (${entry.id}) is registered but has no stored chunks`);
    const header = checkHeader(doc, entry.type, entry.id);
    if (header.owner !== this.#owner) {
      throw failedPrecondition(
        `this data directory holds the documents of hub '${header.owner}', but hub.id in the configuration is '${this.#owner}'; a hub's id cannot change`,
      );
    }
    return { doc, storedHeads: A.getHeads(doc) };
  }

  get(key: string): AuthoringCopy | undefined {
    return this.#copies.get(key);
  }

  has(key: string): boolean {
    return this.#copies.has(key);
  }

  values(): AuthoringCopy[] {
    return [...this.#copies.values()];
  }

  get size(): number {
    return this.#copies.size;
  }

  /** A new document (not stored, not registered) with its header and initial content, made by `system`. */
  create(spec: OwnedDocumentSpec): AuthoringCopy {
    if (this.#copies.has(spec.key)) throw new Error(`document '${spec.key}' exists already`);
    const id = spec.id ?? this.#idFor?.(spec.key) ?? parseAutomergeUrl(generateAutomergeUrl()).documentId;
    const content: Record<string, unknown> = { header: makeHeader(spec.type, this.#owner), ...spec.initial };
    const message = JSON.stringify({
      operatorId: "system",
      action: "document.create",
      subjects: [spec.key],
    } satisfies ChangeMeta);
    const doc = A.change(A.init<Record<string, unknown>>(), { message }, (d) => {
      Object.assign(d, content);
    }) as A.Doc<unknown>;
    const entry: RegistryEntry = {
      key: spec.key,
      id,
      type: spec.type,
      replicated: spec.replicated,
      ...(spec.publish === "on-release" ? { releaseOnly: true } : {}),
    };
    return { entry, doc, storedHeads: [] };
  }

  /** The batch operation that stores the registry with `created` added. */
  operation(created: Iterable<AuthoringCopy>): StoreBatchOperation {
    const entries = [...this.#copies.values(), ...created].map((c) => c.entry);
    return { type: "put", sublevel: this.#store.meta, key: REGISTRY_KEY, value: entries };
  }

  /** Registers documents whose creation is stored. */
  add(created: Iterable<AuthoringCopy>): void {
    for (const copy of created) this.#copies.set(copy.entry.key, copy);
  }
}
