import type { Startable } from "../lifecycle.js";
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { VerifiedView, VerifiedViews } from "../authority/index.js";
import type { CoreSource } from "../core/index.js";
import {
  CREDENTIALS_KEY,
  heldIn,
  type Credentials,
  type CredentialsDoc,
  type JsonObject,
} from "../credentials/index.js";
import { accreditationsOf } from "./accreditations.js";
import { documentTypeOf, textOf, type OwnedDocuments } from "../documents/index.js";
import { ownedDocumentId, type Membership } from "../federation/index.js";
import { decodeTrainer } from "../roster/index.js";
import type { TrainerPublic } from "../roster/index.js";
import { toVFreeBusy } from "./freebusy.js";
import { DAY_MS, type BusyTimeSource } from "./model.js";
import type { NodeStore, StoreBatchOperation } from "../storage/index.js";
import { yielder } from "../yielder.js";

/**
 * The index as persisted in `meta`: one chunk per roster document (`CHUNK_PREFIX` + document id), a
 * compact encoding of every trainer record indexed from it with the heads it reflects
 * (availability-chunk below), rewritten in the batch that changes any of its records; and the heads
 * of the other documents the index reflects (credentials, core) under `DOC_PREFIX`. A store written
 * before the chunks holds one JSON text per record under `REC_PREFIX` (with each roster document's
 * heads under `DOC_PREFIX`): the first start converts it, in one batch.
 */
const CHUNK_PREFIX = "availability/chunk/";
const REC_PREFIX = "availability/rec/";
const DOC_PREFIX = "availability/doc/";
import { AvailabilityIndex } from "./availability-index.js";
import type { AvailabilityMatch, AvailabilityQuery, CompetencyTree, Range, TrainerRecord } from "./model.js";
import { SerialQueue } from "../serial-queue.js";

/** What an answer says of each hub it drew on: as of which checkpoint, and whether that is stale. */
export interface HubFreshness {
  hub: string;
  seq: number;
  time: string;
  stale: boolean;
  /** False while no checkpoint of this hub has verified here: nothing of it is known yet. */
  verified: boolean;
  /** Its trainers in the index (as of that checkpoint). */
  trainers: number;
}

export interface FoundTrainer extends AvailabilityMatch {
  displayName: string;
}

function ms(iso: string): number {
  return Date.parse(iso);
}

/**
 * Who is available, across the federation, answered from the in-memory index (never by scanning
 * documents per query): this hub's roster from its authoring copy, every other hub's as of its
 * latest verified checkpoint. A roster document is re-indexed when its view moves (trainers added,
 * changed, removed since the last one); a hub's trainers when its credentials move. Accreditations
 * count only when a held credential verifies.
 */
export class Availability implements Startable {
  readonly #self: string;
  readonly #index = new AvailabilityIndex();
  readonly #documents: OwnedDocuments;
  readonly #views: VerifiedViews;
  readonly #membership: Membership;
  readonly #credentials: Credentials;
  readonly #core: CoreSource;
  readonly #busyTime: BusyTimeSource;
  readonly #log: Logger;
  /** Trainer ids per roster document, to remove those that left it. */
  readonly #idsByDocument = new Map<string, Set<string>>();
  /**
   * The hub each roster document was indexed under. A view verified before the charter names its
   * owner by a placeholder ("secretariat"); when the document is next indexed under its real hub,
   * what was filed under the placeholder goes, instead of being counted twice.
   */
  readonly #hubOfDocument = new Map<string, string>();
  /**
   * Per hub/trainer: a digest of the record's stored text (an unchanged record is recognised without
   * decoding it) and its display name (for answers). The record itself is not kept: what the index
   * needs of it is in the derived record, and a restart reads 50,000 of these, not 50,000 texts.
   */
  readonly #digests = new Map<string, string>();
  readonly #names = new Map<string, string>();

