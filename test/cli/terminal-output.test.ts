import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { casesImportCommand } from "../../cli/commands/cases.js";
import { trainersFindCommand } from "../../cli/commands/find.js";
import {
  trainersGetCommand,
  trainersHistoryCommand,
  trainersImportCommand,
  trainersListCommand,
} from "../../cli/commands/trainers.js";
import { CliError, ExitCode, printError, toCliError } from "../../cli/errors.js";
import { encodeTrainer } from "../../node/roster/records.js";
import { shardOf } from "../../node/roster/trainer.js";
import {
  draft,
  startFederationWith,
  waitUntil,
  type FederationNode,
  type StartedFederation,
} from "../helpers/federation.js";
import type { TestNode } from "../helpers/harness.js";
import { memoryIo } from "../helpers/io.js";

/**
 * The CLI never writes another hub's text (or its own node's) to a terminal as it is: control
 * characters, terminal escapes and bidirectional overrides come out as visible escapes, in tables,
 * lines, --json and errors. The records are planted below the API (straight into the roster's
 * Automerge document), since the API refuses such text.
 */

/** A window title, a screen clear, a bell, a C1 CSI and a right-to-left override. */
const HOSTILE_NAME = "Amina \u001b]0;owned\u0007\u001b[2J\u009b1m\u202eredaeL";
/** Characters no output of the CLI may carry as they are (tab and line ends may). */
const RAW = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let fed: StartedFederation;
const s = () => fed.byName("s");
const a = () => fed.byName("a");
const cli = (n: FederationNode) => ({ api: n.node.address, token: n.node.adminToken });

/** Adds a valid trainer, then rewrites its name in the roster document itself, as a faulty or hostile hub could. */
async function plantTrainer(node: TestNode, id: string, displayName: string): Promise<void> {
  const running = node.running;
  await running.roster.add(
    { ...draft(id), availability: [{ start: "2027-01-01T00:00:00Z", end: "2027-06-30T00:00:00Z" }] },
    "op",
  );
  const stored = running.roster.get(id, false);
  const key = `roster/${shardOf(id, running.roster.shardCount)}`;
  await running.documents.transact({ operatorId: "op", action: "test.plant", subjects: [id] }, () => ({
    edits: [
      {
        key,
        subject: id,
        change: (doc) =>
          void ((doc.trainers as Record<string, unknown>)[id] = encodeTrainer({ ...stored, displayName })),
      },
    ],
    result: undefined,
  }));
  expect(running.roster.get(id, false).displayName).toBe(displayName);
}

/** No raw character, and the name visibly escaped: `\x1b` for people, `\u001b` (a JSON escape) with --json. */
function expectShownSafely(output: string, json: boolean): void {
  expect(output).not.toMatch(RAW);
  expect(output).toContain(
    json ? "\\u001b]0;owned\\u0007\\u001b[2J\\u009b1m\\u202eredaeL" : "\\x1b]0;owned\\x07\\x1b[2J\\x9b1m\\u202eredaeL",
  );
}

beforeAll(async () => {
  fed = await startFederationWith(["s", "a"], [["a", "s"]]);
  await plantTrainer(a().node, "EVIL-1", HOSTILE_NAME);
  await a().node.running.checkpointer.flush();
}, 60_000);
afterAll(async () => {
  await fed?.stop();
});

