import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Logger } from "pino";
import { failedPrecondition, invalidArgument, notFound, unauthenticated } from "../errors.js";
import type { JsonSublevel, NodeStore } from "../storage/index.js";
import { Checker, quote } from "../text.js";
import { SerialQueue } from "../serial-queue.js";

/** Roles, weakest first: each can do everything the ones before it can. */
export const ROLES = ["viewer", "operator", "admin"] as const;
export type Role = (typeof ROLES)[number];

export interface Operator {
  id: string;
  name: string;
  role: Role;
  createdAt: string;
  createdBy: string;
  /** ISO time of revocation; absent while the credential is valid. */
  revokedAt?: string;
}

interface StoredOperator extends Operator {
  /** SHA-256 of the token's secret part, hex. Tokens carry 256 random bits, so a fast hash suffices. */
  secretHash: string;
}

const TOKEN_PREFIX = "cct";
const TOKEN_PATTERN = /^cct_([a-f0-9]{16})\.([A-Za-z0-9_-]{43})$/;

function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export function hasRole(actual: Role, required: Role): boolean {
  return ROLES.indexOf(actual) >= ROLES.indexOf(required);
}

export function parseRole(value: string, field = "role"): Role {
  if ((ROLES as readonly string[]).includes(value)) return value as Role;
  throw invalidArgument([{ field, description: `${quote(value)} is not a role (${ROLES.join(", ")})` }]);
}

/**
 * API credentials: operators with a role and a bearer token. Only a hash of each token is stored;
 * the token itself is shown once, when it is issued. Revoked operators stay listed, for the record.
 */
export class Operators {
  readonly #store: NodeStore;
  readonly #sublevel: JsonSublevel<unknown>;
  readonly #log: Logger | undefined;
  readonly #byId = new Map<string, StoredOperator>();
  /** Changes run one at a time, so a check ("another admin remains") holds until its write lands. */
  readonly #queue = new SerialQueue();
  readonly #revokedListeners = new Set<(operator: Operator) => void>();

  private constructor(store: NodeStore, logger?: Logger) {
    this.#store = store;
    this.#sublevel = store.operators;
    this.#log = logger;
  }

  static async open(store: NodeStore, logger?: Logger): Promise<Operators> {
    const operators = new Operators(store, logger);
    for await (const [id, value] of store.operators.iterator()) {
      operators.#byId.set(id, value as StoredOperator);
    }
    return operators;
  }

  list(): Operator[] {
    return [...this.#byId.values()]
      .map(({ secretHash: _secret, ...op }) => op)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#queue.run(fn);
  }

  /** Issues a credential. Resolves once it is persisted; the returned token is not stored anywhere. */
  add(name: string, role: Role, createdBy: string): Promise<{ operator: Operator; token: string }> {
    return this.#exclusive(() => this.#add(name, role, createdBy));
  }

  async #add(name: string, role: Role, createdBy: string): Promise<{ operator: Operator; token: string }> {
    const c = new Checker();
    const trimmed = c.text("name", name, { max: 100, required: true });
    if (c.violations.length > 0) throw invalidArgument(c.violations);
    const id = randomBytes(8).toString("hex");
    const secret = randomBytes(32).toString("base64url");
    const stored: StoredOperator = {
      id,
      name: trimmed,
      role,
      createdAt: new Date().toISOString(),
      createdBy,
      secretHash: hashSecret(secret),
    };
    await this.#store.batch([{ type: "put", sublevel: this.#sublevel, key: id, value: stored }]);
    this.#byId.set(id, stored);
    this.#log?.info({ operator: id, role, createdBy }, "operator added");
    const { secretHash: _secret, ...operator } = stored;
    return { operator, token: `${TOKEN_PREFIX}_${id}.${secret}` };
  }

  revoke(id: string, revokedBy: string): Promise<Operator> {
    return this.#exclusive(() => this.#revoke(id, revokedBy));
  }

  async #revoke(id: string, revokedBy: string): Promise<Operator> {
    const existing = this.#byId.get(id);
    if (!existing) throw notFound(`no operator ${quote(id)}`);
    if (existing.revokedAt) throw failedPrecondition(`operator '${id}' was already revoked at ${existing.revokedAt}`);
    if (existing.role === "admin") {
      const otherAdmins = [...this.#byId.values()].filter((o) => o.role === "admin" && !o.revokedAt && o.id !== id);
      if (otherAdmins.length === 0)
        throw failedPrecondition(`operator '${id}' is the last admin; add another admin first`);
    }
    const updated: StoredOperator = { ...existing, revokedAt: new Date().toISOString() };
    await this.#store.batch([{ type: "put", sublevel: this.#sublevel, key: id, value: updated }]);
    this.#byId.set(id, updated);
    this.#log?.info({ operator: id, revokedBy }, "operator revoked");
    const { secretHash: _secret, ...operator } = updated;
    for (const listener of this.#revokedListeners) {
      try {
        listener(operator);
      } catch (error) {
        this.#log?.error({ err: error }, "revocation listener failed");
      }
    }
    return operator;
  }

  /**
   * Calls `listener` once an operator's revocation is persisted (what holds a credential open, such
   * as an event stream, ends then). Returns the unsubscribe.
   */
  onRevoked(listener: (operator: Operator) => void): () => void {
    this.#revokedListeners.add(listener);
    return () => this.#revokedListeners.delete(listener);
  }

  /** The operator a bearer token belongs to; throws UNAUTHENTICATED for a malformed, unknown or revoked token. */
  authenticate(token: string): Operator {
    const match = TOKEN_PATTERN.exec(token);
    if (!match) throw unauthenticated("malformed credential: expected a token of the form cct_<id>.<secret>");
    const stored = this.#byId.get(match[1] as string);
    const given = Buffer.from(hashSecret(match[2] as string), "hex");
    const expected = Buffer.from(stored?.secretHash ?? "0".repeat(64), "hex");
    if (!stored || !timingSafeEqual(given, expected)) throw unauthenticated("unknown credential");
    if (stored.revokedAt)
      throw unauthenticated(`credential of operator '${stored.id}' was revoked at ${stored.revokedAt}`);
    const { secretHash: _secret, ...operator } = stored;
    return operator;
  }
}
