import type { Startable } from "../lifecycle.js";
import * as A from "@automerge/automerge";
import type { Logger } from "pino";
import type { OwnedDocuments } from "../documents/index.js";
import type { NodeStore } from "../storage/index.js";
import { CheckpointKind, nextSeq, signCheckpoint, type SignedCheckpoint } from "./checkpoint.js";
import { textOf } from "../documents/index.js";

export interface CheckpointerInit {
  federationId: string;
  /** This node's libp2p peer id: the signer. */
  peerId: string;
  /** Key of the directory document, where the signed entries go. */
  directoryKey: string;
  /** Writes are signed in batches this long after the first of them. */
  batchMs?: number;
  /** Idle documents get a heartbeat checkpoint this often, so an unchanged hub is not taken for a silent one. */
  heartbeatMs?: number;
  /** The clock (tests inject one). */
  now?: () => number;
}

export interface CheckpointerComponents {
  documents: OwnedDocuments;
  store: NodeStore;
  sign: (data: Uint8Array) => Promise<Uint8Array>;
  logger: Logger;
}

interface DirectoryDoc {
  checkpoints?: Record<string, unknown>;
  /** Release checkpoints, per document and version: the history of a release-only document. */
  releases?: Record<string, Record<string, unknown>>;
}

const SEQ_KEY = "checkpoint-seq";

/**
 * Signs checkpoints of this node's published documents — after writes (batched) and as idle
 * heartbeats — and stores each as an individually signed entry in the node's directory, keyed by
 * document id, so they replicate through the same mesh. The seq counter is persisted in the same
 * batch as the entries.
 */
export class Checkpointer implements Startable {
  readonly #init: Required<Omit<CheckpointerInit, "now">> & { now: () => number };
  readonly #documents: OwnedDocuments;
  readonly #store: NodeStore;
  readonly #sign: (data: Uint8Array) => Promise<Uint8Array>;
  readonly #log: Logger;
  readonly #pending = new Set<string>();
  #batchTimer: NodeJS.Timeout | undefined;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #started = false;
  #stopped = false;
  #unsubscribeCommits: (() => void) | undefined;

  constructor(init: CheckpointerInit, components: CheckpointerComponents) {
    this.#init = { batchMs: 50, heartbeatMs: 5 * 60_000, now: () => Date.now(), ...init };
    this.#documents = components.documents;
    this.#store = components.store;
    this.#sign = components.sign;
    this.#log = components.logger;
  }

  /** Signs what changed since the last checkpoints, then follows writes and heartbeats. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#unsubscribeCommits = this.#documents.onCommit((keys) => this.#noteChanged(keys));
    await this.#enqueue(() => this.#checkpoint(this.#replicatedKeys(), CheckpointKind.Checkpoint, true));
    this.#heartbeatTimer = setInterval(() => {
      void this.#enqueue(() => this.#checkpoint(this.#replicatedKeys(), CheckpointKind.Heartbeat, false));
    }, this.#init.heartbeatMs);
    this.#heartbeatTimer.unref();
  }

  /** Signs what is pending, then stops (anything left unsigned by a crash is signed at the next start). */
  async stop(): Promise<void> {
    if (!this.#started || this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    clearInterval(this.#heartbeatTimer);
    // Writes that land until the last batch is signed still join it.
    await this.#enqueue(() => this.#signPending());
    this.#unsubscribeCommits?.();
  }

  /** Signs the pending batch now (tests, shutdown paths). */
  async flush(): Promise<void> {
    clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    await this.#enqueue(() => this.#signPending());
  }

  /** The latest signed checkpoint of one of this node's documents, from its directory. */
  latest(documentId: string): SignedCheckpoint | undefined {
    const entry = this.#directory().checkpoints?.[documentId];
    return entry === undefined ? undefined : (JSON.parse(textOf(entry) ?? "") as SignedCheckpoint);
  }

  #directory(): DirectoryDoc {
    return this.#documents.get<DirectoryDoc>(this.#init.directoryKey);
  }

  /** Documents that get checkpoints and heartbeats: published on commit (not private, not release-only). */
  #replicatedKeys(): string[] {
    return this.#documents
      .describe()
      .filter((d) => d.replicated && !d.releaseOnly && d.key !== this.#init.directoryKey)
      .map((d) => d.key);
  }

