import * as A from "@automerge/automerge";
import { peerIdFromString } from "@libp2p/peer-id";
import { z } from "zod";
import { ConcordatError, ErrorCode, invalidArgument, type FieldViolation } from "../errors.js";
import { textOf } from "../documents/index.js";
import {
  type DocumentId,
  documentIdProblem,
  HUB_ID_PATTERN,
  type HubId,
  isDocumentId,
  isHubId,
  isPeerId,
  PEER_ID_PATTERN,
  type PeerId,
} from "../ids.js";
import { Checker, quote, TextKind } from "../text.js";

/**
 * The charter (docs/architecture.md, "Documents and ownership"): the secretariat's signed statement of
 * who is in the federation. One record per member, keyed by hub id, stored as canonical JSON in an
 * immutable string (records are replaced whole; only the secretariat's authoring copy writes them,
 * and readers take the charter only as of a checkpoint the trust anchor signed).
 */

export { PEER_ID_PATTERN };
/** A libp2p multiaddr to dial (`/ip4/…/tcp/…`), or `host:port` of a gRPC API. */
const LIBP2P_ADDRESS = /^\/ip[46]\/[^/\s]+\/tcp\/\d{1,5}$/;
const GRPC_ADDRESS = /^[^\s:/]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

export type MemberRole = "hub" | "secretariat";

export interface CharterKey {
  peerId: PeerId;
  /** When the secretariat recorded this key (ISO 8601 UTC). */
  from: string;
  /** When it was rotated out: checkpoints it signs with a later time are rejected. */
  until?: string;
  /**
   * The newest seq the secretariat had verified from this member when it rotated the key out:
   * nothing the key signs above it counts, whatever time it claims (a key holder can back-date).
   */
  untilSeq?: number;
}

export interface CharterMember {
  hub: HubId;
  name: string;
  region: string;
  role: MemberRole;
  /** Its directory document (derived from its first key; kept across rotations). */
  directoryId: DocumentId;
  /** libp2p multiaddrs and gRPC host:port addresses others dial. */
  addresses: string[];
  /** Every key it has had, oldest first; the last one without `until` is current. */
  keys: CharterKey[];
  admittedAt: string;
  /** Set when removed: nothing it signs after this counts, and it may not connect once the removal notice window (membership.ts) has passed. */
  removedAt?: string;
  /** The newest seq the secretariat had verified from it when it was removed: nothing above counts. */
  removedAfterSeq?: number;
}

export interface CharterState {
  federationId: string;
  /** The secretariat's peer id (the trust anchor). */
  anchor: string;
  members: CharterMember[];
}