  /** Which roster document each trainer was last seen in (a roster that grows moves records between shards). */
  readonly #documentOf = new Map<string, string>();
  readonly #queue = new SerialQueue();
  readonly #store: NodeStore;
  /** Each indexed trainer as derived (the same object the index holds). */
  readonly #derived = new Map<string, TrainerRecord>();
  /** Roster documents whose persisted chunk no longer says what the index holds of them. */
  readonly #dirty = new Set<string>();
  /** Records decoded since start (a restart with nothing changed decodes none). */
  decodedSinceStart = 0;
  #tree: CompetencyTree = { parents: () => [] };

  constructor(
    init: { hubId: string },
    components: {
      documents: OwnedDocuments;
      views: VerifiedViews;
      membership: Membership;
      credentials: Credentials;
      core: CoreSource;
      busyTime: BusyTimeSource;
      store: NodeStore;
      logger: Logger;
    },
  ) {
    this.#busyTime = components.busyTime;
    this.#self = init.hubId;
    this.#store = components.store;
    this.#documents = components.documents;
    this.#views = components.views;
    this.#membership = components.membership;
    this.#credentials = components.credentials;
    this.#core = components.core;
    this.#log = components.logger;
  }

  get size(): number {
    return this.#index.size;
  }

  /** Indexes everything known now, then follows own commits and verified views. */
  async start(): Promise<void> {
    if (this.#unsubscribeCommits) return;
    this.#unsubscribeCommits = this.#documents.onCommit((keys) => {
      if (this.#stopped) return;
      const rosters = keys.filter((k) => k.startsWith("roster/"));
      if (rosters.length > 0) void this.#enqueue(() => this.#indexOwn(rosters));
      if (keys.includes(CREDENTIALS_KEY)) void this.#enqueue(() => this.#reindexAffected(this.#self));
      const busyKey = this.#busyTime.ownKey;
      if (keys.includes(busyKey))
        void this.#enqueue(() => this.#applyEngagements(this.#self, this.#documents.get(busyKey)));
    });
    this.#unsubscribe = this.#views.onApplied((view) => void this.#enqueue(() => this.#onView(view)));
    await this.#enqueue(async () => {
      await this.#load();
      await this.#refreshTree();
      if (this.#documents.has(this.#busyTime.ownKey))
        await this.#applyEngagements(this.#self, this.#documents.get(this.#busyTime.ownKey));
      await this.#indexOwn();
      for (const view of this.#views.views()) await this.#onView(view);
    });
  }

