import {
  STATUS_ACTIONS,
  type Credentials,
  type JsonObject,
  type StatusAction,
  type Verification,
} from "../credentials/index.js";
import { invalidArgument } from "../errors.js";
import { quote, TextKind, textViolationsIn } from "../text.js";
import type { Roster } from "../roster/index.js";
import {
  CredentialServiceService,
  type CredentialServiceServer,
  type VerifyCredentialResponse,
} from "./generated/concordat/v1/credentials.js";
import { unary, type HandlerComponents } from "./handlers.js";

export { CredentialServiceService };

function parseCredential(json: string): JsonObject {
  let credential: JsonObject;
  try {
    const value = JSON.parse(json) as unknown;
    if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("not a JSON object");
    credential = value as JsonObject;
  } catch (error) {
    throw invalidArgument([{ field: "json", description: `is not a JSON credential: ${(error as Error).message}` }]);
  }
  // A credential's text is shown to operators (and kept, once attached): checked like any text.
  const violations = textViolationsIn(credential, "json", TextKind.Multiline);
  if (violations.length > 0) throw invalidArgument(violations);
  return credential;
}

export function verificationMessage(v: Verification): VerifyCredentialResponse {
  return {
    valid: v.valid,
    issuer: v.issuer,
    issuerHub: v.issuerHub,
    subject: v.subject,
    checks: v.checks,
    reasons: v.reasons,
    endorsements: v.endorsements,
  };
}

const message = (credential: JsonObject) => ({ id: String(credential.id ?? ""), json: JSON.stringify(credential) });

export function credentialService(
  components: HandlerComponents & { credentials: Credentials; roster: Roster; info: { hubId: string } },
): CredentialServiceServer {
  const { credentials, roster, info } = components;
  return {
    issueCredential: unary(components, "IssueCredential", "admin", async (req, ctx) => {
      const request = {
        trainer: { hub: req.trainerHub.trim() || info.hubId, id: req.trainerId.trim() },
        scheme: req.scheme.trim(),
        level: req.level.trim(),
        validFrom: req.validFrom.trim(),
        validUntil: req.validUntil.trim(),
        evidence: req.evidence.map((e) => e.trim()).filter((e) => e !== ""),
      };
      // A dry run checks the request as issuing would, and signs and writes nothing.
      if (req.dryRun) {
        await credentials.checkIssue(request);
        return { id: "", json: "" };
      }
      return message(await credentials.issue(ctx.operator.id, request));
    }),
    attachCredential: unary(components, "AttachCredential", "operator", async (req, ctx) =>
      verificationMessage(await credentials.attach(ctx.operator.id, parseCredential(req.json))),
    ),
    listCredentials: unary(components, "ListCredentials", "viewer", (req) => {
      const { issued, held } = credentials.list(req.trainerId.trim() || undefined);
      const pending = req.pending ? credentials.pending(req.trainerId.trim() || undefined) : [];
      return {
        issued: issued.map(message),
        held: held.map((h) => message(h.credential)),
        pending: pending.map(message),
      };
    }),
    getCredential: unary(components, "GetCredential", "viewer", (req) => message(credentials.get(req.id.trim()))),
    setCredentialStatus: unary(components, "SetCredentialStatus", "admin", async (req, ctx) => {
      if (!(STATUS_ACTIONS as readonly string[]).includes(req.action))
        throw invalidArgument([
          { field: "action", description: `${quote(req.action)} is not one of ${STATUS_ACTIONS.join(", ")}` },
        ]);
      return credentials.setStatus(ctx.operator.id, req.id.trim(), req.action as StatusAction);
    }),
    endorse: unary(components, "Endorse", "admin", async (req, ctx) =>
      message(
        await credentials.endorse(ctx.operator.id, req.subject.trim(), req.comment, req.validUntil.trim() || undefined),
      ),
    ),
    verifyCredential: unary(components, "VerifyCredential", "viewer", async (req) =>
      verificationMessage(
        await credentials.verify(parseCredential(req.json), {
          ...(req.at ? { at: req.at } : {}),
          ...(req.issuerKey ? { trustedIssuer: req.issuerKey.trim() } : {}),
        }),
      ),
    ),
    checkAccreditations: unary(components, "CheckAccreditations", "viewer", async (req) => {
      const trainer = roster.get(req.trainerId.trim(), false);
      const results = await credentials.verifyClaims(trainer.id, trainer.accreditations);
      return {
        checks: trainer.accreditations.map((a, i) => ({
          scheme: a.scheme,
          competency: a.competency,
          level: a.level,
          verified: results[i]?.verified ?? false,
          detail: results[i]?.detail ?? "",
        })),
        held: await credentials.heldChecks(trainer.id),
      };
    }),
  };
}
