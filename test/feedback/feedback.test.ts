import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditExportCommand } from "../../cli/commands/audit.js";
import { coreReleaseCommand } from "../../cli/commands/core.js";
import { deliveriesRecordCommand } from "../../cli/commands/deliveries.js";
import {
  coreCandidatesCommand,
  proposalsCommentCommand,
  proposalsDecideCommand,
  proposalsListCommand,
  proposalsProposeCommand,
  proposalsShowCommand,
  proposalsSupportCommand,
} from "../../cli/commands/proposals.js";
import { decodeBundle, type AuditBundle } from "../../node/audit/bundle.js";
import type { Candidate, Proposal } from "../../node/api/generated/concordat/v1/feedback.js";
import { DocumentType } from "../../node/documents/index.js";
import { FEEDBACK_KEY, stored } from "../../node/feedback/index.js";
import { coreItem, releaseCore, adoptRelease, HR_MODULE } from "../helpers/core.js";
import { startFederationWith, waitUntil, type FederationNode, type StartedFederation } from "../helpers/federation.js";
import { expectServiceError, makeClients, makeTempDir, refusedFields } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });

async function json<T>(run: (io: ReturnType<typeof memoryIo>) => Promise<unknown>): Promise<T> {
  const io = memoryIo(true);
  await run(io);
  return JSON.parse(io.out()) as T;
}

/**
 * Feedback that changes the core, across real nodes (docs/feedback.md): a hub proposes, others
 * support or object, the secretariat decides, a release names the proposals it answers and the
 * proposing hub sees it; adaptations that recur across hubs are candidates; a hub's own document
 * can carry nobody else's voice.
 */
