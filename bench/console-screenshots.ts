/**
 * `npm run console:screenshots`: pictures of every screen of the web console, in English and
 * Arabic, at desktop size, for the manual (docs/console/<screen>-<lang>.png, and login-<lang>.png).
 *
 * It starts a small federation of real node processes on 127.0.0.1 (a secretariat and one hub, the
 * built CLI's `concordat start`, bench/lib/nodes.ts), seeds it through the API as people would
 * (trainers at both, a released and adopted core, a local module, a delivery, a booking request),
 * opens the hub's console in the tests' headless Chromium (bench/lib/browser.ts) and visits every
 * screen its navigation landmark lists: the screens are found on the page, not listed here. A screen
 * is pictured once nothing on it says it is loading (within a bound). Everything started is stopped.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { parse, stringify } from "yaml";
import type { Trainer } from "../node/api/generated/concordat/v1/trainers.js";
import { initDataDir } from "../node/setup.js";
import { adminToken, admitRequest, benchClient, type NodeClient } from "./lib/api.js";
import { launchChromium } from "./lib/browser.js";
import { Cleanup, DEFAULT_CONFIG, freePorts, ROOT, type StartedNode, startNode } from "./lib/nodes.js";
import { waitUntil } from "./lib/wait.js";

const OUT = join(ROOT, "docs", "console");
const LANGUAGES = [
  { lang: "en", locale: "en-GB" },
  { lang: "ar", locale: "ar" },
] as const;
const DESKTOP = { width: 1280, height: 800 };
const YEAR = new Date().getFullYear();

const log = (message: string) => process.stderr.write(`${message}\n`);

interface Member {
  hub: string;
  name: string;
  dataDir: string;
  peerId: string;
  libp2pPort: number;
  node?: StartedNode;
  api?: NodeClient;
  token: string;
}

function trainer(id: string, displayName: string, region: string, languages: string[]): Trainer {
  return {
    id,
    displayName,
    homeHub: "",
    languages: languages.map((tag) => ({ tag, level: "C1" })),
    regions: [region],
    accreditations: [],
    availability: [{ start: `${YEAR}-01-01T00:00:00Z`, end: `${YEAR + 2}-01-01T00:00:00Z` }],
    blackouts: [],
    private: undefined,
    updatedAt: "",
    updatedBy: "",
  };
}

/** A secretariat and one hub, each a `concordat start` process on loopback; the charter admits the hub. */
async function startFederation(work: string, cleanup: Cleanup): Promise<{ secretariat: Member; hub: Member }> {
  const base = await readFile(DEFAULT_CONFIG, "utf8");
  const ports = await freePorts(2);
  const members: Member[] = [];
  for (const [i, [hub, name]] of [
    ["secretariat", "SSR Standards Secretariat"],
    ["nairobi-ptc", "Nairobi Peace Support Training Centre"],
  ].entries()) {
    const dataDir = join(work, hub as string);
    const init = await initDataDir({
      dataDir,
      hubId: hub as string,
      name: name as string,
      secretariat: i === 0,
      ...(i > 0 ? { anchor: (members[0] as Member).peerId } : {}),
      baseConfig: base,
      baseConfigSource: DEFAULT_CONFIG,
    });
    members.push({
      hub: hub as string,
      name: name as string,
      dataDir,
      peerId: init.peerId,
      libp2pPort: ports[i] as number,
      token: await adminToken(dataDir),
    });
  }
  const [secretariat, hub] = members as [Member, Member];
  // The hub dials the secretariat; both know each other.
  for (const [me, other, dials] of [
    [secretariat, hub, false],
    [hub, secretariat, true],
  ] as const) {
    const path = join(me.dataDir, "config.yaml");
    const config = parse(await readFile(path, "utf8")) as Record<string, Record<string, unknown>>;
    config.network = {
      listen: [`/ip4/127.0.0.1/tcp/${me.libp2pPort}`],
      grpc: false,
      peers: [{ peerId: other.peerId, libp2p: dials ? [`/ip4/127.0.0.1/tcp/${other.libp2pPort}`] : [] }],
    };
    await writeFile(path, stringify(config));
  }
  for (const m of members) {
    m.node = await startNode(m.dataDir, {
      env: {
        CONCORDAT_API_PORT: "0",
        CONCORDAT_CONSOLE_PORT: "0",
        CONCORDAT_NETWORK_LISTEN: `/ip4/127.0.0.1/tcp/${m.libp2pPort}`,
        CONCORDAT_LOG_LEVEL: "info",
      },
    });
    const node = m.node;
    cleanup.add(`stop ${m.hub}`, async () => {
      await node.stop(15_000);
    });
    m.api = benchClient(m.node.address, m.token);
    const api = m.api;
    cleanup.add(`close the client of ${m.hub}`, () => api.close());
  }
  const s = secretariat.api as NodeClient;
  await s.federation.createFederation({ addresses: [] });
  await s.federation.admitMember(admitRequest(hub.hub, hub.peerId, hub.name));
  await waitUntil(
    "the hub to trust the charter",
    async (see) => {
      const members = (await (hub.api as NodeClient).federation.listMembers({})).members.length;
      see(`${members} members`);
      return members >= 2;
    },
    30_000,
    200,
  );
  return { secretariat, hub };
}

