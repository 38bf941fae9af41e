import { currentKey, type CharterMember, type CharterState } from "./charter.js";
import { directoryIdOf, hubId, type PeerId } from "../ids.js";

/** Where the charter this node acts on came from. */
export interface CharterSource {
  /** `authoring`: this node is the secretariat; `verified`: a checkpoint the trust anchor signed. */
  kind: "authoring" | "verified";
  seq?: number;
  time?: string;
}

/**
 * How long a removed member may still connect after its removal (at most; see `Membership`): long
 * enough for its hub to receive the charter that removes it, so that it knows, short enough that a
 * hub removed for cause is gone within minutes. Meanwhile it is shown only the charter and the
 * secretariat's directory, and nothing it sends is admitted (docs/secretariat.md, "Trust and membership").
 */
export const REMOVAL_NOTICE_MS = 120_000;

/** The hub id the trust anchor goes by before a charter names it. */
const SECRETARIAT = hubId("secretariat");

export interface MembershipInit {
  federationId: string;
  /** The trust anchor: the secretariat's peer id, from the config. */
  anchor: PeerId | undefined;
  /**
   * A rotated-out key may still connect this long after its rotation, to learn of it. A removed
   * member's keys may for the removal notice window: this, but at most `REMOVAL_NOTICE_MS` (0 turns
   * both off: a removed member is refused at once, and never learns it was removed).
   */
  rotationGraceMs: number;
  now?: () => number;
}

/**
 * The charter as this node currently trusts it, and the questions everyone else asks of it: who may
 * connect, which member a key or a directory belongs to. It changes only when a newer charter is
 * verified (or, at the secretariat, written); listeners hear every change.
 */
export class Membership {
  readonly federationId: string;
  readonly anchor: PeerId | undefined;
  readonly #graceMs: number;
  readonly #noticeMs: number;
  readonly #now: () => number;
  #state: CharterState | undefined;
  #source: CharterSource | undefined;
  readonly #listeners = new Set<(state: CharterState) => void>();

  constructor(init: MembershipInit) {
    this.federationId = init.federationId;
    this.anchor = init.anchor;
    this.#graceMs = init.rotationGraceMs;
    this.#noticeMs = Math.min(init.rotationGraceMs, REMOVAL_NOTICE_MS);
    this.#now = init.now ?? Date.now;
  }

  /** The trusted charter, or undefined before one is verified. */
  get state(): CharterState | undefined {
    return this.#state;
  }

  get source(): CharterSource | undefined {
    return this.#source;
  }

  update(state: CharterState, source: CharterSource): void {
    this.#state = state;
    this.#source = source;
    for (const listener of this.#listeners) listener(state);
  }

  onChange(listener: (state: CharterState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  members(): CharterMember[] {
    return this.#state?.members ?? [];
  }

  member(hub: string): CharterMember | undefined {
    return this.#state?.members.find((m) => m.hub === hub);
  }

  /** The member that holds (or held) `peerId`. */
  holderOf(peerId: string): CharterMember | undefined {
    return this.#state?.members.find((m) => m.keys.some((k) => k.peerId === peerId));
  }

  memberByDirectory(directoryId: string): CharterMember | undefined {
    return this.#state?.members.find((m) => m.directoryId === directoryId);
  }

  /**
   * Whose signatures count in a directory: its member's, as the charter says; or, for the
   * secretariat's directory before any charter is verified, the trust anchor's alone (the charter
   * itself is signed there).
   */
  ownerOfDirectory(directoryId: string): CharterMember | undefined {
    const member = this.memberByDirectory(directoryId);
    if (member || !this.anchor) return member;
    const anchorDirectory = directoryIdOf(this.anchor);
    if (directoryId !== anchorDirectory) return undefined;
    return {
      hub: SECRETARIAT,
      name: "",
      region: "",
      role: "secretariat",
      directoryId: anchorDirectory,
      addresses: [],
      keys: [{ peerId: this.anchor, from: "" }],
      admittedAt: "",
    };
  }

  /**
   * May this peer connect? The trust anchor always; a member's current key; a key rotated out less
   * than the grace period ago (so that its hub can still receive the charter that rotates it); the
   * keys of a member removed less than the removal notice window ago (so that its hub can still
   * receive the charter that removes it). Neither of the last two is shown more than the charter
   * (see `Federation.mayShare`) or dialled, and neither signs for anyone.
   */
  allowed(peerId: string): boolean {
    if (peerId === this.anchor) return true;
    const member = this.holderOf(peerId);
    if (!member) return false;
    if (member.removedAt && !this.inRemovalNotice(member)) return false;
    // The key that is (or, for a removed member, was) current; or one rotated out within the grace.
    if (member.keys.findLast((k) => !k.until)?.peerId === peerId) return true;
    const until = member.keys.find((k) => k.peerId === peerId)?.until;
    return until !== undefined && this.#now() - Date.parse(until) < this.#graceMs;
  }

  /** Was `member` removed less than the removal notice window ago? */
  inRemovalNotice(member: CharterMember): boolean {
    if (!member.removedAt) return false;
    // A clock a little behind the secretariat's reads a removal in the future: still within it.
    return this.#now() - Date.parse(member.removedAt) < this.#noticeMs;
  }

  /**
   * The next time (ms since the epoch) at which a key the charter still lets connect stops being
   * allowed (a rotation grace period or a removal notice window ends), or undefined if none will.
   */
  nextExpiry(): number | undefined {
    const now = this.#now();
    let next: number | undefined;
    const consider = (at: number) => {
      if (at > now && (next === undefined || at < next)) next = at;
    };
    for (const member of this.members()) {
      if (member.removedAt) consider(Date.parse(member.removedAt) + this.#noticeMs);
      for (const key of member.keys) if (key.until) consider(Date.parse(key.until) + this.#graceMs);
    }
    return next;
  }

  /** Is `peerId` the current key of a member that is not removed? */
  isCurrentKey(peerId: string): boolean {
    const member = this.holderOf(peerId);
    return member !== undefined && !member.removedAt && currentKey(member) === peerId;
  }

  /** Hub id for a peer id, for logs and status ("" for unknown). */
  hubOf(peerId: string): string {
    return this.holderOf(peerId)?.hub ?? "";
  }
}