describe("what the CLI prints from a node", () => {
  it("this hub's own record: get, list and history, as tables and as --json", async () => {
    for (const json of [false, true]) {
      const get = memoryIo(json);
      await trainersGetCommand({ ...cli(a()), id: "EVIL-1" }, get);
      expectShownSafely(get.out(), json);
      const list = memoryIo(json);
      await trainersListCommand({ ...cli(a()) }, list);
      expectShownSafely(list.out(), json);
      const history = memoryIo(json);
      await trainersHistoryCommand({ ...cli(a()), id: "EVIL-1" }, history);
      expect(history.out()).not.toMatch(RAW);
    }
    // --json keeps the value: parsed back, it is the name as stored
    const io = memoryIo(true);
    await trainersGetCommand({ ...cli(a()), id: "EVIL-1" }, io);
    expect(JSON.stringify(JSON.parse(io.out()))).toContain(JSON.stringify(HOSTILE_NAME).slice(1, -1));
  });

  it("another hub's record, as the secretariat finds it across the federation", async () => {
    const find = async (json: boolean) => {
      const io = memoryIo(json);
      await trainersFindCommand({ ...cli(s()), from: "2027-03-01T00:00:00Z", to: "2027-03-05T00:00:00Z" }, io);
      return io.out();
    };
    await waitUntil(
      "the secretariat to index hub-a's trainer",
      async () => (await find(true)).includes("EVIL-1"),
      30_000,
    );
    expectShownSafely(await find(false), false);
    expectShownSafely(await find(true), true);
  });

  it("an error carrying a node's text is printed safely, for people and with --json", () => {
    const error = new CliError(`NOT_FOUND: no trainer '${HOSTILE_NAME}'`, ExitCode.NotFound, [
      `trainer.display_name: ${HOSTILE_NAME}`,
    ]);
    for (const json of [false, true]) {
      const io = memoryIo(json);
      printError(io, error);
      expect(io.err()).not.toMatch(RAW);
      expect(io.err()).toContain("\\u202eredaeL");
    }
  });
});

describe("files holding such text", () => {
  it("is reported row by row, naming the line and the field, and nothing is imported (CSV, and JSON with an escape)", async () => {
    const dir = a().node.dataDir;
    const csv = join(dir, "hostile.csv");
    await writeFile(csv, `id,display_name,languages\nOK-1,Good Name,en:B2\nBAD-1,"Bad \u001b[2J Name",en:B2\n`);
    const json = join(dir, "hostile.json");
    await writeFile(
      json,
      JSON.stringify([
        { id: "OK-2", displayName: "Good" },
        { id: "BAD-2", displayName: "Bad \u0007 bell" },
      ]),
    );
    expect(await readFile(json, "utf8")).toContain("\\u0007"); // the file holds the escape, not the character
    for (const [file, line, field, code] of [
      [csv, 3, "display_name", "U+001B"],
      [json, 1, "displayName", "U+0007"],
    ] as const) {
      const io = memoryIo(true);
      const error = toCliError(await trainersImportCommand({ ...cli(a()), file }, io).catch((e: unknown) => e));
      expect(error.exitCode).toBe(ExitCode.Usage);
      const printed = JSON.parse(io.out()) as {
        committed: boolean;
        errors: Array<{ line: number; field: string; message: string }>;
      };
      expect(printed.committed).toBe(false);
      expect(printed.errors).toEqual([{ line, field, message: expect.stringContaining(code) }]);
      expect(io.out()).not.toMatch(RAW);
    }
    const list = memoryIo(true);
    await trainersListCommand({ ...cli(a()) }, list);
    expect(list.out()).not.toContain("OK-1");
    expect(list.out()).not.toContain("OK-2");
  });

  it("a case folder is refused before anything is sent, naming the file, the field and the character", async () => {
    const dir = join(a().node.dataDir, "cases");
    await mkdir(dir);
    const front = (title: string) => `---\nkind: case-study\ntitle: "${title}"\nlanguage: en\n---\nWhat worked.\n`;
    await writeFile(join(dir, "good.md"), front("Community policing"));
    await writeFile(join(dir, "bad.md"), front("Kisumu \\e]0;owned\\a")); // YAML's own escapes for ESC and BEL
    const error = toCliError(await casesImportCommand({ ...cli(a()), dir }, memoryIo()).catch((e: unknown) => e));
    expect(error.exitCode).toBe(ExitCode.Usage);
    expect(error.details).toEqual(["bad.md: title: contains U+001B (a control character), which no text may hold"]);
  });
});
