import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CoreItem } from "../../node/core/index.js";
import { launchChromium } from "../helpers/browser.js";
import {
  DESKTOP,
  expectAccessible,
  expectNoSidewaysScroll,
  openConsole,
  openScreen,
  PHONE,
} from "../helpers/console.js";
import { startFederationWith, waitUntil, type FederationNode, type StartedFederation } from "../helpers/federation.js";

/**
 * The Curriculum and Federation screens in a real Chromium on real nodes: a secretariat (s) and a
 * hub (a) that dials it. The secretariat releases a core, the hub adopts it and adapts an item,
 * then the secretariat releases a newer version that changes the adapted item: the hub's
 * Curriculum screen shows the impact under the adaptation before adopting, and adopting and
 * confirming work through the page. At the secretariat: members with their checkpoints' age,
 * admitting a hub (and the API's error at the peer id field), publishing a release, and a lost
 * peer shown as disconnected without reloading.
 */
let fed: StartedFederation;
let browser: Browser;
const s = () => fed.byName("s");
const a = () => fed.byName("a");

const now = () => new Date().toISOString();
function item(identifier: string, code: string, statement: Record<string, string>): CoreItem {
  return {
    identifier,
    code,
    statement,
    type: "Competency",
    language: "en",
    roleLevels: ["custodial"],
    themes: ["use-of-force"],
    lastChangeDateTime: now(),
    extra: {},
  };
}

const releasedAt = async (reader: FederationNode, version: string) =>
  (await reader.node.running.coreSource.releases()).some((r) => r.version === version);

/** The table row that names `text` in the table captioned `caption`. */
function rowOf(page: Page, caption: string | RegExp, text: string): Locator {
  return page.getByRole("table", { name: caption }).getByRole("row").filter({ hasText: text });
}

