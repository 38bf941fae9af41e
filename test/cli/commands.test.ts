import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { backupCommand, restoreCommand } from "../../cli/commands/backup.js";
import { operatorsAddCommand, operatorsListCommand, operatorsRevokeCommand } from "../../cli/commands/operators.js";
import {
  trainersAddCommand,
  trainersExportCommand,
  trainersHistoryCommand,
  trainersImportCommand,
  trainersListCommand,
  trainersRemoveCommand,
  trainersUpdateCommand,
} from "../../cli/commands/trainers.js";
import { ExitCode } from "../../cli/errors.js";
import { makeTempDir, startTestNode, type TestNode } from "../helpers/harness.js";
import { expectCliError, memoryIo } from "../helpers/io.js";

async function exportText(data: string, format: "csv" | "json"): Promise<string> {
  const io = memoryIo();
  await trainersExportCommand({ data, format }, io);
  return io.out();
}

const nodes: TestNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.cleanup();
});

async function node(): Promise<TestNode> {
  const n = await startTestNode();
  nodes.push(n);
  return n;
}

describe("trainers commands (called as functions against a real node)", () => {
  test("add, update, list, history, export, remove; import(export(x)) = x in CSV and JSON", async () => {
    const n = await node();
    const data = n.dataDir;
    await trainersAddCommand(
      {
        data,
        id: "T-001",
        name: "Amina Odhiambo",
        languages: "en:C1;sw:C2",
        regions: "KE;UG",
        accreditations: "UNPOL-TOT|HR-3.2|trainer|2025-01-01|2027-12-31|active",
        availability: "2026-02-01T00:00:00Z/2026-03-01T00:00:00Z",
        email: "amina@example.org",
        notes: 'prefers, "quoted"; notes\nover two lines',
      },
      memoryIo(),
    );
    await trainersAddCommand(
      { data, id: "T-002", name: "Jean-Pierre Ndiaye", languages: "fr:C2;wo:B1", regions: "SN" },
      memoryIo(),
    );
    await trainersUpdateCommand({ data, id: "T-002", blackouts: "2026-04-01/2026-04-15" }, memoryIo());

    const list = memoryIo(true);
    await trainersListCommand({ data }, list);
    const listed = JSON.parse(list.out()) as {
      total: number;
      trainers: Array<{ id: string; displayName: string; blackouts: unknown[] }>;
    };
    expect(listed.total).toBe(2);
    expect(listed.trainers.find((t) => t.id === "T-002")?.blackouts).toHaveLength(1);

    const history = memoryIo(true);
    await trainersHistoryCommand({ data, id: "T-002" }, history);
    expect(
      (JSON.parse(history.out()) as { entries: Array<{ action: string; operatorId: string }> }).entries.map((e) => [
        e.action,
        e.operatorId,
      ]),
    ).toEqual([
      ["trainer.add", n.adminOperatorId],
      ["trainer.update", n.adminOperatorId],
    ]);

    for (const format of ["csv", "json"] as const) {
      const before = await exportText(data, format);
      const file = join(data, `roster.${format}`);
      await writeFile(file, before);
      await trainersRemoveCommand({ data, id: "T-001" }, memoryIo());
      await trainersRemoveCommand({ data, id: "T-002" }, memoryIo());
      expect(await exportText(data, format)).not.toBe(before);
      await trainersImportCommand({ data, file }, memoryIo());
      expect(await exportText(data, format)).toBe(before);
    }
  });

  test("import sends rows in messages the node takes (at most 1 MiB each), however large the rows", async () => {
    const n = await node();
    const data = n.dataDir;
    // 600 rows of 12 KB (notes of 4,000 three-byte characters): 500 of them would make a 6 MB message
    const rows = Array.from({ length: 600 }, (_, i) => `BIG-${i},Trainer ${i},${"保".repeat(4000)}`);
    const file = join(data, "big.csv");
    await writeFile(file, ["id,display_name,notes", ...rows].join("\n"));
    const result = await trainersImportCommand({ data, file }, memoryIo());
    expect(result).toMatchObject({ imported: 600, committed: true });
  });

  test("import reports every bad row with its line and imports nothing; --skip-invalid imports the rest", async () => {
    const n = await node();
    const data = n.dataDir;
    const csv = [
      "id,display_name,languages,regions",
      "A-1,Good One,en:C1,KE",
      "A-2,Bad level,en:Z9,KE", // node: CEFR level
      'A-3,"Multi',
      'line name",fr:B2,XX', // node: region, reported at the record's first line (4)
      "A-4,Bad cell,english,KE", // file: language cell does not parse
      "A-5,Good Two,ar:B2,EG",
      "A-1,Duplicate,en:B1,KE", // node: duplicate id in the file
    ].join("\n");
    const file = join(data, "import.csv");
    await writeFile(file, csv);
    const before = await exportText(data, "json");

    const io = memoryIo();
    const error = await expectCliError(trainersImportCommand({ data, file }, io));
    expect(error.exitCode).toBe(ExitCode.Usage);
    expect(error.message).toMatch(/4 rows .* invalid; nothing was imported/);
    const table = io.out();
    for (const line of ["3", "4", "6", "8"]) expect(table).toMatch(new RegExp(`│ ${line} +│`));
    expect(table).toMatch(/Z9/);
    expect(table).toMatch(/XX/);
    expect(table).toMatch(/english/);
    expect(table).toMatch(/also appears at line 2/);
    expect(await exportText(data, "json")).toBe(before);

    const skipping = memoryIo(true);
    const result = await trainersImportCommand({ data, file, skipInvalid: true }, skipping);
    expect(result.committed).toBe(true);
    expect(result.imported).toBe(2);
    const ids = (JSON.parse(await exportText(data, "json")) as Array<{ id: string }>).map((t) => t.id);
    expect(ids).toEqual(["A-1", "A-5"]);
  });

  test("bad flags are refused before anything is sent, naming the flag", async () => {
    const n = await node();
    const error = await expectCliError(
      trainersAddCommand({ data: n.dataDir, id: "X-1", name: "X", languages: "english" }, memoryIo()),
    );
    expect(error.exitCode).toBe(ExitCode.Usage);
    expect(error.details.join("\n")).toMatch(/--languages/);
    const empty = await expectCliError(trainersUpdateCommand({ data: n.dataDir, id: "X-1" }, memoryIo()));
    expect(empty.message).toMatch(/nothing to update/);
  });

  test("a viewer's token can read but not write (exit code 4), and changes nothing", async () => {
    const n = await node();
    const added = memoryIo(true);
    await operatorsAddCommand({ data: n.dataDir, name: "Auditor", role: "viewer" }, added);
    const { token } = JSON.parse(added.out()) as { token: string };
    await trainersListCommand({ data: n.dataDir, token }, memoryIo());
    const error = await expectCliError(
      trainersAddCommand({ data: n.dataDir, token, id: "V-1", name: "Nope" }, memoryIo()),
    );
    expect(error.exitCode).toBe(ExitCode.Unauthorized);
    expect(error.message).toMatch(/PERMISSION_DENIED.*viewer/);
    expect(JSON.parse(await exportText(n.dataDir, "json"))).toEqual([]);
  });

  test("a token written to a 0600 file and never printed; revoked by the operator's name, refused when the name is ambiguous", async () => {
    const n = await node();
    const file = join(n.dataDir, "audit.token");
    const added = memoryIo();
    await operatorsAddCommand({ data: n.dataDir, name: "Audit office", role: "viewer", out: file }, added);
    const token = (await readFile(file, "utf8")).trim();
    expect(token).toMatch(/^cct_/);
    expect(added.out()).not.toContain(token);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await trainersListCommand({ data: n.dataDir, token }, memoryIo());

    await operatorsAddCommand({ data: n.dataDir, name: "Twin", role: "viewer" }, memoryIo());
    await operatorsAddCommand({ data: n.dataDir, name: "Twin", role: "viewer" }, memoryIo());
    const ambiguous = await expectCliError(operatorsRevokeCommand({ data: n.dataDir, id: "Twin" }, memoryIo()));
    expect(ambiguous.message).toMatch(/2 active operators are named 'Twin'/);
    const unknown = await expectCliError(operatorsRevokeCommand({ data: n.dataDir, id: "Nobody" }, memoryIo()));
    expect(unknown.exitCode).toBe(ExitCode.NotFound);

    await operatorsRevokeCommand({ data: n.dataDir, id: "Audit office" }, memoryIo());
    const refused = await expectCliError(trainersListCommand({ data: n.dataDir, token }, memoryIo()));
    expect(refused.exitCode).toBe(ExitCode.Unauthorized);
    const list = memoryIo(true);
    await operatorsListCommand({ data: n.dataDir }, list);
    const states = (JSON.parse(list.out()) as Array<{ name: string; revokedAt: string }>).map((o) => [
      o.name,
      o.revokedAt !== "",
    ]);
    expect(states).toContainEqual(["Audit office", true]);
    expect(states.filter(([name, revoked]) => name === "Twin" && !revoked)).toHaveLength(2);
  });
});