describe("proposals to the core: from a hub to a release and back", () => {
  let fed: StartedFederation;
  let dir: string;
  const s = () => fed.byName("s");
  const a = () => fed.byName("a");
  const b = () => fed.byName("b");
  const c = () => fed.byName("c");

  const show = (n: FederationNode, proposal: string) =>
    json<Proposal>((io) => proposalsShowCommand({ ...cli(n), proposal }, io));
  const seen = (n: FederationNode, proposal: string, check: (p: Proposal) => boolean, what: string) =>
    waitUntil(
      `${n.name} to see ${proposal} ${what}`,
      async () => check(await show(n, proposal).catch(() => ({}) as Proposal)),
      20_000,
    );

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b", "c"],
      [
        ["a", "s"],
        ["b", "s"],
        ["c", "s"],
      ],
    );
    await releaseCore(s(), {
      items: [["hr-1", "Competency"]],
      modules: [HR_MODULE],
    });
    await b().node.running.cases.add("op", {
      id: "kisumu",
      kind: "case-study",
      title: "Crowd control in Kisumu",
      summary: "",
      body: "",
      language: "en",
      version: "1",
      visibility: "public",
    });
    for (const hub of [a(), b(), c()]) {
      await adoptRelease(hub);
    }
    await waitUntil(
      "a to hold b's case",
      async () => {
        try {
          a().node.running.cases.get(b().hub, "kisumu");
          return true;
        } catch {
          return false;
        }
      },
      20_000,
    );
    await deliveriesRecordCommand(
      {
        ...cli(a()),
        id: "d-1",
        module: "mod-hr",
        start: "2027-02-01",
        end: "2027-02-03",
        group: ["police=10/8/0"],
        completed: 18,
        passed: 12,
      },
      memoryIo(),
    );
    dir = await makeTempDir("concordat-feedback-");
  }, 120_000);
  afterAll(async () => {
    await fed?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("a proposal's whole life: proposed with evidence, supported and objected to, merged, named by a release, seen back at its hub", async () => {
    const proposed = await json<Proposal>((io) =>
      proposalsProposeCommand(
        {
          ...cli(a()),
          id: "p-1",
          item: "hr-1",
          text: "Use force only when strictly necessary and proportionate, and report every use.",
          language: "en",
          reason: "Trainees read 'necessary' alone as a licence; the scenario exercises showed it.",
          evidence: [
            "delivery:d-1",
            `case:${b().hub}/kisumu`,
            "figure:demonstrated_rate hr-1 simulation 2027-Q1 = 0.42",
          ],
        },
        io,
      ),
    );
    const ref = `${a().hub}/p-1`;
    expect(proposed).toMatchObject({ ref, status: "open", against: "1.0.0", targetKind: "item", targetId: "hr-1" });
    expect(proposed.evidence.map((e) => e.kind)).toEqual(["delivery", "case", "figure"]);

    await seen(b(), ref, (p) => p.status === "open", "open");
    await proposalsSupportCommand({ ...cli(b()), proposal: ref, text: "Same finding in our scenarios." }, memoryIo());
    // Supporting twice counts once.
    await proposalsSupportCommand({ ...cli(b()), proposal: ref }, memoryIo());
    await seen(c(), ref, (p) => p.status === "open", "open");
    await proposalsCommentCommand(
      {
        ...cli(c()),
        proposal: ref,
        object: true,
        text: "Reporting duties differ by country: keep them out of the core.",
      },
      memoryIo(),
    );
    await seen(
      s(),
      ref,
      (p) => p.supporters.length === 1 && p.comments.some((x) => x.stance === "object"),
      "with b's support and c's objection",
    );
    const atSecretariat = await show(s(), ref);
    expect(atSecretariat.supporters).toEqual([b().hub]);
    expect(atSecretariat.comments.map((x) => [x.hub, x.stance])).toEqual([
      [b().hub, "support"],
      [c().hub, "object"],
    ]);

    // Searchable, wherever asked.
    const found = await json<{ proposals: Proposal[] }>((io) =>
      proposalsListCommand({ ...cli(s()), search: "proportionate REPORT" }, io),
    );
    expect(found.proposals.map((p) => p.ref)).toEqual([ref]);
    const none = await json<{ proposals: Proposal[] }>((io) =>
      proposalsListCommand({ ...cli(s()), search: "proportionate firearms" }, io),
    );
    expect(none.proposals).toEqual([]);

    // Another proposal the secretariat accepts in principle and has not merged: no release answers it yet.
    await proposalsProposeCommand(
      { ...cli(a()), id: "p-later", module: "mod-hr", cite: `${b().hub}/kisumu`, reason: "A case to cite." },
      memoryIo(),
    );
    const later = `${a().hub}/p-later`;
    await seen(s(), later, (p) => p.status === "open", "open");
    await proposalsDecideCommand({ ...cli(s()), proposal: later, accept: true }, memoryIo());
    // Accepted in principle first: a hub sees it; then merged, once the drafts carry it.
    await proposalsDecideCommand({ ...cli(s()), proposal: ref, accept: true }, memoryIo());
    await seen(a(), ref, (p) => p.status === "accepted", "accepted");
    await proposalsDecideCommand(
      { ...cli(s()), proposal: ref, merge: true, reason: "Merged into the drafts." },
      memoryIo(),
    );
    await s().node.running.coreAuthoring.import(
      "op",
      {
        items: [
          {
            ...coreItem("hr-1"),
            statement: { en: "Use force only when strictly necessary and proportionate, and report every use." },
          },
        ],
      },
      false,
    );
    const released = await json<{ version: string; answers: string[] }>((io) =>
      coreReleaseCommand({ ...cli(s()), version: "1.1.0", notes: "hr-1 reworded" }, io),
    );
    expect(released.answers).toEqual([ref]);
    expect((await show(s(), later)).status).toBe("accepted");

    // Back at the proposing hub: the fate of its proposal, from the signed release.
    await seen(a(), ref, (p) => p.status === "released", "released");
    const back = await show(a(), ref);
    expect(back).toMatchObject({ status: "released", releasedIn: "1.1.0", decision: { outcome: "merged" } });
    const human = memoryIo(false);
    await proposalsListCommand({ ...cli(a()), hub: a().hub }, human);
    expect(human.out()).toContain("released in 1.1.0");

    // A released proposal's decision stands.
    const error = await expectServiceError(
      makeClients(s().node.address, s().node.adminToken).feedback.decideProposal({
        proposal: ref,
        outcome: "rejected",
        reason: "changed our mind",
      }),
    );
    expect(error.code).toBe(status.FAILED_PRECONDITION);

    // In the audit bundle: a's proposal, b's support and s's decision, each in its writer's document.
    const bundleFile = join(dir, "feedback.bundle");
    await auditExportCommand({ ...cli(s()), out: bundleFile }, memoryIo(false));
    const bundle = decodeBundle(new Uint8Array(await readFile(bundleFile))) as AuditBundle;
    const feedbackOf = new Set(bundle.documents.filter((d) => d.type === "feedback").map((d) => d.hub));
    expect([...feedbackOf].sort()).toEqual([a().hub, b().hub, c().hub, s().hub].sort());
  });

  it("names every problem of a proposal at once, and keeps each decision to the secretariat", async () => {
    const client = makeClients(a().node.address, a().node.adminToken);
    const fields = await refusedFields(
      client.feedback.propose({
        id: "p-bad",
        targetKind: "item",
        targetId: "nope",
        change: { kind: "text", text: "New words", language: "", outcomes: [], case: "" },
        reason: "",
        evidence: [
          { kind: "case", ref: `${b().hub}/no-such-case`, note: "" },
          { kind: "delivery", ref: "d-404", note: "" },
          { kind: "rumour", ref: "x", note: "" },
        ],
      }),
    );
    expect(fields).toEqual([
      "proposal.change.language: is required for a change of wording",
      "proposal.reason: is required",
      'proposal.evidence.2.kind: Invalid option: expected one of "case"|"delivery"|"figure"',
    ]);
    // The references are checked once the shape is right, all of them together.
    const refs = await refusedFields(
      client.feedback.propose({
        id: "p-bad",
        targetKind: "item",
        targetId: "nope",
        change: { kind: "cite-case", text: "", language: "", outcomes: [], case: `${c().hub}/nothing` },
        reason: "Because.",
        evidence: [
          { kind: "case", ref: `${b().hub}/no-such-case`, note: "" },
          { kind: "delivery", ref: "d-404", note: "" },
        ],
      }),
    );
    expect(refs.map((f) => f.slice(0, f.indexOf(": "))).sort()).toEqual(
      ["proposal.target.id", "proposal.change.case", "proposal.evidence.0.ref", "proposal.evidence.1.ref"].sort(),
    );
    await proposalsProposeCommand(
      { ...cli(a()), id: "p-2", module: "mod-hr", outcome: ["Plans an arrest with the least force"], reason: "Gap." },
      memoryIo(),
    );
    const ref = `${a().hub}/p-2`;
    // A hub does not decide, nor support its own; the secretariat does not reject without a reason.
    expect(
      (await expectServiceError(client.feedback.decideProposal({ proposal: ref, outcome: "accepted", reason: "" })))
        .code,
    ).toBe(status.PERMISSION_DENIED);
    expect(
      (await expectServiceError(client.feedback.commentProposal({ proposal: ref, stance: "support", text: "" }))).code,
    ).toBe(status.FAILED_PRECONDITION);
    await seen(s(), ref, (p) => p.status === "open", "open");
    expect(
      await refusedFields(
        makeClients(s().node.address, s().node.adminToken).feedback.decideProposal({
          proposal: ref,
          outcome: "rejected",
          reason: "",
        }),
      ),
    ).toEqual(["decision.reason: is required: a proposal is never rejected without a reason"]);
  });

  it("a hub's own document cannot carry the secretariat's decision, nor another hub's support", async () => {
    await proposalsProposeCommand(
      { ...cli(a()), id: "p-3", module: "mod-hr", cite: `${b().hub}/kisumu`, reason: "A real case." },
      memoryIo(),
    );
    const ref = `${a().hub}/p-3`;
    await seen(b(), ref, (p) => p.status === "open", "open");
    // b writes, in its own feedback document and outside the API, a "decision" and a support in c's name.
    const documents = b().node.running.documents;
    await documents.transact({ operatorId: "rogue", action: "proposal.rejected", subjects: [ref] }, () => ({
      create: documents.has(FEEDBACK_KEY)
        ? []
        : [{ key: FEEDBACK_KEY, type: DocumentType.Feedback, replicated: true, initial: {} }],
      edits: [
        {
          key: FEEDBACK_KEY,
          subject: ref,
          change: (doc) => {
            doc.decisions ??= {};
            (doc.decisions as Record<string, unknown>)[ref] = stored({
              proposal: ref,
              outcome: "rejected",
              reason: "forged",
              at: new Date().toISOString(),
              by: "secretariat",
            });
            doc.comments ??= {};
            (doc.comments as Record<string, unknown>)[`${ref}#c`] = stored({
              proposal: ref,
              stance: "object",
              text: "signed: hub c",
              at: new Date().toISOString(),
              by: c().hub,
            });
          },
        },
      ],
      result: undefined,
    }));
    // a has b's document once the objection shows; the forged decision does not count there.
    await seen(a(), ref, (p) => p.comments.length === 1, "with b's comment");
    const atA = await show(a(), ref);
    expect(atA.status).toBe("open");
    expect(atA.decision).toBeUndefined();
    expect(atA.comments.map((x) => x.hub)).toEqual([b().hub]);
    // Nor at the secretariat, which decides from its own document only.
    await seen(s(), ref, (p) => p.comments.length === 1, "with b's comment");
    expect((await show(s(), ref)).status).toBe("open");
  });
});

