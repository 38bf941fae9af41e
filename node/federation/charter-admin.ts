import type { Startable } from "../lifecycle.js";
import type { Logger } from "pino";
import { DocumentType, type OwnedDocuments } from "../documents/index.js";
import { alreadyExists, failedPrecondition } from "../errors.js";
import {
  encodeMember,
  initialCharter,
  planAdmit,
  planRemove,
  planRotateKey,
  readCharter,
  type AdmitRequest,
  type CharterMember,
  type CharterState,
} from "./charter.js";
import { CHARTER_KEY, charterIdOf, directoryIdOf } from "../ids.js";
import type { Membership } from "./membership.js";

export interface CharterAdminInit {
  hubId: string;
  name: string;
  region: string;
  role: "hub" | "secretariat";
  peerId: string;
  directoryId: string;
  federationId: string;
}

/**
 * The secretariat's side of the charter: creating it, admitting, removing and re-keying members.
 * Every edit is checked against the current charter first and written to the secretariat's authoring
 * copy in one transaction; the checkpointer then signs it like any other document, and this node's
 * own membership follows the authoring copy. On a hub, every method refuses.
 */
export class CharterAdmin implements Startable {
  readonly #init: CharterAdminInit;
  readonly #documents: OwnedDocuments;
  readonly #membership: Membership;
  readonly #log: Logger;

  /** The newest seq this node has verified from a member (the cutoff recorded at removal and rotation). */
  readonly #lastSeqOf: (hub: string) => number | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(
    init: CharterAdminInit,
    components: {
      documents: OwnedDocuments;
      membership: Membership;
      logger: Logger;
      lastSeqOf?: (hub: string) => number | undefined;
    },
  ) {
    this.#init = init;
    this.#lastSeqOf = components.lastSeqOf ?? (() => undefined);
    this.#documents = components.documents;
    this.#membership = components.membership;
    this.#log = components.logger;
  }

  /** At the secretariat: membership follows the authoring copy of the charter. */
  start(): void {
    if (!this.#isSecretariat() || this.#unsubscribe) return;
    this.#unsubscribe = this.#documents.onCommit((keys) => {
      if (keys.includes(CHARTER_KEY)) this.#publish();
    });
    if (this.#documents.has(CHARTER_KEY)) this.#publish();
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  #isSecretariat(): boolean {
    return this.#init.role === "secretariat" && this.#membership.anchor === this.#init.peerId;
  }

  #publish(): void {
    const { state, problems } = readCharter(this.#documents.get(CHARTER_KEY));
    for (const problem of problems) this.#log.error({ problem }, "the charter holds a record that does not parse");
    this.#membership.update(state, { kind: "authoring" });
  }

  #requireSecretariat(): void {
    if (this.#init.role !== "secretariat")
      throw failedPrecondition("only the secretariat edits the charter; this node is a hub");
    if (this.#membership.anchor !== this.#init.peerId) {
      throw failedPrecondition(
        `federation.anchor in this node's config is ${this.#membership.anchor ?? "unset"}, not this node's peer id ${this.#init.peerId}`,
      );
    }
  }

  #current(): CharterState {
    this.#requireSecretariat();
    if (!this.#documents.has(CHARTER_KEY))
      throw failedPrecondition("there is no charter yet; run `concordat federation create` first");
    return readCharter(this.#documents.get(CHARTER_KEY)).state;
  }

  /** Creates the charter, with the secretariat as its first member. */
  async create(operatorId: string, addresses: string[]): Promise<CharterMember> {
    this.#requireSecretariat();
    if (this.#documents.has(CHARTER_KEY))
      throw alreadyExists(`federation '${this.#init.federationId}' already has a charter`);
    const now = new Date().toISOString();
    const empty = { federationId: this.#init.federationId, anchor: this.#init.peerId, members: [] };
    const self = planAdmit(
      empty,
      {
        hub: this.#init.hubId,
        peerId: this.#init.peerId,
        name: this.#init.name,
        region: this.#init.region,
        role: "secretariat",
        addresses,
        directoryId: this.#init.directoryId,
      },
      directoryIdOf,
      now,
    );
    await this.#documents.transact({ operatorId, action: "federation.create", subjects: [self.hub] }, () => ({
      create: [
        {
          key: CHARTER_KEY,
          id: charterIdOf(this.#init.peerId),
          type: DocumentType.Charter,
          replicated: true,
          initial: initialCharter(this.#init.federationId, this.#init.peerId),
        },
      ],
      edits: [
        {
          key: CHARTER_KEY,
          subject: self.hub,
          change: (doc) => void ((doc.members as Record<string, unknown>)[self.hub] = encodeMember(self)),
        },
      ],
      result: undefined,
    }));
    this.#log.info({ federation: this.#init.federationId }, "federation created");
    return self;
  }

  admit(operatorId: string, request: AdmitRequest): Promise<CharterMember> {
    return this.#write(operatorId, "federation.admit", (state, now) => planAdmit(state, request, directoryIdOf, now));
  }

  remove(operatorId: string, hub: string): Promise<CharterMember> {
    return this.#write(operatorId, "federation.remove", (state, now) =>
      planRemove(state, hub, now, this.#lastSeqOf(hub)),
    );
  }

  rotateKey(operatorId: string, hub: string, peerId: string): Promise<CharterMember> {
    return this.#write(operatorId, "federation.rotate-key", (state, now) =>
      planRotateKey(state, hub, peerId, now, this.#lastSeqOf(hub)),
    );
  }

  /** Plans against the charter as it is inside the transaction (so two edits never race), then writes. */
  async #write(
    operatorId: string,
    action: string,
    plan: (state: CharterState, now: string) => CharterMember,
  ): Promise<CharterMember> {
    this.#current();
    const member = await this.#documents.transact({ operatorId, action }, () => {
      const record = plan(this.#current(), new Date().toISOString());
      return {
        edits: [
          {
            key: CHARTER_KEY,
            subject: record.hub,
            change: (doc) => void ((doc.members as Record<string, unknown>)[record.hub] = encodeMember(record)),
          },
        ],
        result: record,
      };
    });
    this.#log.info(
      { action, member: member.hub, keys: member.keys.length, removedAt: member.removedAt },
      "charter changed",
    );
    return member;
  }
}
