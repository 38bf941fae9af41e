import type { VerifiedViews } from "../authority/index.js";
import type { ChangeRecord } from "../documents/index.js";
import { failedPrecondition, invalidArgument, notFound } from "../errors.js";
import { ownedDocumentId, type Membership } from "../federation/index.js";
import { Checker, quote } from "../text.js";
import { decodeTrainer } from "./records.js";
import type { Roster } from "./roster.js";
import { shardOf, type Trainer, type TrainerPublic } from "./trainer.js";

/** Another hub's trainer as this node verified it: the record, and the checkpoint it is read at. */
export interface ForeignTrainer {
  record: TrainerPublic | undefined;
  /** The checkpoint seq of the roster shard read (0: no verified view of it). */
  seq: number;
  /** Why there is no record (when there is none). */
  missing: string;
}

/** Whether a move is signed by both hubs: the other side's signed roster says the same. */
export interface MoveCheck {
  /** True when the trainer has moved (either way) and the other hub's verified roster agrees. */
  confirmed: boolean;
  /** What was checked, for people: "" when the trainer never moved. */
  detail: string;
}

export interface TrainerHistory {
  trainer: TrainerPublic;
  /** Who changed the record here (this hub's trainers only). */
  changes: ChangeRecord[];
  move: MoveCheck;
  /** 0 for this hub's trainer (live); else the checkpoint the record was read at. */
  seq: number;
}

/**
 * Moving a trainer between hubs, and reading any hub's trainer records, as signed. Hub A releases
 * a trainer to B (A's record says moved to B); B accepts it only when A's record, as of A's latest
 * verified checkpoint, says so, and copies its public part with its history (B's record says moved
 * from A). Each record is signed by its own hub's checkpoints: together they are "signed by both".
 */
export class TrainerMoves {
  readonly #self: string;
  readonly #roster: Roster;
  readonly #views: VerifiedViews;
  readonly #membership: Membership;

  constructor(init: { hubId: string }, c: { roster: Roster; views: VerifiedViews; membership: Membership }) {
    this.#self = init.hubId;
    this.#roster = c.roster;
    this.#views = c.views;
    this.#membership = c.membership;
  }

  /** `hub`'s trainer `id`, as of `hub`'s latest verified checkpoint of the roster shard holding it. */
  foreign(hub: string, id: string): ForeignTrainer {
    const member = this.#membership.member(hub);
    if (!member) return { record: undefined, seq: 0, missing: `${quote(hub)} is not a member hub` };
    const first = this.#views.view(ownedDocumentId(member.directoryId, "roster/0"));
    const shards = (first?.doc as { shards?: unknown } | undefined)?.shards;
    if (!first || typeof shards !== "number")
      return { record: undefined, seq: 0, missing: `no signed roster of ${hub} has verified here yet` };
    const view = this.#views.view(ownedDocumentId(member.directoryId, `roster/${shardOf(id, shards)}`));
    if (!view) return { record: undefined, seq: 0, missing: `no signed roster of ${hub} has verified here yet` };
    const trainers = (view.doc as { trainers?: Record<string, unknown> }).trainers ?? {};
    const seq = view.checkpoint.seq;
    if (!Object.hasOwn(trainers, id))
      return {
        record: undefined,
        seq,
        missing: `${hub}'s signed roster (checkpoint ${seq}) has no trainer ${quote(id)}`,
      };
    try {
      return { record: decodeTrainer(trainers[id]), seq, missing: "" };
    } catch {
      return { record: undefined, seq, missing: `${hub}'s record of ${quote(id)} does not decode` };
    }
  }