describe("candidates for the core: adaptations that recur across hubs", () => {
  let fed: StartedFederation;
  const s = () => fed.byName("s");

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b", "c"],
      [
        ["a", "s"],
        ["b", "s"],
        ["c", "s"],
      ],
    );
    await releaseCore(s(), {
      items: [["hr-1", "Competency"]],
      modules: [HR_MODULE],
    });
    const titles: Record<string, string> = {
      a: "Droits humains et maintien de l'ordre",
      b: "Droits  humains et MAINTIEN de l'ordre",
      c: "Les droits de l'homme dans la police",
    };
    for (const name of ["a", "b", "c"]) {
      const hub = fed.byName(name);
      await adoptRelease(hub);
      await hub.node.running.curriculum.adapt("op", {
        id: "hr-short",
        target: { kind: "module", id: "mod-hr" },
        durationMinutes: 480,
        title: { fr: titles[name] as string },
      });
    }
    // Only a adapts the competency: one hub is not a pattern.
    await fed.byName("a").node.running.curriculum.adapt("op", {
      id: "hr-1-sw",
      target: { kind: "item", id: "hr-1" },
      statement: { sw: "Haki za binadamu" },
    });
  }, 120_000);
  afterAll(async () => {
    await fed?.stop();
  });

  it("finds the duration three hubs cut alike and the French title two agree on; one hub alone is no candidate", async () => {
    const candidates = async (minHubs?: number) =>
      (
        await json<{ candidates: Candidate[] }>((io) =>
          coreCandidatesCommand({ ...cli(s()), ...(minHubs ? { minHubs } : {}) }, io),
        )
      ).candidates;
    await waitUntil(
      "s to hold the three hubs' adaptations",
      async () => (await candidates()).some((x) => x.agreeing === 3),
      30_000,
    );
    const [duration, title] = await candidates();
    expect(duration).toMatchObject({
      targetKind: "module",
      targetId: "mod-hr",
      aspect: "duration",
      core: "600",
      agreeing: 3,
      commonValue: "480",
    });
    expect(duration?.hubs.map((h) => h.hub).sort()).toEqual(["a", "b", "c"].map((n) => fed.byName(n).hub).sort());
    expect(title).toMatchObject({ aspect: "title:fr", agreeing: 2, core: "" });
    expect(title?.hubs).toHaveLength(3);
    // Three hubs must agree: only the duration.
    expect((await candidates(3)).map((x) => x.aspect)).toEqual(["duration"]);
    const human = memoryIo(false);
    await coreCandidatesCommand({ ...cli(s()) }, human);
    expect(human.out()).toContain("module mod-hr");
  });
});
