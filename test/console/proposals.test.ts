import { status } from "@grpc/grpc-js";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../helpers/browser.js";
import {
  type ConsolePage,
  expectAccessible,
  expectNoSidewaysScroll,
  openConsole,
  openScreen,
  PHONE,
} from "../helpers/console.js";
import { releaseCore, adoptRelease, HR_MODULE } from "../helpers/core.js";
import { type FederationNode, type StartedFederation, startFederationWith } from "../helpers/federation.js";
import { expectServiceError } from "../helpers/harness.js";

/**
 * The Proposals screen in a real Chromium over a real federation (secretariat s, hubs a and b, a
 * released core both hubs adopted and adapted alike): hub a proposes from its screen (a wrong field
 * shown at its field), hub b supports from its own, the secretariat sees the support and the
 * candidates for the core and merges from its screen (a reject without reason refused at its
 * field), and hub a's screen then shows the proposal merged; what a role or a hub may not do is not
 * offered; axe in English and Arabic (right to left), and no sideways scroll on a phone.
 */
describe("the Proposals screen", () => {
  let fed: StartedFederation;
  let browser: Browser;
  let viewerToken: string;
  /** Hub a's console, left on its proposal's page: the secretariat's decision must reach it live. */
  let hubA: ConsolePage;
  const open: ConsolePage[] = [];
  const s = (): FederationNode => fed.byName("s");
  const a = (): FederationNode => fed.byName("a");
  const b = (): FederationNode => fed.byName("b");
  const ref = () => `${a().hub}/p-1`;

  beforeAll(async () => {
    fed = await startFederationWith(
      ["s", "a", "b"],
      [
        ["a", "s"],
        ["b", "s"],
      ],
    );
    await releaseCore(s(), {
      items: [["hr-1", "Competency"]],
      modules: [HR_MODULE],
    });
    // Both hubs follow the release and cut the module alike: a candidate for the core.
    for (const hub of [a(), b()]) {
      await adoptRelease(hub);
      await hub.node.running.curriculum.adapt("op", {
        id: "hr-short",
        target: { kind: "module", id: "mod-hr" },
        durationMinutes: 480,
      });
    }
    viewerToken = (
      await s().node.clients(s().node.adminToken).operators.addOperator({ name: "an observer", role: "viewer" })
    ).token;
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    for (const c of open) await c.context.close().catch(() => undefined);
    await browser?.close();
    await fed?.stop();
  });

  async function consoleOf(
    n: FederationNode,
    options: { token?: string; locale?: string; viewport?: { width: number; height: number } } = {},
  ) {
    const c = await openConsole(browser, n.node, options.token ?? n.node.adminToken, options);
    open.push(c);
    return c;
  }

  const row = (page: Page, proposal: string) => page.locator(`tr[data-proposal="${proposal}"]`);

  it("a hub proposes from its screen; every wrong field is shown at its field and nothing is saved", async () => {
    hubA = await consoleOf(a());
    const { page, problems } = hubA;
    await openScreen(page, "Proposals");
    await page.getByText("No hub has proposed a change to the core yet.").waitFor({ timeout: 15_000 });
    // A hub's screen offers no decision and no candidates: those are the secretariat's.
    expect(await page.getByRole("heading", { name: "Candidates for the core" }).count()).toBe(0);
    await page.getByLabel("Proposal id", { exact: true }).fill("p-1");
    await page.getByLabel("Item or module id", { exact: true }).fill("hr-1");
    await page
      .getByLabel("Proposed wording", { exact: true })
      .fill("Use force only when strictly necessary and proportionate, and report every use.");
    await page.getByLabel("Evidence", { exact: true }).fill("figure:demonstrated rate 0.42\nrumour:heard it somewhere");
    await page.getByRole("button", { name: "Propose", exact: true }).click();
    // No reason and an evidence line of no known kind: both refused, each at its own field.
    await page.getByText("The proposal was not saved: correct the fields marked above.").waitFor({ timeout: 15_000 });
    expect(await page.getByLabel("Reason", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByLabel("Evidence", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    await page.getByText(/^line 2: /).waitFor();
    expect(await page.getByLabel("Proposed wording", { exact: true }).getAttribute("aria-invalid")).toBeNull();
    const none = await a()
      .node.clients(a().node.adminToken)
      .feedback.listProposals({ hub: "", status: "", target: "", search: "" });
    expect(none.proposals).toEqual([]);
    await expectAccessible(page, "proposals, a's form with errors (en)");

    await page
      .getByLabel("Reason", { exact: true })
      .fill("Trainees read 'necessary' alone as a licence; the scenario exercises showed it.");
    await page.getByLabel("Evidence", { exact: true }).fill("figure:demonstrated rate 0.42");
    await page.getByRole("button", { name: "Propose", exact: true }).click();
    await page.getByText(`Proposed ${ref()}.`).waitFor({ timeout: 15_000 });
    await row(page, ref()).waitFor();
    expect(await row(page, ref()).locator("td[data-status]").getAttribute("data-status")).toBe("open");
    const saved = await a().node.clients(a().node.adminToken).feedback.getProposal({ proposal: ref() });
    expect(saved).toMatchObject({ status: "open", targetKind: "item", targetId: "hr-1", against: "1.0.0" });
    expect(saved.change).toMatchObject({ kind: "text", language: "en" });
    expect(saved.evidence.map((e) => [e.kind, e.ref])).toEqual([["figure", "demonstrated rate 0.42"]]);
    // Its own proposal: a hub neither supports it nor comments on it from here; it may withdraw it.
    await row(page, ref()).getByRole("link", { name: ref() }).click();
    await page.getByRole("heading", { level: 1, name: `Proposal ${ref()}` }).waitFor();
    await page.getByRole("button", { name: "Withdraw the proposal" }).waitFor();
    expect(await page.getByRole("button", { name: "Support" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Record the decision" }).count()).toBe(0);
    await a().node.running.checkpointer.flush();
    expect(problems).toEqual([]);
  }, 90_000);

  it("another hub supports it from its screen; the secretariat sees the support and the candidates, and merges it", async () => {
    const hubB = await consoleOf(b());
    await openScreen(hubB.page, "Proposals");
    await row(hubB.page, ref()).waitFor({ timeout: 30_000 });
    await row(hubB.page, ref()).getByRole("link", { name: ref() }).click();
    await hubB.page.getByLabel("Your text", { exact: true }).fill("Same finding in our scenarios.");
    await hubB.page.getByRole("button", { name: "Support", exact: true }).click();
    await hubB.page.getByText(`This hub supports ${ref()}.`).waitFor({ timeout: 15_000 });
    await hubB.page.getByText("This hub supports this proposal. It may still comment or object.").waitFor();
    expect(await hubB.page.getByRole("button", { name: "Support", exact: true }).count()).toBe(0);
    expect(await hubB.page.locator('[data-figure="supporters"]').textContent()).toBe(b().hub);
    // Another hub does not withdraw nor decide.
    expect(await hubB.page.getByRole("button", { name: "Withdraw the proposal" }).count()).toBe(0);
    expect(await hubB.page.getByRole("button", { name: "Record the decision" }).count()).toBe(0);
    await b().node.running.checkpointer.flush();
    expect(hubB.problems).toEqual([]);

    const { page, problems } = await consoleOf(s());
    await openScreen(page, "Proposals");
    // The support reaches the secretariat with b's next checkpoint; the screen reads again on it.
    await row(page, ref()).locator('td[data-figure="support"]').filter({ hasText: /^1$/ }).waitFor({ timeout: 30_000 });
    expect(await row(page, ref()).locator('td[data-figure="comments"]').textContent()).toBe("1");
    // The secretariat proposes nothing here: it edits the core itself.
    expect(await page.getByRole("button", { name: "Propose", exact: true }).count()).toBe(0);
    const candidate = page.locator('tr[data-candidate="mod-hr|duration"]');
    await candidate.waitFor({ timeout: 30_000 });
    expect(await candidate.locator('[data-figure="agreeing"]').textContent()).toBe("2");
    expect(await candidate.locator('[data-figure="common"]').textContent()).toBe("480");
    expect(await candidate.locator('[data-figure="core"]').textContent()).toBe("600");
    await expectAccessible(page, "proposals list at the secretariat (en)");

    // Searching names the words that must all appear.
    await page.getByLabel("Search", { exact: true }).fill("proportionate firearms");
    await page.getByText("No proposal matches.").waitFor({ timeout: 15_000 });
    await page.getByLabel("Search", { exact: true }).fill("proportionate REPORT");
    await row(page, ref()).waitFor({ timeout: 15_000 });

    await row(page, ref()).getByRole("link", { name: ref() }).click();
    const comment = page.locator(`li[data-hub="${b().hub}"][data-stance="support"]`);
    await comment.waitFor({ timeout: 15_000 });
    expect(await comment.textContent()).toContain("Same finding in our scenarios.");
    // The secretariat decides; it does not support or object from here.
    expect(await page.getByRole("button", { name: "Support", exact: true }).count()).toBe(0);
    await expectAccessible(page, "a proposal at the secretariat (en)");
    // A rejection without a reason is refused at the reason's field.
    await page.getByLabel("Reject", { exact: true }).check();
    await page.getByRole("button", { name: "Record the decision" }).click();
    await page.getByText("is required: a proposal is never rejected without a reason").waitFor({ timeout: 15_000 });
    expect(await page.getByLabel("Reason", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByText("The secretariat has not decided yet.").count()).toBe(1);

    await page.getByLabel("Merge into the drafts", { exact: true }).check();
    await page.getByLabel("Reason", { exact: true }).fill("Merged into the drafts.");
    await page.getByRole("button", { name: "Record the decision" }).click();
    await page.getByText(`${ref()} is merged: the next release names it as answered.`).waitFor({ timeout: 15_000 });
    await page.locator('dd[data-status="merged"]').waitFor();
    await page.locator('dd[data-outcome="merged"]').waitFor();
    const decided = await s().node.clients(s().node.adminToken).feedback.getProposal({ proposal: ref() });
    expect(decided.decision).toMatchObject({ outcome: "merged", reason: "Merged into the drafts." });
    await s().node.running.checkpointer.flush();
    expect(problems).toEqual([]);
  }, 120_000);

  it("the proposing hub's open page then shows it merged, without a reload, and offers no withdrawal", async () => {
    const { page, problems } = hubA;
    expect(new URL(page.url()).pathname).toBe(`/proposals/${ref()}`);
    await page.locator('dd[data-outcome="merged"]').waitFor({ timeout: 30_000 });
    await page.locator('dd[data-status="merged"]').waitFor();
    await page.getByText("Merged into the drafts.").waitFor();
    await page.getByText("The next core release will name it as answered.").waitFor();
    expect(await page.getByRole("button", { name: "Withdraw the proposal" }).count()).toBe(0);
    // And its list says so.
    await page.getByRole("link", { name: "All proposals" }).click();
    await row(page, ref()).locator('td[data-status="merged"]').waitFor({ timeout: 15_000 });
    expect(problems).toEqual([]);
  }, 60_000);

  it("a hub withdraws its own undecided proposal from its screen; what the screens do not offer, the API refuses", async () => {
    const hubAApi = a().node.clients(a().node.adminToken);
    await hubAApi.feedback.propose({
      id: "p-2",
      targetKind: "module",
      targetId: "mod-hr",
      change: { kind: "outcomes", text: "", language: "", outcomes: ["Explain proportionality."], case: "" },
      reason: "Trainees cannot name the test of proportionality.",
      evidence: [],
    });
    const { page, problems } = hubA;
    // Made at this node outside the screen: the open list shows it by the next heartbeat at the latest.
    await page.getByRole("link", { name: `${a().hub}/p-2` }).click({ timeout: 30_000 });
    await page.getByText("Explain proportionality.").waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: "Withdraw the proposal" }).click();
    await page.getByText(`Withdrew ${a().hub}/p-2.`).waitFor({ timeout: 15_000 });
    await page.locator('dd[data-status="withdrawn"]').waitFor();
    expect(await page.getByRole("button", { name: "Withdraw the proposal" }).count()).toBe(0);
    expect((await hubAApi.feedback.getProposal({ proposal: `${a().hub}/p-2` })).status).toBe("withdrawn");
    expect(problems).toEqual([]);

    // A hub deciding, or supporting its own proposal, straight through the API: refused all the same.
    const decided = await expectServiceError(
      b()
        .node.clients(b().node.adminToken)
        .feedback.decideProposal({ proposal: ref(), outcome: "rejected", reason: "not ours to say" }),
    );
    expect(decided.code).toBe(status.PERMISSION_DENIED);
    const own = await expectServiceError(
      hubAApi.feedback.commentProposal({ proposal: ref(), stance: "support", text: "" }),
    );
    expect(own.code).toBe(status.FAILED_PRECONDITION);
    expect((await hubAApi.feedback.getProposal({ proposal: ref() })).supporters).toEqual([b().hub]);
  }, 60_000);

  it("offers a viewer nothing to do", async () => {
    const { page, problems } = await consoleOf(s(), { token: viewerToken });
    await openScreen(page, "Proposals");
    await row(page, ref()).getByRole("link", { name: ref() }).click({ timeout: 15_000 });
    await page.locator('dd[data-outcome="merged"]').waitFor({ timeout: 15_000 });
    expect(
      await page
        .getByRole("button")
        .filter({ hasNotText: /^Sign out$/ })
        .count(),
    ).toBe(0);
    expect(problems).toEqual([]);
  }, 60_000);

  it("passes axe in Arabic, right to left, and has no sideways scroll on a phone", async () => {
    const ar = await consoleOf(s(), { locale: "ar" });
    await openScreen(ar.page, "المقترحات", "الشاشات");
    expect(await ar.page.evaluate("document.documentElement.dir")).toBe("rtl");
    await row(ar.page, ref()).waitFor({ timeout: 15_000 });
    await ar.page.getByRole("heading", { name: "مرشّحات للمنهج الأساسي" }).waitFor();
    await ar.page.locator('tr[data-candidate="mod-hr|duration"]').waitFor({ timeout: 15_000 });
    await expectAccessible(ar.page, "proposals list (ar)");
    await row(ar.page, ref()).getByRole("link", { name: ref() }).click();
    await ar.page.locator('dd[data-outcome="merged"]').waitFor({ timeout: 15_000 });
    await ar.page.getByRole("button", { name: "تسجيل القرار" }).waitFor();
    await expectAccessible(ar.page, "a proposal (ar)");
    expect(ar.problems).toEqual([]);

    for (const locale of ["en-GB", "ar"]) {
      const phone = await consoleOf(s(), { locale, viewport: PHONE });
      await openScreen(
        phone.page,
        locale === "ar" ? "المقترحات" : "Proposals",
        locale === "ar" ? "الشاشات" : "Screens",
      );
      await row(phone.page, ref()).waitFor({ timeout: 15_000 });
      await phone.page.locator('tr[data-candidate="mod-hr|duration"]').waitFor({ timeout: 15_000 });
      await expectNoSidewaysScroll(phone.page, `proposals on a phone (${locale})`);
      await expectAccessible(phone.page, `proposals on a phone (${locale})`);
    }
  }, 120_000);
});