  #noteChanged(keys: readonly string[]): void {
    // Only published documents are checkpointed: a private document's id and heads stay private,
    // and a release-only document's drafts are signed only by `release`.
    for (const key of keys) {
      if (
        key === this.#init.directoryKey ||
        !this.#documents.isReplicated(this.#documents.idOf(key)) ||
        this.#documents.isReleaseOnly(key)
      )
        continue;
      this.#pending.add(key);
    }
    if (this.#pending.size === 0 || this.#batchTimer || this.#stopped) return;
    this.#batchTimer = setTimeout(() => {
      this.#batchTimer = undefined;
      void this.#enqueue(() => this.#signPending());
    }, this.#init.batchMs);
  }

  /** Every release of a release-only document, as signed, oldest first (by seq). */
  releases(documentId: string): SignedCheckpoint[] {
    const entries = Object.values(this.#directory().releases?.[documentId] ?? {}).map(
      (e) => JSON.parse(textOf(e) ?? "") as SignedCheckpoint,
    );
    return entries.sort((a, b) => a.checkpoint.seq - b.checkpoint.seq);
  }

  /**
   * Signs a release of a release-only document at its current heads: a checkpoint of kind
   * `release` naming `version`, stored as the document's latest checkpoint and in its release
   * history, with the released heads in the same batch; then publishes the document up to them.
   * `check` runs inside the signing queue with the previous releases, to refuse (throw) before
   * anything is written.
   */
  release(key: string, version: string, check: (previous: SignedCheckpoint[]) => void): Promise<SignedCheckpoint> {
    let result: SignedCheckpoint | undefined;
    let failure: unknown;
    const job = async () => {
      try {
        const documentId = this.#documents.idOf(key);
        check(this.releases(documentId));
        let seq = ((await this.#store.meta.get(SEQ_KEY).catch(() => undefined)) as number | undefined) ?? 0;
        const last = this.latest(documentId);
        seq = nextSeq(Math.max(seq, last?.checkpoint.seq ?? 0), this.#init.now());
        const heads = [...A.getHeads(this.#documents.get(key))].sort();
        const entry = await signCheckpoint(
          {
            federationId: this.#init.federationId,
            owner: this.#init.peerId,
            documentId,
            heads,
            seq,
            time: new Date(this.#init.now()).toISOString(),
            kind: CheckpointKind.Release,
            version,
          },
          this.#sign,
        );
        await this.#documents.transact(
          { operatorId: "system", action: "checkpoint.release", subjects: [version] },
          () => ({
            edits: [
              {
                key: this.#init.directoryKey,
                change: (doc) => {
                  const directory = doc as DirectoryDoc;
                  directory.checkpoints ??= {};
                  directory.releases ??= {};
                  directory.releases[documentId] ??= {};
                  const signed = new A.ImmutableString(JSON.stringify(entry));
                  directory.checkpoints[documentId] = signed;
                  (directory.releases[documentId] as Record<string, unknown>)[version] = new A.ImmutableString(
                    JSON.stringify(entry),
                  );
                },
              },
            ],
            extra: [
              { type: "put", sublevel: this.#store.meta, key: SEQ_KEY, value: seq },
              this.#documents.releasedHeadsOperation(key, heads),
            ],
            result: undefined,
          }),
        );
        await this.#documents.publishRelease(key, heads);
        this.#log.info({ document: documentId, version, seq }, "signed a release");
        result = entry;
      } catch (error) {
        failure = error;
      }
    };
    return this.#enqueue(job).then(() => {
      if (failure !== undefined) throw failure;
      return result as SignedCheckpoint;
    });
  }

  #enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.#running
      .then(job)
      .catch((error: unknown) => this.#log.error({ err: error }, "signing checkpoints failed"));
    this.#running = run;
    return run;
  }

  async #signPending(): Promise<void> {
    const keys = [...this.#pending];
    this.#pending.clear();
    await this.#checkpoint(keys, CheckpointKind.Checkpoint, true);
  }

  /**
   * Signs a checkpoint of each document in `keys` at its current heads (only where they moved since
   * the last one, if `onlyChanged`), and writes all entries and the seq in one transaction.
   */
  async #checkpoint(keys: readonly string[], kind: CheckpointKind, onlyChanged: boolean): Promise<void> {
    if (keys.length === 0) return;
    let seq = ((await this.#store.meta.get(SEQ_KEY).catch(() => undefined)) as number | undefined) ?? 0;
    const entries: SignedCheckpoint[] = [];
    for (const key of keys) {
      if (!this.#documents.has(key)) continue;
      const documentId = this.#documents.idOf(key);
      const heads = [...A.getHeads(this.#documents.get(key))].sort();
      const last = this.latest(documentId);
      // Unchanged and signed with the current key: nothing to sign (after a key rotation, everything
      // is signed again with the new key, since the old key's checkpoints stop counting).
      if (
        onlyChanged &&
        last &&
        last.checkpoint.heads.join(",") === heads.join(",") &&
        last.checkpoint.owner === this.#init.peerId
      )
        continue;
      seq = nextSeq(Math.max(seq, last?.checkpoint.seq ?? 0), this.#init.now());
      entries.push(
        await signCheckpoint(
          {
            federationId: this.#init.federationId,
            owner: this.#init.peerId,
            documentId,
            heads,
            seq,
            time: new Date(this.#init.now()).toISOString(),
            kind,
          },
          this.#sign,
        ),
      );
    }
    if (entries.length === 0) return;
    await this.#documents.transact({ operatorId: "system", action: `checkpoint.${kind}` }, () => ({
      edits: [
        {
          key: this.#init.directoryKey,
          change: (doc) => {
            const directory = doc as DirectoryDoc;
            if (!directory.checkpoints) directory.checkpoints = {};
            for (const entry of entries)
              directory.checkpoints[entry.checkpoint.documentId] = new A.ImmutableString(JSON.stringify(entry));
          },
        },
      ],
      extra: [{ type: "put", sublevel: this.#store.meta, key: SEQ_KEY, value: seq }],
      result: undefined,
    }));
    // Which documents, at which heads: a reader (the bench, an operator) can tell whether a given
    // write is signed yet without reading the directory.
    const signed = entries.map((e) => ({
      document: e.checkpoint.documentId,
      seq: e.checkpoint.seq,
      heads: e.checkpoint.heads,
    }));
    this.#log.debug({ kind, documents: entries.length, seq, signed }, "signed checkpoints");
  }
}