beforeAll(async () => {
  [fed, browser] = await Promise.all([startFederationWith(["s", "a"], [["a", "s"]]), launchChromium()]);
  const core = s().node.running.coreAuthoring;
  await core.import(
    "op",
    {
      framework: {
        identifier: "fw-ssr",
        title: "SSR core",
        creator: "Secretariat",
        language: "en",
        lastChangeDateTime: now(),
        extra: {},
      },
      items: [
        item("hr-1", "HR-1", { en: "Applies the prohibition of torture" }),
        item("uf-1", "UF-1", { en: "Uses force only when strictly necessary" }),
      ],
      associations: [],
      schemes: [],
    },
    false,
  );
  await core.release("op", "1.0.0", "First core");
  await waitUntil("hub a to verify release 1.0.0", () => releasedAt(a(), "1.0.0"), 20_000);
  const curriculum = a().node.running.curriculum;
  await curriculum.adopt("op", "1.0.0");
  await curriculum.adapt("op", {
    id: "ke-uf-1",
    target: { kind: "item", id: "uf-1" },
    statement: { sw: "Hutumia nguvu pale tu inapohitajika kabisa" },
    legalReferences: ["Kenya, National Police Service Act 2011, Sixth Schedule"],
  });
  // The newer release changes the adapted item's statement.
  await core.put("op", "item", [
    item("uf-1", "UF-1", { en: "Uses force only when strictly necessary and proportionate" }),
  ]);
  await core.release("op", "1.1.0", "Proportionality");
  await waitUntil("hub a to verify release 1.1.0", () => releasedAt(a(), "1.1.0"), 20_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await fed?.stop();
});

describe("the Curriculum screen at a hub", () => {
  it("shows the adopted release and the adaptation, the newer release's impact before adopting, then adopts and confirms", async () => {
    const { page, context, problems } = await openConsole(browser, a().node, a().node.adminToken);
    try {
      await openScreen(page, "Curriculum");
      const followed = page.getByRole("region", { name: "The release this hub follows" });
      await followed.getByText("1.0.0", { exact: true }).waitFor({ timeout: 15_000 });
      expect(await followed.textContent()).toContain("2 competencies");
      await rowOf(page, /^Adaptations, reviewed against release 1\.0\.0/, "ke-uf-1").waitFor();

      // The impact report of 1.1.0, before adopting: the changed item, under the adaptation, field by field.
      const available = page.getByRole("region", { name: "Release 1.1.0 is available" });
      await available.waitFor();
      const impact = rowOf(page, "Impact of release 1.1.0 on this hub's adaptations", "ke-uf-1");
      await impact.waitFor({ timeout: 15_000 });
      const impactText = (await impact.textContent()) ?? "";
      expect(impactText).toContain("Competency UF-1");
      expect(impactText).toContain("Changed: needs review");
      expect(impactText).toContain("statement.en");
      expect(impactText).toContain("Uses force only when strictly necessary and proportionate");
      expect(await available.textContent()).toContain("1 of 1 adaptations needs review against release 1.1.0");
      expect(a().node.running.curriculum.current().adoption?.version).toBe("1.0.0");
      await expectAccessible(page, "hub Curriculum with a newer release (en)");

      await available.getByRole("button", { name: "Adopt release 1.1.0" }).click();
      await page.getByRole("status").filter({ hasText: "This hub now follows core release 1.1.0." }).waitFor();
      expect(a().node.running.curriculum.current().adoption?.version).toBe("1.1.0");
      await followed.getByText("1.1.0", { exact: true }).waitFor();
      expect(await page.getByRole("region", { name: /is available$/ }).count()).toBe(0);

      // The adaptation was made against 1.0.0 and its item changed: it needs review, and is confirmed here.
      const adaptation = rowOf(page, /^Adaptations, reviewed against release 1\.1\.0/, "ke-uf-1");
      expect(await adaptation.textContent()).toContain("Needs review");
      await adaptation.getByRole("button", { name: "Confirm ke-uf-1 reviewed against 1.1.0" }).click();
      await page.getByRole("status").filter({ hasText: "Adaptation ke-uf-1 reviewed" }).waitFor();
      await adaptation.getByText("Reviewed", { exact: true }).waitFor();
      expect(a().node.running.curriculum.current().adaptations[0]?.baseRelease).toBe("1.1.0");
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe("the Curriculum screen at the secretariat", () => {
  it("shows what the drafts change and publishes a release, with the API's error at the version field", async () => {
    await s().node.running.coreAuthoring.put("op", "item", [
      item("hr-1", "HR-1", { en: "Applies the prohibition of torture", fr: "Applique l'interdiction de la torture" }),
    ]);
    const { page, context, problems } = await openConsole(browser, s().node, s().node.adminToken);
    try {
      await openScreen(page, "Curriculum");
      const drafts = page.getByRole("region", { name: "The authoring copy" });
      await drafts.getByText("1 record differs between 1.1.0 and the drafts").waitFor({ timeout: 15_000 });
      await rowOf(page, "Hubs against the newest release (1.1.0)", "hub-a").getByText("1.1.0").waitFor();
      await expectAccessible(page, "secretariat Curriculum (en)");

      const version = page.getByLabel("Version");
      await version.fill("1.0.5");
      await page.getByRole("button", { name: "Sign and publish the release" }).click();
      await page.getByText(/not above the latest release 1\.1\.0/).waitFor();
      expect(await version.getAttribute("aria-invalid")).toBe("true");
      const described = (await version.getAttribute("aria-describedby")) ?? "";
      expect(await page.locator(`[id="${described.split(" ").at(-1)}"]`).textContent()).toMatch(/not above/);

      await version.fill("1.2.0");
      await page.getByLabel("Release notes").fill("French statement for HR-1");
      await page.getByRole("button", { name: "Sign and publish the release" }).click();
      await page.getByRole("status").filter({ hasText: "Released the core as 1.2.0" }).waitFor();
      const releases = await s().node.running.coreSource.releases();
      expect(releases.at(-1)).toMatchObject({ version: "1.2.0", notes: "French statement for HR-1" });
      await rowOf(page, "Releases, newest first", "1.2.0").waitFor();
      await drafts.getByText("The drafts are the same as release 1.2.0: nothing to release yet.").waitFor();
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe("the Federation screen at the secretariat", () => {
  it("lists the members with their verified checkpoint's age, and admits a hub (the API's error at the peer id field)", async () => {
    const { page, context, problems } = await openConsole(browser, s().node, s().node.adminToken);
    try {
      await openScreen(page, "Federation");
      const members = /members, as the charter says$/;
      const hubA = rowOf(page, members, "hub-a");
      await hubA.waitFor({ timeout: 15_000 });
      const text = (await hubA.textContent()) ?? "";
      expect(text).toContain("Hub a");
      expect(text).toContain(a().peerId);
      expect(text).toMatch(/Verified checkpoint signed (now|\d+ seconds? ago|\d+ minutes? ago)/);
      expect(text).toContain("Connected");
      await rowOf(page, members, "hub-s").getByText("This node").waitFor();
      await expectAccessible(page, "secretariat Federation (en)");

      const form = page.getByRole("region", { name: "Admit a hub" });
      await form.getByLabel("Hub id").fill("hub-new");
      await form.getByLabel("Name").fill("Hub new");
      const peer = form.getByLabel("Peer id (the hub's key)");
      await peer.fill("not-a-peer-id");
      await form.getByRole("button", { name: "Admit the hub" }).click();
      await form.getByText(/is not an Ed25519 libp2p peer id/).waitFor();
      expect(await peer.getAttribute("aria-invalid")).toBe("true");
      const described = (await peer.getAttribute("aria-describedby")) ?? "";
      expect(await page.locator(`[id="${described.split(" ").at(-1)}"]`).textContent()).toMatch(
        /is not an Ed25519 libp2p peer id/,
      );
      await expectAccessible(page, "secretariat Federation with a field error (en)");

      const newPeer = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
      await peer.fill(newPeer);
      await form.getByLabel("Addresses").fill("/ip4/127.0.0.1/tcp/4999");
      await form.getByRole("button", { name: "Admit the hub" }).click();
      await page.getByRole("status").filter({ hasText: "Admitted hub-new (Hub new)" }).waitFor();
      const admitted = rowOf(page, members, "hub-new");
      await admitted.waitFor();
      expect(await admitted.textContent()).toContain(newPeer);
      expect(await admitted.textContent()).toContain("No verified checkpoint yet");
      expect(s().node.running.membership.member("hub-new")?.keys.at(-1)?.peerId).toBe(newPeer);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe("both screens, accessible in English and Arabic, and on a phone", () => {
  const screens = [
    { en: "Curriculum", ar: "المنهج" },
    { en: "Federation", ar: "الاتحاد" },
  ];
  for (const where of ["s", "a"] as const) {
    it(`at ${where === "s" ? "the secretariat" : "the hub"}: no axe violation in Arabic (right to left) and no sideways scroll at phone size`, async () => {
      const node = fed.byName(where).node;
      for (const viewport of [DESKTOP, PHONE]) {
        const { page, context, problems } = await openConsole(browser, node, node.adminToken, {
          locale: "ar",
          viewport,
        });
        try {
          expect(await page.evaluate("document.documentElement.dir")).toBe("rtl");
          for (const screen of screens) {
            await openScreen(page, screen.ar, "الشاشات");
            await page.getByRole("heading", { level: 2 }).first().waitFor({ timeout: 15_000 });
            const label = `${where} ${screen.en} (ar, ${viewport.width} px)`;
            await expectAccessible(page, label);
            if (viewport === PHONE) await expectNoSidewaysScroll(page, label);
          }
          expect(problems).toEqual([]);
        } finally {
          await context.close();
        }
      }
    });
    it(`at ${where === "s" ? "the secretariat" : "the hub"}: no sideways scroll at phone size in English`, async () => {
      const node = fed.byName(where).node;
      const { page, context } = await openConsole(browser, node, node.adminToken, { viewport: PHONE });
      try {
        for (const screen of screens) {
          await openScreen(page, screen.en);
          await page.getByRole("heading", { level: 2 }).first().waitFor({ timeout: 15_000 });
          await expectNoSidewaysScroll(page, `${where} ${screen.en} (en, phone)`);
          await expectAccessible(page, `${where} ${screen.en} (en, phone)`);
        }
      } finally {
        await context.close();
      }
    });
  }
});

describe("a peer lost", () => {
  it("shows as not connected on the secretariat's Federation screen without reloading", async () => {
    const { page, context } = await openConsole(browser, s().node, s().node.adminToken);
    try {
      await openScreen(page, "Federation");
      const hubA = rowOf(page, /members, as the charter says$/, "hub-a");
      await hubA.getByText("Connected", { exact: true }).waitFor({ timeout: 15_000 });
      await a().node.stop();
      // The screen re-reads on the node's events (peer) and on its heartbeat (every 15 s): bounded.
      await hubA.getByText("Not connected", { exact: true }).waitFor({ timeout: 45_000 });
      expect(await page.getByRole("table", { name: /connections?$/ }).count()).toBe(0);
    } finally {
      await context.close();
    }
  }, 90_000);
});