  /** Checks the hub a trainer is released to: a member, other than this hub. Every problem named. */
  async release(id: string, to: string, operatorId: string): Promise<Trainer> {
    const c = new Checker();
    const trainerId = c.text("id", id, { max: 128, required: true });
    const hub = c.text("to_hub", to, { max: 63, required: true });
    if (hub !== "" && hub === this.#self) c.fail("to_hub", "is this hub; release a trainer to another hub");
    else if (hub !== "" && !this.#membership.member(hub))
      c.fail("to_hub", `${quote(hub)} is not a member hub of the federation`);
    if (trainerId !== "" && !this.#roster.has(trainerId))
      throw notFound(`trainer ${quote(trainerId)} is not in this hub's roster: a hub releases only its own trainers`);
    if (c.violations.length > 0) throw invalidArgument(c.violations);
    return this.#roster.release(trainerId, hub, operatorId);
  }

  /**
   * Accepts `from`'s trainer `id`: refused unless `from`'s verified roster says the trainer moved
   * to this hub. The personal part is not copied (it never left `from`).
   */
  async accept(from: string, id: string, operatorId: string): Promise<Trainer> {
    const c = new Checker();
    const hub = c.text("from_hub", from, { max: 63, required: true });
    const trainerId = c.text("id", id, { max: 128, required: true });
    if (hub !== "" && hub === this.#self) c.fail("from_hub", "is this hub; accept a trainer another hub released");
    else if (hub !== "" && !this.#membership.member(hub))
      c.fail("from_hub", `${quote(hub)} is not a member hub of the federation`);
    if (c.violations.length > 0) throw invalidArgument(c.violations);
    const found = this.foreign(hub, trainerId);
    if (!found.record) throw failedPrecondition(`cannot accept ${hub}/${trainerId}: ${found.missing}`);
    const moved = found.record.movedTo;
    if (moved?.hub !== this.#self)
      throw failedPrecondition(
        `cannot accept ${hub}/${trainerId}: ${hub}'s signed roster (checkpoint ${found.seq}) does not say the trainer moved to ${this.#self}${moved ? ` (it says moved to ${moved.hub})` : ""}; ${hub} releases first (\`concordat trainers release ${trainerId} --to ${this.#self}\` at ${hub})`,
      );
    return this.#roster.accept(hub, found.record, operatorId);
  }

  /** A trainer's record with its history: this hub's live, another's as of its latest verified checkpoint. */
  history(hub: string, id: string): TrainerHistory {
    if (hub === "" || hub === this.#self) {
      const trainer = this.#roster.get(id, false);
      return { trainer, changes: this.#roster.history(id), move: this.#check(this.#self, trainer), seq: 0 };
    }
    const found = this.foreign(hub, id);
    if (!found.record) throw notFound(found.missing);
    return { trainer: found.record, changes: [], move: this.#check(hub, found.record), seq: found.seq };
  }

  /**
   * Does the other side of a move, as signed, agree with what `hub`'s record of a trainer says? The
   * latest move counts: a record both moved from and moved to (a trainer who came and left) is
   * checked against where they went.
   */
  #check(hub: string, t: TrainerPublic): MoveCheck {
    const read = (other: string, otherId: string) =>
      other === this.#self
        ? {
            record: this.#roster.has(otherId) ? this.#roster.get(otherId, false) : undefined,
            seq: 0,
            missing: `no trainer ${quote(otherId)} here`,
          }
        : this.foreign(other, otherId);
    if (t.movedTo) {
      const there = read(t.movedTo.hub, t.id);
      const from = there.record?.movedFrom;
      const ok = from?.hub === hub && from.id === t.id;
      return {
        confirmed: ok,
        detail: ok
          ? `${t.movedTo.hub}'s signed roster says it accepted ${t.id} from ${hub} on ${from?.on}`
          : `released to ${t.movedTo.hub}; not accepted there yet (as far as this node has verified)`,
      };
    }
    if (t.movedFrom) {
      const { hub: from, id } = t.movedFrom;
      const there = read(from, id);
      const ok = there.record?.movedTo?.hub === hub;
      return {
        confirmed: ok,
        detail: ok
          ? `${from}'s signed roster says ${id} moved to ${hub} on ${there.record?.movedTo?.on}`
          : `NOT confirmed: ${there.record ? `${from}'s signed roster does not say ${id} moved to ${hub}` : there.missing}`,
      };
    }
    return { confirmed: false, detail: "" };
  }
}