const iso = z.string().refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO 8601 time");
const memberSchema = z
  .object({
    hub: z.string().regex(HUB_ID_PATTERN).pipe(z.custom<HubId>(isHubId)),
    name: z.string().min(1).max(200),
    region: z.string().max(100),
    role: z.enum(["hub", "secretariat"]),
    directoryId: z.custom<DocumentId>(isDocumentId, "must be a document id"),
    addresses: z.array(z.string().max(300)).max(16),
    keys: z
      .array(
        z
          .object({
            peerId: z.string().regex(PEER_ID_PATTERN).pipe(z.custom<PeerId>(isPeerId)),
            from: iso,
            until: iso.optional(),
            untilSeq: z.number().int().min(0).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(64),
    admittedAt: iso,
    removedAt: iso.optional(),
    removedAfterSeq: z.number().int().min(0).optional(),
  })
  .strict();

/** The charter's initial content (header excluded), for the secretariat's `federation create`. */
export function initialCharter(federationId: string, anchor: string): Record<string, unknown> {
  return { federationId: new A.ImmutableString(federationId), anchor: new A.ImmutableString(anchor), members: {} };
}

export function encodeMember(member: CharterMember): A.ImmutableString {
  const { hub, name, region, role, directoryId, addresses, keys, admittedAt, removedAt, removedAfterSeq } = member;
  return new A.ImmutableString(
    JSON.stringify({
      hub,
      name,
      region,
      role,
      directoryId,
      addresses,
      keys: keys.map((k) => ({
        peerId: k.peerId,
        from: k.from,
        ...(k.until ? { until: k.until } : {}),
        ...(k.untilSeq !== undefined ? { untilSeq: k.untilSeq } : {}),
      })),
      admittedAt,
      ...(removedAt ? { removedAt } : {}),
      ...(removedAfterSeq !== undefined ? { removedAfterSeq } : {}),
    }),
  );
}

/**
 * Reads a charter document (the secretariat's authoring copy, or a verified view). Records that do
 * not parse are left out and named in `problems`: only the secretariat writes the charter, so a
 * problem here means a bug or a newer schema, never a reason to trust less carefully.
 */
export function readCharter(doc: unknown): { state: CharterState; problems: string[] } {
  const d = (doc ?? {}) as { federationId?: unknown; anchor?: unknown; members?: Record<string, unknown> };
  const problems: string[] = [];
  const members: CharterMember[] = [];
  for (const [hub, raw] of Object.entries(d.members ?? {})) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(textOf(raw) ?? "");
    } catch {
      problems.push(`member '${hub}' is not JSON`);
      continue;
    }
    const result = memberSchema.safeParse(parsed);
    if (!result.success) {
      problems.push(
        `member '${hub}': ${result.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`,
      );
      continue;
    }
    if (result.data.hub !== hub) {
      problems.push(`member record under '${hub}' names hub '${result.data.hub}'`);
      continue;
    }
    const m = result.data;
    members.push({
      hub: m.hub,
      name: m.name,
      region: m.region,
      role: m.role,
      directoryId: m.directoryId,
      addresses: m.addresses,
      keys: m.keys.map((k) => ({
        peerId: k.peerId,
        from: k.from,
        ...(k.until ? { until: k.until } : {}),
        ...(k.untilSeq !== undefined ? { untilSeq: k.untilSeq } : {}),
      })),
      admittedAt: m.admittedAt,
      ...(m.removedAt ? { removedAt: m.removedAt } : {}),
      ...(m.removedAfterSeq !== undefined ? { removedAfterSeq: m.removedAfterSeq } : {}),
    });
  }
  members.sort((a, b) => a.hub.localeCompare(b.hub));
  // A directory belongs to one member: a charter giving two members the same one keeps the first
  // admitted and names the other (the secretariat's edits refuse this; a reader never trusts it).
  const byDirectory = new Map<string, CharterMember>();
  for (const m of [...members].sort((a, b) => a.admittedAt.localeCompare(b.admittedAt))) {
    const holder = byDirectory.get(m.directoryId);
    if (holder) problems.push(`member '${m.hub}' claims the directory of '${holder.hub}'; left out`);
    else byDirectory.set(m.directoryId, m);
  }
  const unique = members.filter((m) => byDirectory.get(m.directoryId) === m);
  members.length = 0;
  members.push(...unique);
  return { state: { federationId: textOf(d.federationId) ?? "", anchor: textOf(d.anchor) ?? "", members }, problems };
}

/** The member's current key (the last without `until`), or undefined once removed or rotated out. */
export function currentKey(member: CharterMember): PeerId | undefined {
  if (member.removedAt) return undefined;
  return member.keys.findLast((k) => !k.until)?.peerId;
}

/**
 * Why a checkpoint signed by `signed.owner` does not count as `member`'s, or undefined when it
 * does: the key must be one the charter gives the member; a key rotated out (or a member removed)
 * counts only for what it signed before — by time, and, since a key holder chooses the time, by
 * seq: nothing above the newest seq the secretariat had verified when it recorded the change.
 */
export function signerProblem(
  member: CharterMember,
  signed: { owner: string; time: string; seq: number },
): string | undefined {
  const { owner: peerId, time, seq } = signed;
  const key = member.keys.find((k) => k.peerId === peerId);
  if (!key) return `signed by ${peerId}, which the charter does not give hub '${member.hub}'`;
  const t = Date.parse(time);
  if (Number.isNaN(t)) return `its time '${time}' is not a time`;
  if (key.until && Date.parse(key.until) <= t)
    return `key ${peerId} of hub '${member.hub}' was rotated out at ${key.until}, before the checkpoint's time ${time}`;
  if (key.untilSeq !== undefined && seq > key.untilSeq)
    return `key ${peerId} of hub '${member.hub}' was rotated out after seq ${key.untilSeq}; this checkpoint has seq ${seq}`;
  if (member.removedAt && Date.parse(member.removedAt) <= t)
    return `hub '${member.hub}' was removed at ${member.removedAt}, before the checkpoint's time ${time}`;
  if (member.removedAfterSeq !== undefined && seq > member.removedAfterSeq)
    return `hub '${member.hub}' was removed after seq ${member.removedAfterSeq}; this checkpoint has seq ${seq}`;
  return undefined;
}

/** libp2p multiaddrs among a member's addresses. */
export function libp2pAddresses(member: Pick<CharterMember, "addresses">): string[] {
  return member.addresses.filter((a) => LIBP2P_ADDRESS.test(a));
}

/** gRPC host:port addresses among a member's addresses. */
export function grpcAddresses(member: Pick<CharterMember, "addresses">): string[] {
  return member.addresses.filter((a) => GRPC_ADDRESS.test(a));
}

// ---------------------------------------------------------------------------------------------
// the secretariat's edits: checked here, before anything is written

/** INVALID_ARGUMENT whose message names every problem (the details carry them field by field too). */
function refused(what: string, violations: FieldViolation[]) {
  return invalidArgument(violations, `${what}: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`);
}

/**
 * A request that is well formed but clashes with the charter as it is (a member already, a key or
 * directory another hub holds, a hub already removed): ALREADY_EXISTS or FAILED_PRECONDITION, so
 * that the CLI exits 6 ("conflict") rather than 2 ("bad input"). Bad input wins when there is both.
 */
function conflicting(code: ErrorCode, what: string, violations: FieldViolation[]) {
  return new ConcordatError(
    code,
    `${what}: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`,
    violations,
  );
}

function checkPeerId(field: string, peerId: string, violations: FieldViolation[]): void {
  if (!PEER_ID_PATTERN.test(peerId)) {
    violations.push({ field, description: `${quote(peerId)} is not an Ed25519 libp2p peer id (12D3KooW…)` });
    return;
  }
  try {
    if (peerIdFromString(peerId).type !== "Ed25519")
      violations.push({ field, description: `${quote(peerId)} is not an Ed25519 key` });
  } catch (error) {
    violations.push({ field, description: `${quote(peerId)} does not parse: ${(error as Error).message}` });
  }
}

function checkAddresses(addresses: readonly string[], violations: FieldViolation[]): void {
  if (addresses.length > 16) violations.push({ field: "addresses", description: "at most 16 addresses" });
  addresses.forEach((a, i) => {
    if (!LIBP2P_ADDRESS.test(a) && !GRPC_ADDRESS.test(a)) {
      violations.push({
        field: `addresses[${i}]`,
        description: `${quote(a)} is neither a libp2p multiaddr (/ip4/…/tcp/…) nor a gRPC host:port`,
      });
    }
  });
}

/** Whose key (ever) is `peerId` in the charter? */
function holderOf(state: CharterState, peerId: string): CharterMember | undefined {
  return state.members.find((m) => m.keys.some((k) => k.peerId === peerId));
}

export interface AdmitRequest {
  hub: string;
  peerId: string;
  name?: string;
  region?: string;
  role?: MemberRole;
  addresses?: string[];
  /** Defaults to the directory id derived from `peerId` (a new hub's). */
  directoryId?: string;
}

export function planAdmit(
  state: CharterState,
  request: AdmitRequest,
  directoryIdOf: (peerId: string) => DocumentId,
  now: string,
): CharterMember {
  const violations: FieldViolation[] = [];
  const hub = isHubId(request.hub) ? request.hub : undefined;
  if (hub === undefined)
    violations.push({
      field: "hub",
      description: `${quote(request.hub)} is not a hub id (2-63 characters of a-z, 0-9 and '-')`,
    });
  const peer = isPeerId(request.peerId) ? request.peerId : undefined;
  checkPeerId("peer_id", request.peerId, violations);
  checkAddresses(request.addresses ?? [], violations);
  const name = (request.name ?? request.hub).trim();
  const text = new Checker();
  if (name.length === 0 || name.length > 200)
    violations.push({ field: "name", description: "must be 1-200 characters" });
  else text.characters("name", name, TextKind.Line);
  if ((request.region ?? "").length > 100) violations.push({ field: "region", description: "at most 100 characters" });
  else text.characters("region", request.region ?? "", TextKind.Line);
  violations.push(...text.violations);
  const conflicts: FieldViolation[] = [];
  const existing = state.members.find((m) => m.hub === request.hub);
  if (existing) {
    conflicts.push({
      field: "hub",
      description: existing.removedAt
        ? `hub '${request.hub}' was removed at ${existing.removedAt}; a removed hub id is not reused`
        : `hub '${request.hub}' is already a member`,
    });
  }
  const holder = holderOf(state, request.peerId);
  if (holder)
    conflicts.push({ field: "peer_id", description: `${request.peerId} is (or was) a key of hub '${holder.hub}'` });
  // Given (an existing directory, for a hub that re-joins with a new key) or derived from the key.
  let directoryId: DocumentId | undefined;
  if (request.directoryId === undefined) directoryId = peer && directoryIdOf(peer);
  else if (isDocumentId(request.directoryId)) directoryId = request.directoryId;
  else
    violations.push({
      field: "directory_id",
      description: documentIdProblem(request.directoryId) ?? "is not a document id",
    });
  const sharing = directoryId && state.members.find((m) => m.directoryId === directoryId);
  if (sharing)
    conflicts.push({ field: "directory_id", description: `${directoryId} is the directory of hub '${sharing.hub}'` });
  if (violations.length > 0 || !hub || !peer || !directoryId)
    throw refused(`cannot admit ${quote(request.hub)}`, [...violations, ...conflicts]);
  if (conflicts.length > 0) throw conflicting(ErrorCode.AlreadyExists, `cannot admit ${quote(request.hub)}`, conflicts);
  return {
    hub,
    name,
    region: request.region ?? "",
    role: request.role ?? "hub",
    directoryId,
    addresses: [...(request.addresses ?? [])],
    keys: [{ peerId: peer, from: now }],
    admittedAt: now,
  };
}

export function planRemove(state: CharterState, hub: string, now: string, lastSeq?: number): CharterMember {
  const member = state.members.find((m) => m.hub === hub);
  if (!member)
    throw conflicting(ErrorCode.NotFound, `cannot remove ${quote(hub)}`, [
      { field: "hub", description: `${quote(hub)} is not a member` },
    ]);
  if (member.removedAt)
    throw conflicting(ErrorCode.FailedPrecondition, `cannot remove '${hub}'`, [
      { field: "hub", description: `'${hub}' was already removed at ${member.removedAt}` },
    ]);
  if (member.role === "secretariat")
    throw conflicting(ErrorCode.FailedPrecondition, `cannot remove '${hub}'`, [
      { field: "hub", description: "the secretariat cannot remove itself" },
    ]);
  return { ...member, removedAt: now, ...(lastSeq !== undefined ? { removedAfterSeq: lastSeq } : {}) };
}

export function planRotateKey(
  state: CharterState,
  hub: string,
  peerId: string,
  now: string,
  lastSeq?: number,
): CharterMember {
  const member = state.members.find((m) => m.hub === hub);
  const violations: FieldViolation[] = [];
  checkPeerId("peer_id", peerId, violations);
  const what = `cannot rotate the key of ${quote(hub)}`;
  if (violations.length > 0 || !isPeerId(peerId)) throw refused(what, violations);
  if (!member)
    throw conflicting(ErrorCode.NotFound, what, [{ field: "hub", description: `${quote(hub)} is not a member` }]);
  if (member.removedAt)
    throw conflicting(ErrorCode.FailedPrecondition, what, [
      { field: "hub", description: `'${hub}' was removed at ${member.removedAt}` },
    ]);
  if (member.role === "secretariat") {
    throw conflicting(ErrorCode.FailedPrecondition, what, [
      {
        field: "hub",
        description:
          "the secretariat's key is the trust anchor in every node's config; it is not rotated through the charter",
      },
    ]);
  }
  const holder = holderOf(state, peerId);
  if (holder)
    throw conflicting(ErrorCode.AlreadyExists, what, [
      { field: "peer_id", description: `${peerId} is (or was) a key of hub '${holder.hub}'` },
    ]);
  return {
    ...member,
    keys: [
      ...member.keys.map((k) =>
        k.until ? k : { ...k, until: now, ...(lastSeq !== undefined ? { untilSeq: lastSeq } : {}) },
      ),
      { peerId, from: now },
    ],
  };
}