/** What the screens show: trainers, a core release adopted, a local module delivered, a booking request. */
async function seed(secretariat: Member, hub: Member): Promise<void> {
  const s = secretariat.api as NodeClient;
  const h = hub.api as NodeClient;
  for (const t of [
    trainer("NPT-001", "Amina Wanjiru", "KE", ["en", "sw"]),
    trainer("NPT-002", "Joseph Otieno", "KE", ["en"]),
    trainer("NPT-003", "Fatuma Hassan", "TZ", ["sw", "ar"]),
  ])
    await h.trainers.addTrainer({ trainer: t });
  for (const t of [
    trainer("SEC-001", "Claire Dubois", "SN", ["fr", "en"]),
    trainer("SEC-002", "Omar Haddad", "JO", ["ar", "en"]),
  ])
    await s.trainers.addTrainer({ trainer: t });
  const core = await readFile(join(ROOT, "test", "fixtures", "case", "ssr-core.json"));
  await s.core.importCore({ format: "case", content: core, dryRun: false, language: "en" });
  await s.core.releaseCore({ version: "1.0.0", notes: "First release" });
  await waitUntil(
    "the hub to verify the core release",
    async () => {
      const releases = await h.core.listCoreReleases({});
      return releases.releases.some((r) => r.version === "1.0.0");
    },
    30_000,
    200,
  );
  await h.core.adoptCore({ version: "1.0.0" });
  const module = {
    id: "nairobi-ptc.hr-intro",
    code: "NPT-HR-1",
    title: { en: "Human rights in policing: an introduction", sw: "Haki za binadamu katika polisi" },
    durationMinutes: 480,
    deliveryMode: "on-site",
    units: [],
    competencies: [],
    materials: [],
  };
  await h.core.putCurriculumRecord({ kind: "local-module", json: JSON.stringify(module) });
  await h.deliveries.recordDelivery({
    delivery: {
      id: `npt-${YEAR}-01`,
      module: module.id,
      start: `${YEAR}-02-10`,
      end: `${YEAR}-02-14`,
      country: "KE",
      place: "Karen, Nairobi",
      language: "en",
      participants: [{ category: "police", female: 11, male: 14, unspecified: 1 }],
      completed: 24,
      passed: 22,
      evaluation: { responses: 20, meanScore: 84, instrument: "" },
      assessments: [],
      learning: undefined,
      followUpDue: "",
      visibility: "public",
      source: "",
      recordedAt: "",
      recordedBy: "",
      hub: "",
    },
  });
  // The reports count what the secretariat signed too: wait until the hub's report has both hubs.
  const started = performance.now();
  await waitUntil(
    "the hub's coverage report to count both hubs' trainers",
    async (see) => {
      const report = JSON.parse(
        (await h.reports.coverageReport({ from: `${YEAR}-01-01`, to: `${YEAR}-12-31`, publicOnly: false })).json,
      ) as { hubs: Array<{ hub: string; trainers: number }> };
      see(report.hubs.map((x) => `${x.hub}: ${x.trainers}`).join(", "));
      return report.hubs.reduce((sum, x) => sum + x.trainers, 0) === 5;
    },
    60_000,
    250,
  );
  log(`  the hub's coverage report counted both hubs after ${Math.round(performance.now() - started)} ms`);
  // A booking request from the secretariat for one of the hub's trainers (once it sees them).
  const from = new Date(Date.UTC(YEAR + 1, 2, 2, 8)).toISOString();
  const to = new Date(Date.UTC(YEAR + 1, 2, 6, 17)).toISOString();
  await waitUntil(
    "the secretariat to request a booking of NPT-001",
    async (see) => {
      try {
        await s.bookings.requestBooking({
          requestId: "screens-1",
          trainerHub: hub.hub,
          trainerId: "NPT-001",
          from,
          to,
          competency: "",
          course: "Human rights in policing",
          note: "For the regional course in Kigali",
          expiresAt: "",
        });
        return true;
      } catch (error) {
        see((error as Error).message);
        return false;
      }
    },
    30_000,
    250,
  );
}