describe("backup and restore", () => {
  test("backup while running, restore into an empty directory, the restored node serves the same roster", async () => {
    const n = await node();
    const data = n.dataDir;
    for (let i = 0; i < 30; i += 1) {
      await trainersAddCommand(
        { data, id: `B-${i}`, name: `Trainer ${i}`, languages: "en:B2", regions: "KE", phone: "+254 700 000 000" },
        memoryIo(),
      );
    }
    const backupDir = await makeTempDir("concordat-backup-");
    const file = join(backupDir, "hub.backup");
    // Writes keep going while the backup streams: it must still be a consistent snapshot.
    const writes = Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        trainersAddCommand({ data, id: `C-${i}`, name: `Concurrent ${i}` }, memoryIo()),
      ),
    );
    await backupCommand({ data, out: file }, memoryIo());
    await writes;
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const restoredDir = join(backupDir, "restored");
    await restoreCommand({ file, data: restoredDir }, memoryIo());
    const restored = await startTestNode({ dataDir: restoredDir });
    nodes.push(restored);
    const original = JSON.parse(await exportText(data, "json")) as Array<{ id: string }>;
    const copy = JSON.parse(await exportText(restoredDir, "json")) as Array<{ id: string }>;
    // Everything written before the backup began is there; concurrent writes may or may not be.
    const copyIds = new Set(copy.map((t) => t.id));
    for (let i = 0; i < 30; i += 1) expect(copyIds.has(`B-${i}`)).toBe(true);
    expect(copy).toEqual(original.filter((t) => copyIds.has(t.id)));
    expect(restored.running.identity.peerId).toBe(n.running.identity.peerId);
  });

  test("restore refuses a damaged backup and a non-empty directory, and leaves nothing behind", async () => {
    const n = await node();
    const dir = await makeTempDir("concordat-backup-");
    const file = join(dir, "hub.backup");
    await backupCommand({ data: n.dataDir, out: file }, memoryIo());
    const bytes = await readFile(file);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    const damaged = join(dir, "damaged.backup");
    await writeFile(damaged, bytes);
    const target = join(dir, "target");
    const error = await expectCliError(restoreCommand({ file: damaged, data: target }, memoryIo()));
    expect(error.message).toMatch(/checksum does not match|truncated|not a usable backup/);
    expect(await readdir(target).catch(() => [])).toEqual([]);

    const refused = await expectCliError(restoreCommand({ file, data: n.dataDir }, memoryIo()));
    expect(refused.message).toMatch(/not empty/);
  });
});