  #unsubscribe: (() => void) | undefined;
  #unsubscribeCommits: (() => void) | undefined;
  #stopped = false;

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#unsubscribeCommits?.();
  }

  /** Waits until every pending re-indexing is done (tests, reports). */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /**
   * Before an answer: the re-indexing queued so far, but for at most `ms`. A write just made here is
   * in the answer; a long backlog of other hubs' changes (a busy federation, a node catching up)
   * does not hold the answer back — it says per hub as of which checkpoint it answers.
   */
  async #caughtUp(ms = 1000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  #enqueue(job: () => Promise<void>): Promise<void> {
    return this.#queue.run(job).catch((error: unknown) => this.#log.error({ err: error }, "indexing failed"));
  }

  /**
   * The index as persisted, with the heads of every document it reflects: a restart answers at once,
   * and re-reads only the documents whose heads moved since. One value per roster document, decoded
   * with one JSON.parse; a store in the layout before the chunks is converted here.
   */
  async #load(): Promise<void> {
    const chunked = new Set<string>();
    for await (const [key, value] of this.#store.meta.iterator({ gt: CHUNK_PREFIX, lt: `${CHUNK_PREFIX}~` })) {
      const documentId = key.slice(CHUNK_PREFIX.length);
      const chunk = value as Chunk;
      if (chunk.v !== CHUNK_VERSION) {
        this.#log.warn({ document: documentId, version: chunk.v }, "an index chunk of an unknown version: re-read");
        continue;
      }
      chunked.add(documentId);
      this.#loadChunk(documentId, chunk);
    }
    const converted = await this.#loadRecords();
    for await (const [key, value] of this.#store.meta.iterator({ gt: DOC_PREFIX, lt: `${DOC_PREFIX}~` })) {
      const id = key.slice(DOC_PREFIX.length);
      if (!chunked.has(id) && !converted.rederive.has(id) && !this.#indexedHeads.has(id))
        this.#indexedHeads.set(id, value as string);
    }
    if (converted.records === 0) return;
    // The old layout, converted: every document's chunk (with the heads its records reflect, now in
    // the chunk), and the old keys gone, in one batch: a crash leaves one layout or the other.
    const ops: StoreBatchOperation[] = converted.keys.map((k) => ({ type: "del", sublevel: this.#store.meta, key: k }));
    for (const documentId of converted.documents) this.#dirty.add(documentId);
    ops.push(...this.#chunkWrites());
    await this.#store.batch(ops);
    this.#log.info(
      { records: converted.records, documents: converted.documents.size },
      "the persisted availability index was converted to one chunk per roster document",
    );
  }

  /** One roster document's chunk into the index. */
  #loadChunk(documentId: string, chunk: Chunk): void {
    const hub = chunk.hub;
    const ids = new Set<string>();
    for (const t of chunk.t) {
      const record = decodeChunkRecord(hub, t);
      const k = `${hub}/${record.id}`;
      ids.add(record.id);
      if (t[1] !== null) this.#digests.set(k, t[1]);
      this.#names.set(k, t[2]);
      this.#documentOf.set(k, documentId);
      this.#derived.set(k, record);
      this.#issuersOf.set(k, new Set(t[10]));
      this.#index.upsert(record);
    }
    this.#hubOfDocument.set(documentId, hub);
    this.#idsByDocument.set(documentId, ids);
    if (chunk.heads !== null) this.#indexedHeads.set(documentId, chunk.heads);
  }

  /**
   * The records of a store written before the chunks (one JSON text per trainer), if any: loaded as
   * that layout was, and what to convert. A record derived before roster claims were kept is decoded
   * again, with its document (`rederive`: its heads are not taken).
   */
  async #loadRecords(): Promise<{ records: number; keys: string[]; documents: Set<string>; rederive: Set<string> }> {
    const rederive = new Set<string>();
    const documents = new Set<string>();
    const keys: string[] = [];
    for await (const [key, value] of this.#store.meta.iterator({ gt: REC_PREFIX, lt: `${REC_PREFIX}~` })) {
      const saved = JSON.parse(value as string) as {
        doc: string;
        digest?: string;
        name?: string;
        text?: string;
        derived: TrainerRecord;
        issuers?: string[];
      };
      keys.push(key);
      documents.add(saved.doc);
      const k = key.slice(REC_PREFIX.length);
      if (saved.derived.claimed === undefined) {
        rederive.add(saved.doc);
        saved.derived.claimed = [];
      } else this.#digests.set(k, saved.digest ?? digestOf(saved.text ?? ""));
      this.#names.set(k, saved.name ?? (saved.text ? decodeTrainer(saved.text).displayName : ""));
      this.#documentOf.set(k, saved.doc);
      this.#derived.set(k, saved.derived);
      this.#issuersOf.set(k, new Set(saved.issuers ?? []));
      this.#index.upsert(saved.derived);
      this.#hubOfDocument.set(saved.doc, saved.derived.hub);
      const ids = this.#idsByDocument.get(saved.doc) ?? new Set<string>();
      ids.add(saved.derived.id);
      this.#idsByDocument.set(saved.doc, ids);
    }
    if (keys.length === 0) return { records: 0, keys, documents, rederive };
    // Each converted document's heads (not those to decode again) move into its chunk.
    for (const documentId of documents) {
      keys.push(`${DOC_PREFIX}${documentId}`);
      if (rederive.has(documentId)) continue;
      const heads = (await this.#store.meta.get(`${DOC_PREFIX}${documentId}`).catch(() => undefined)) as
        | string
        | undefined;
      if (heads !== undefined) this.#indexedHeads.set(documentId, heads);
    }
    return { records: keys.length - documents.size, keys, documents, rederive };
  }

  /**
   * The writes that bring every dirty roster document's chunk to what the index holds of it: its
   * trainers (those still filed under it), and the heads it was last indexed at.
   */
  #chunkWrites(): StoreBatchOperation[] {
    const ops: StoreBatchOperation[] = [];
    for (const documentId of this.#dirty) {
      const hub = this.#hubOfDocument.get(documentId);
      const heads = this.#indexedHeads.get(documentId);
      const t: ChunkRecord[] = [];
      for (const id of hub === undefined ? [] : (this.#idsByDocument.get(documentId) ?? [])) {
        const k = `${hub}/${id}`;
        const derived = this.#derived.get(k);
        if (derived === undefined || this.#documentOf.get(k) !== documentId) continue;
        t.push(
          encodeChunkRecord(derived, this.#digests.get(k) ?? null, this.#names.get(k) ?? "", [
            ...(this.#issuersOf.get(k) ?? []),
          ]),
        );
      }
      const key = `${CHUNK_PREFIX}${documentId}`;
      if (hub === undefined || (t.length === 0 && heads === undefined))
        ops.push({ type: "del", sublevel: this.#store.meta, key });
      else {
        const chunk: Chunk = { v: CHUNK_VERSION, hub, heads: heads ?? null, t };
        ops.push({ type: "put", sublevel: this.#store.meta, key, value: chunk });
      }
    }
    this.#dirty.clear();
    return ops;
  }

  /** This hub's roster shards (those named, or all, when their heads moved), from the authoring copies. */
  async #indexOwn(keys?: readonly string[]): Promise<void> {
    for (const d of this.#documents.describe()) {
      if (d.header.type !== "roster" || (keys && !keys.includes(d.key))) continue;
      const heads = [...d.heads].sort().join(",");
      if (this.#indexedHeads.get(d.id) === heads) continue;
      await this.#indexDocument(
        this.#self,
        d.id,
        this.#documents.get<{ trainers?: Record<string, unknown> }>(d.key).trainers ?? {},
        heads,
      );
    }
  }

  /** Heads last indexed per foreign document: a heartbeat checkpoint (same heads) changes nothing. */
  readonly #indexedHeads = new Map<string, string>();

  async #onView(view: VerifiedView): Promise<void> {
    const kind = documentTypeOf(view.doc);
    // Engagements are read whole (also at start, heads unchanged): only trainers whose busy time moved are re-indexed.
    if (kind === this.#busyTime.type) return this.#applyEngagements(view.hub, view.doc);
    const heads = [...view.checkpoint.heads].sort().join(",");
    if (this.#indexedHeads.get(view.documentId) === heads) return;
    if (kind === "roster") {
      await this.#indexDocument(
        view.hub,
        view.documentId,
        (view.doc as { trainers?: Record<string, unknown> }).trainers ?? {},
        heads,
      );
      return;
    }
    // A hub's credentials moved: what its trainers hold, and what it issued (its status lists).
    if (kind === "credentials") await this.#reindexAffected(view.hub);
    else if (kind === "core") await this.#refreshTree();
    else return;
    // Remembered across restarts too, so that a restart does not derive everything again.
    this.#indexedHeads.set(view.documentId, heads);
    await this.#store.batch([
      { type: "put", sublevel: this.#store.meta, key: `${DOC_PREFIX}${view.documentId}`, value: heads },
    ]);
  }

  /** Upserts the document's trainers and removes those that left it since the last view. */
  async #indexDocument(
    hub: string,
    documentId: string,
    trainers: Record<string, unknown>,
    heads: string,
  ): Promise<void> {
    const before = this.#idsByDocument.get(documentId) ?? new Set<string>();
    const now = new Set<string>();
    const pause = yielder();
    for (const [id, stored] of Object.entries(trainers)) {
      await pause();
      now.add(id);
      const key = `${hub}/${id}`;
      const was = this.#documentOf.get(key);
      // A record that moved between documents (a roster that grew) leaves the chunk it was in.
      if (was !== documentId) {
        if (was !== undefined) this.#dirty.add(was);
        this.#dirty.add(documentId);
      }
      this.#documentOf.set(key, documentId);
      // Records are canonical JSON strings: an unchanged one is recognised by its digest, undecoded.
      const digest = digestOf(textOf(stored) ?? "");
      if (this.#digests.get(key) === digest) continue;
      let record: TrainerPublic;
      try {
        record = decodeTrainer(stored);
      } catch {
        continue; // only what its owner signed gets here; a record that does not decode is skipped
      }
      // Released to another hub: no longer offered here (its new hub's record is, once accepted).
      if (record.movedTo) {
        now.delete(id);
        if (!before.has(id)) this.#documentOf.delete(key);
        continue;
      }
      this.decodedSinceStart += 1;
      this.#digests.set(key, digest);
      this.#names.set(key, record.displayName);
      await this.#upsert(hub, key, baseOf(record), documentId);
    }
    const previousHub = this.#hubOfDocument.get(documentId) ?? hub;
    for (const id of before) {
      const gone = previousHub !== hub || !now.has(id); // filed under another hub before, or left the document
      if (!gone || this.#documentOf.get(`${previousHub}/${id}`) !== documentId) continue; // not moved elsewhere
      const old = `${previousHub}/${id}`;
      this.#documentOf.delete(old);
      this.#index.remove(previousHub, id);
      this.#names.delete(old);
      this.#issuersOf.delete(old);
      this.#digests.delete(old);
      this.#derived.delete(old);
    }
    this.#hubOfDocument.set(documentId, hub);
    this.#idsByDocument.set(documentId, now);
    this.#indexedHeads.set(documentId, heads);
    // The document's chunk carries its heads, with the records they reflect, in one write.
    this.#dirty.add(documentId);
    await this.#store.batch(this.#chunkWrites());
  }

  /** Indexes a trainer as derived now; marks its document's chunk to be written if it changed. */
  async #upsert(hub: string, key: string, base: TrainerBase, documentId: string | undefined): Promise<void> {
    const before = this.#derived.get(key);
    const derived = await this.#toRecord(hub, base);
    this.#index.upsert(derived);
    this.#derived.set(key, derived);
    if (documentId === undefined && before !== undefined && JSON.stringify(before) === JSON.stringify(derived)) return;
    const doc = documentId ?? this.#documentOf.get(key);
    if (doc !== undefined) this.#dirty.add(doc);
  }

  /** Hubs that issued the credentials each trainer holds, to re-derive only those a change affects. */
  readonly #issuersOf = new Map<string, Set<string>>();

  /** Re-derives the accreditations of `hub`'s trainers and of every trainer holding a credential `hub` issued. */
  async #reindexAffected(hub: string): Promise<void> {
    const pause = yielder();
    for (const key of [...this.#digests.keys()]) {
      if (!key.startsWith(`${hub}/`) && !this.#issuersOf.get(key)?.has(hub)) continue;
      await pause();
      await this.#upsert(key.slice(0, key.indexOf("/")), key, this.#derivedOf(key) as TrainerBase, undefined);
    }
    await this.#store.batch(this.#chunkWrites());
  }

  /** Per hub, per trainer: the engagements that hold time (from the home hub's engagements document). */
  readonly #engagements = new Map<string, Map<string, { tentative: Range[]; confirmed: Range[] }>>();

  async #applyEngagements(hub: string, doc: unknown): Promise<void> {
    const next = new Map<string, { tentative: Range[]; confirmed: Range[] }>();
    for (const e of this.#busyTime.read(doc)) {
      const busy = next.get(e.trainer) ?? { tentative: [], confirmed: [] };
      (e.confirmed ? busy.confirmed : busy.tentative).push({ start: ms(e.start), end: ms(e.end) });
      next.set(e.trainer, busy);
    }
    const before = this.#engagements.get(hub) ?? new Map<string, { tentative: Range[]; confirmed: Range[] }>();
    this.#engagements.set(hub, next);
    for (const id of new Set([...before.keys(), ...next.keys()])) {
      const key = `${hub}/${id}`;
      const derived = this.#derived.get(key);
      if (derived === undefined) continue;
      if (JSON.stringify(derived.busy) === JSON.stringify(this.#busyOf(hub, id))) continue;
      await this.#upsert(hub, key, derived, undefined);
    }
    await this.#store.batch(this.#chunkWrites());
  }

  /** A trainer as last derived. */
  #derivedOf(key: string): TrainerRecord | undefined {
    return this.#derived.get(key);
  }

  /** Tentative and confirmed engagements, sorted by start. */
  #busyOf(hub: string, trainerId: string): Range[] {
    const busy = this.#engagements.get(hub)?.get(trainerId);
    return busy ? [...busy.tentative, ...busy.confirmed].sort((a, b) => a.start - b.start || a.end - b.end) : [];
  }

  /** The competency framework's hierarchy as of the latest release known here. */
  competencyTree(): CompetencyTree {
    return this.#tree;
  }

  /** A trainer as indexed (this hub's, or another's as of its latest verified checkpoint): no personal data, only what queries use. */
  indexed(hub: string, trainerId: string): TrainerRecord | undefined {
    return this.#derivedOf(`${hub}/${trainerId}`);
  }

  #treeRelease: string | undefined;

  async #refreshTree(): Promise<void> {
    const latest = (await this.#core.releases()).at(-1)?.version;
    if (latest === this.#treeRelease) return;
    this.#treeRelease = latest;
    const core = await this.#core.content();
    const parents = new Map<string, string[]>();
    for (const a of core?.associations ?? []) {
      if (a.type !== "isChildOf") continue;
      parents.set(a.origin.identifier, [...(parents.get(a.origin.identifier) ?? []), a.destination.identifier]);
    }
    const items = (core?.items ?? []).map((i) => ({
      identifier: i.identifier,
      names: [i.identifier.toLowerCase(), i.code.toLowerCase()],
    }));
    const named = (name: string): string[] => {
      const n = name.trim().toLowerCase();
      if (n === "") return [];
      const exact = items.filter((i) => i.names.includes(n)).map((i) => i.identifier);
      if (exact.length > 0) return exact;
      return items
        .filter((i) => i.names.some((x) => x.startsWith(`${n}-`) || x.startsWith(`${n}.`)))
        .map((i) => i.identifier);
    };
    this.#tree = { parents: (c) => parents.get(c) ?? [], named };
  }

  /** The index's view of a trainer: only accreditations a held credential verifies, active now. */
  async #toRecord(hub: string, t: TrainerBase): Promise<TrainerRecord> {
    const { accreditations, issuers } = await accreditationsOf(
      this.#heldBy(hub, t.id),
      (c) => this.#credentials.verify(c, {}),
      (peer) => this.#membership.hubOf(peer),
    );
    this.#issuersOf.set(`${hub}/${t.id}`, issuers);
    return {
      hub,
      id: t.id,
      languages: t.languages,
      regions: t.regions,
      availability: t.availability,
      blackouts: t.blackouts,
      busy: this.#busyOf(hub, t.id),
      accreditations,
      claimed: t.claimed ?? [],
      deployments: t.deployments ?? [],
    };
  }

  /** The credentials a hub's trainer holds: in that hub's credentials document. */
  #heldBy(hub: string, trainerId: string): JsonObject[] {
    if (hub === this.#self) return this.#credentials.list(trainerId).held.map((h) => h.credential);
    const member = this.#membership.member(hub);
    const view = member ? this.#views.view(ownedDocumentId(member.directoryId, CREDENTIALS_KEY)) : undefined;
    return heldIn(view?.doc as Partial<CredentialsDoc> | undefined, trainerId);
  }

  /** A trainer's free/busy in a range (iCalendar), from the same records the index holds. */
  async freeBusy(hub: string, trainerId: string, range: { start: number; end: number }): Promise<string | undefined> {
    await this.#caughtUp();
    const record = this.#derivedOf(`${hub}/${trainerId}`);
    if (!record) return undefined;
    return toVFreeBusy({
      hub,
      hubName: this.#membership.member(hub)?.name,
      trainerId,
      range,
      availability: record.availability,
      blackouts: record.blackouts,
      tentative: this.#engagements.get(hub)?.get(trainerId)?.tentative ?? [],
      confirmed: this.#engagements.get(hub)?.get(trainerId)?.confirmed ?? [],
    });
  }

  /** Answers a query, ranked and paged; says per hub as of which checkpoint it answers. */
  async find(
    query: AvailabilityQuery,
    page: { size: number; offset: number },
  ): Promise<{ trainers: FoundTrainer[]; total: number; hubs: HubFreshness[]; claimedUnverified: number }> {
    await this.#caughtUp();
    await this.#refreshTree();
    const { matches, total, hubs: answering } = this.#index.page(query, this.#tree, page.offset, page.size);
    const trainers = matches.map((m) => ({ ...m, displayName: this.#names.get(`${m.hub}/${m.id}`) ?? "" }));
    const freshness = new Map(this.#views.freshness().map((f) => [f.hub, f]));
    // Every hub the answer could draw on, matched or not: "nobody matches" reads apart from "nothing received yet".
    const consulted = new Set([this.#self, ...answering]);
    for (const f of freshness.values())
      if (!f.removedAt && (query.hub === undefined || f.hub === query.hub)) consulted.add(f.hub);
    if (query.hub !== undefined && query.hub !== this.#self && !answering.has(this.#self)) consulted.delete(this.#self);
    const hubs = [...consulted].sort().map((hub) => {
      const trainersIndexed = this.#index.sizeOf(hub);
      if (hub === this.#self)
        return { hub, seq: 0, time: new Date().toISOString(), stale: false, verified: true, trainers: trainersIndexed };
      const f = freshness.get(hub);
      return {
        hub,
        seq: f?.latest?.seq ?? 0,
        time: f?.latest?.time ?? "",
        stale: f?.stale ?? true,
        verified: f?.latest !== undefined,
        trainers: trainersIndexed,
      };
    });
    // Only for an empty answer to a competency or module: cheap (posting lists), and only then useful.
    const claimedUnverified = total === 0 ? this.#index.claimedWithoutCredential(query, this.#tree) : 0;
    return { trainers, total, hubs, claimedUnverified };
  }
}

/** What the index keeps of a trainer's record besides what it derives (accreditations, busy time). */
type TrainerBase = Pick<
  TrainerRecord,
  "id" | "languages" | "regions" | "availability" | "blackouts" | "claimed" | "deployments"
>;

function baseOf(t: TrainerPublic): TrainerBase {
  return {
    id: t.id,
    languages: t.languages,
    regions: t.regions,
    availability: t.availability.map((r) => ({ start: ms(r.start), end: ms(r.end) })),
    blackouts: t.blackouts.map((r) => ({ start: ms(r.start), end: ms(r.end) })),
    claimed: [...new Set(t.accreditations.map((a) => a.competency))].sort(),
    // A deployment's last day is included: it ends at the start of the next day.
    deployments: (t.deployments ?? []).map((d) => ({
      module: d.module,
      country: d.country,
      end: ms(`${d.to}T00:00:00Z`) + DAY_MS,
    })),
  };
}

/** A record's stored text, digested (SHA-1 here is a change detector, not a security measure: the text was signed already). */
function digestOf(text: string): string {
  return createHash("sha1").update(text).digest("base64");
}

/** 3: records carry their deployments (a chunk of version 2 is re-read from its roster document). */
const CHUNK_VERSION = 3;

/**
 * A roster document's trainers as persisted: one JSON value (one parse at a restart), each record a
 * flat array, ranges and pairs flattened into number and string lists (no nested objects to build
 * but the record itself).
 */
interface Chunk {
  v: number;
  hub: string;
  /** The document's heads the records reflect (null: none yet, re-read at start). */
  heads: string | null;
  t: ChunkRecord[];
}

/**
 * [id, digest of the stored text (null: decode again), display name, languages as [tag, level, …],
 * regions, availability as [start, end, …], blackouts, busy, accreditations as [scheme, competency,
 * level, validFrom, validUntil, …], claimed, issuers, deployments as [module, country, end, …]]
 */
type ChunkRecord = [
  string,
  string | null,
  string,
  string[],
  string[],
  number[],
  number[],
  number[],
  Array<string | number>,
  string[],
  string[],
  Array<string | number>,
];

function flatRanges(ranges: readonly Range[]): number[] {
  const out = new Array<number>(ranges.length * 2);
  for (let i = 0; i < ranges.length; i += 1) {
    const r = ranges[i] as Range;
    out[2 * i] = r.start;
    out[2 * i + 1] = r.end;
  }
  return out;
}

function rangesOf(flat: readonly number[]): Range[] {
  const out = new Array<Range>(flat.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = { start: flat[2 * i] as number, end: flat[2 * i + 1] as number };
  return out;
}

function encodeChunkRecord(r: TrainerRecord, digest: string | null, name: string, issuers: string[]): ChunkRecord {
  return [
    r.id,
    digest,
    name,
    r.languages.flatMap((l) => [l.tag, l.level]),
    r.regions,
    flatRanges(r.availability),
    flatRanges(r.blackouts),
    flatRanges(r.busy),
    r.accreditations.flatMap((a) => [a.scheme, a.competency, a.level, a.validFrom, a.validUntil]),
    r.claimed ?? [],
    issuers,
    (r.deployments ?? []).flatMap((d) => [d.module, d.country, d.end]),
  ];
}

function decodeChunkRecord(hub: string, t: ChunkRecord): TrainerRecord {
  const [id, , , languages, regions, availability, blackouts, busy, accreditations, claimed, , served] = t;
  const deployments = new Array<NonNullable<TrainerRecord["deployments"]>[number]>((served ?? []).length / 3);
  for (let i = 0; i < deployments.length; i += 1) {
    const d = 3 * i;
    deployments[i] = {
      module: served[d] as string,
      country: served[d + 1] as string,
      end: served[d + 2] as number,
    };
  }
  const langs = new Array<{ tag: string; level: string }>(languages.length / 2);
  for (let i = 0; i < langs.length; i += 1)
    langs[i] = { tag: languages[2 * i] as string, level: languages[2 * i + 1] as string };
  const accs = new Array<TrainerRecord["accreditations"][number]>(accreditations.length / 5);
  for (let i = 0; i < accs.length; i += 1) {
    const a = 5 * i;
    accs[i] = {
      scheme: accreditations[a] as string,
      competency: accreditations[a + 1] as string,
      level: accreditations[a + 2] as string,
      validFrom: accreditations[a + 3] as number,
      validUntil: accreditations[a + 4] as number,
    };
  }
  return {
    hub,
    id,
    languages: langs,
    regions,
    availability: rangesOf(availability),
    blackouts: rangesOf(blackouts),
    busy: rangesOf(busy),
    accreditations: accs,
    claimed,
    deployments,
  };
}