/** Waits until nothing on the page says it is loading (its "busy" status regions), within a bound. */
async function settled(page: Page): Promise<void> {
  await page.getByRole("heading", { level: 1 }).first().waitFor({ timeout: 15_000 });
  const deadline = Date.now() + 15_000;
  const busy = page.locator(".busy");
  while ((await busy.count()) > 0) {
    if (Date.now() >= deadline) {
      log(
        `  ${page.url()}: still loading after 15 s (${(await busy.allTextContents()).join("; ")}); pictured as it is`,
      );
      break;
    }
    await busy
      .first()
      .waitFor({ state: "detached", timeout: Math.max(1, deadline - Date.now()) })
      .catch(() => undefined);
  }
  await page.evaluate("document.fonts.ready.then(() => true)");
}

const slug = (name: string) =>
  name
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");

async function screenshots(browser: Browser, url: string, token: string): Promise<string[]> {
  const written: string[] = [];
  /** Screens by address, named from their English link (the file names). */
  const names = new Map<string, string>();
  for (const { lang, locale } of LANGUAGES) {
    const context = await browser.newContext({ locale, viewport: DESKTOP });
    try {
      const page = await context.newPage();
      await page.goto(url);
      await page.locator('input[type="password"]').waitFor({ timeout: 15_000 });
      await page.evaluate("document.fonts.ready.then(() => true)");
      const login = join(OUT, `login-${lang}.png`);
      await page.screenshot({ path: login, fullPage: true });
      written.push(login);
      await page.locator('input[type="password"]').fill(token);
      await page.locator('input[type="password"]').press("Enter");
      const navigation = page.getByRole("navigation").first();
      await navigation.waitFor({ timeout: 15_000 });
      const links = await navigation
        .getByRole("link")
        .evaluateAll((els) =>
          els.map((e) => ({ href: e.getAttribute("href") ?? "", name: (e.textContent ?? "").trim() })),
        );
      if (links.length === 0) throw new Error("the console's navigation lists no screen");
      for (const link of links) {
        // Files are named by the screen's address (/find → find-en.png): a link's text may carry a count.
        if (!names.has(link.href)) names.set(link.href, slug(link.href) || slug(link.name));
        await navigation.locator(`a[href="${link.href}"]`).click();
        await page.waitForURL((u) => u.pathname === link.href, { timeout: 15_000 });
        await settled(page);
        const file = join(OUT, `${names.get(link.href)}-${lang}.png`);
        await page.screenshot({ path: file, fullPage: true });
        written.push(file);
        log(`  ${file.slice(ROOT.length + 1)}`);
      }
    } finally {
      await context.close();
    }
  }
  return written;
}

async function main(): Promise<void> {
  const began = performance.now();
  const cleanup = new Cleanup();
  let failed = false;
  try {
    const work = await mkdtemp(join(tmpdir(), "concordat-screens-"));
    cleanup.add(`remove ${work}`, () => rm(work, { recursive: true, force: true }));
    log("starting a secretariat and a hub on 127.0.0.1…");
    const { secretariat, hub } = await startFederation(work, cleanup);
    log("seeding trainers, a core release, a delivery and a booking request…");
    await seed(secretariat, hub);
    const url = hub.node?.logs.find((l) => l.msg === "web console listening")?.url as string | undefined;
    if (!url) throw new Error("the hub's log names no console address (is console.enabled off?)");
    await mkdir(OUT, { recursive: true });
    const browser = await launchChromium();
    cleanup.add("close the browser", () => browser.close());
    log(`pictures of ${url} in ${LANGUAGES.map((l) => l.lang).join(", ")}:`);
    const files = await screenshots(browser, url, hub.token);
    log(
      `${files.length} pictures in ${OUT.slice(ROOT.length + 1)}/ in ${((performance.now() - began) / 1000).toFixed(1)} s`,
    );
  } catch (error) {
    failed = true;
    log(`console:screenshots failed: ${(error as Error).stack ?? String(error)}`);
  } finally {
    await cleanup.run(log);
  }
  process.exit(failed ? 1 : 0);
}

await main();
