import type { CharterAdmin, CharterMember, Federation } from "../federation/index.js";
import { currentKey } from "../federation/index.js";
import { failedPrecondition } from "../errors.js";
import type { KeyRotation } from "../identity/index.js";
import {
  FederationServiceService,
  KeyServiceService,
  type FederationServiceServer,
  type KeyServiceServer,
  type Member,
} from "./generated/concordat/v1/federation.js";
import { unary, type HandlerComponents } from "./handlers.js";

export { FederationServiceService, KeyServiceService };

export function memberToMessage(m: CharterMember): Member {
  return {
    hub: m.hub,
    name: m.name,
    region: m.region,
    role: m.role,
    peerId: currentKey(m) ?? "",
    addresses: m.addresses,
    directoryId: m.directoryId,
    keys: m.keys.map((k) => ({ peerId: k.peerId, from: k.from, until: k.until ?? "" })),
    admittedAt: m.admittedAt,
    removedAt: m.removedAt ?? "",
  };
}

const clean = (values: readonly string[]) => values.map((v) => v.trim()).filter((v) => v !== "");

export function federationService(
  components: HandlerComponents & { charter: CharterAdmin; federation: Federation },
): FederationServiceServer {
  const { charter, federation } = components;
  return {
    createFederation: unary(components, "CreateFederation", "admin", async (req, ctx) =>
      memberToMessage(await charter.create(ctx.operator.id, clean(req.addresses))),
    ),
    admitMember: unary(components, "AdmitMember", "admin", async (req, ctx) =>
      memberToMessage(
        await charter.admit(ctx.operator.id, {
          hub: req.hub.trim(),
          peerId: req.peerId.trim(),
          addresses: clean(req.addresses),
          ...(req.name.trim() ? { name: req.name.trim() } : {}),
          ...(req.region.trim() ? { region: req.region.trim() } : {}),
          ...(req.directoryId.trim() ? { directoryId: req.directoryId.trim() } : {}),
        }),
      ),
    ),
    removeMember: unary(components, "RemoveMember", "admin", async (req, ctx) =>
      memberToMessage(await charter.remove(ctx.operator.id, req.hub.trim())),
    ),
    rotateMemberKey: unary(components, "RotateMemberKey", "admin", async (req, ctx) =>
      memberToMessage(await charter.rotateKey(ctx.operator.id, req.hub.trim(), req.peerId.trim())),
    ),
    listMembers: unary(components, "ListMembers", "viewer", () => {
      const membership = federation.membership;
      return {
        federationId: membership.federationId,
        anchor: membership.anchor ?? "",
        charterId: federation.charterId ?? "",
        source: membership.source?.kind ?? "none",
        verifiedSeq: membership.source?.seq ?? 0,
        verifiedTime: membership.source?.time ?? "",
        members: membership.members().map(memberToMessage),
      };
    }),
  };
}

export function keyService(
  components: HandlerComponents & { keys: KeyRotation; info: { hubId: string; peerId: string; role: string } },
): KeyServiceServer {
  const { keys, info } = components;
  return {
    rotateKey: unary(components, "RotateKey", "admin", async () => {
      if (info.role === "secretariat") {
        throw failedPrecondition(
          "the secretariat's key is the federation's trust anchor (federation.anchor on every node); it is not rotated through the charter",
        );
      }
      return { hub: info.hubId, peerId: info.peerId, nextPeerId: await keys.prepare() };
    }),
    getKeyStatus: unary(components, "GetKeyStatus", "viewer", async () => ({
      hub: info.hubId,
      peerId: info.peerId,
      nextPeerId: (await keys.pending()) ?? "",
    })),
  };
}
