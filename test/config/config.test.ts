import { existsSync, readdirSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyEnvOverrides, loadConfigFile, parseConfig, parseYaml } from "../../node/config/index.js";
import { ConcordatError } from "../../node/errors.js";
import { makeTempDir, startTestNode } from "../helpers/harness.js";

const CONFIG_DIR = fileURLToPath(new URL("../../config/", import.meta.url));
const MINIMAL = "hub:\n  id: hub-ke-01\n  name: Nairobi\n";

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await makeTempDir("concordat-config-");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(text: string): Promise<string> {
  counter += 1;
  const path = join(dir, `config-${counter}.yaml`);
  await writeFile(path, text);
  return path;
}

/** The ConcordatError a promise or function fails with. */
async function failure(run: () => unknown): Promise<ConcordatError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConcordatError);
    return error as ConcordatError;
  }
  throw new Error("expected a configuration error");
}

describe("parseConfig", () => {
  it("applies the documented defaults to a minimal config", () => {
    expect(parseConfig({ hub: { id: "hub-ke-01", name: "Nairobi" } }, "test")).toEqual({
      hub: { id: "hub-ke-01", name: "Nairobi", role: "hub", region: "" },
      federation: {
        id: "concordat-dev",
        heartbeatSeconds: 300,
        checkpointBatchMs: 50,
        staleAfterSeconds: 900,
        rotationGraceSeconds: 3600,
      },
      api: { host: "127.0.0.1", port: 7400 },
      console: { enabled: true, host: "127.0.0.1", port: 0 },
      metrics: { host: "127.0.0.1" },
      storage: { sync: true },
      roster: { shards: 4, maxPerShard: 2000 },
      network: { listen: ["/ip4/127.0.0.1/tcp/7500"], grpc: true, peers: [] },
      bookings: { policy: "manual", requestTtlHours: 72 },
      log: { level: "info", pretty: "auto" },
    });
  });

  it("fills defaults inside a partly given section", () => {
    const config = parseConfig({ hub: { id: "ab", name: "x" }, api: { port: 9000 }, log: { level: "debug" } }, "test");
    expect(config.api).toEqual({ host: "127.0.0.1", port: 9000 });
    expect(config.log).toEqual({ level: "debug", pretty: "auto" });
  });

  it("an unknown key is an error naming its path", async () => {
    const error = await failure(() => parseConfig({ hub: { id: "ab", name: "x" }, api: { prot: 7400 } }, "test.yaml"));
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.violations.map((v) => v.field)).toEqual(["api.prot"]);
    expect(error.message).toContain("api.prot");
    expect(error.message).toContain("test.yaml");

    const top = await failure(() => parseConfig({ hub: { id: "ab", name: "x" }, hubb: {} }, "test.yaml"));
    expect(top.violations.map((v) => v.field)).toEqual(["hubb"]);
  });

  it("a value of the wrong type or out of range names its key, all at once", async () => {
    const error = await failure(() =>
      parseConfig(
        {
          hub: { id: "Bad_Id", name: "x", role: "boss" },
          api: { port: "7400" },
          roster: { shards: 0 },
          storage: { sync: "yes" },
          log: { level: "loud" },
        },
        "test.yaml",
      ),
    );
    expect(error.violations.map((v) => v.field).sort()).toEqual([
      "api.port",
      "hub.id",
      "hub.role",
      "log.level",
      "roster.shards",
      "storage.sync",
    ]);
    for (const field of ["api.port", "hub.id", "roster.shards"]) expect(error.message).toContain(field);
  });

  it("a missing hub section is named", async () => {
    const error = await failure(() => parseConfig({}, "test.yaml"));
    expect(error.violations.map((v) => v.field)).toEqual(["hub"]);
  });
});

describe("parseYaml", () => {
  it("a syntax error names its line", async () => {
    const tab = await failure(() => parseYaml("hub:\n  id: ab\n  name: x\napi:\n\tport: 7400\n", "bad.yaml"));
    expect(tab.code).toBe("INVALID_ARGUMENT");
    expect(tab.message).toMatch(/line 5\b/);
    expect(tab.violations[0]?.field).toBe("bad.yaml");

    const duplicate = await failure(() =>
      parseYaml("hub:\n  id: ab\n  name: x\napi:\n  port: 7400\n  port: 7401\n", "dup.yaml"),
    );
    expect(duplicate.message).toMatch(/line 6\b/);
  });
});

describe("loadConfigFile", () => {
  it("loads a file and applies defaults", async () => {
    const config = await loadConfigFile(await file(MINIMAL));
    expect(config.hub.id).toBe("hub-ke-01");
    expect(config.api.port).toBe(7400);
  });

  it("names the key path of an unknown key, the file, and the line of a syntax error", async () => {
    const unknown = await file(`${MINIMAL}api:\n  prot: 7400\n`);
    const error = await failure(() => loadConfigFile(unknown));
    expect(error.message).toContain("api.prot");
    expect(error.message).toContain(unknown);

    const broken = await file(`${MINIMAL}api:\n  host: "127.0.0.1\n`);
    const syntax = await failure(() => loadConfigFile(broken));
    expect(syntax.message).toMatch(/line \d+/);
    expect(syntax.violations[0]?.field).toBe(broken);
  });

  it("a missing file is a clear error", async () => {
    const error = await failure(() => loadConfigFile(join(dir, "nope.yaml")));
    expect(error.message).toContain("file not found");
  });

  it("applies valid environment overrides", async () => {
    const path = await file(MINIMAL);
    const config = await loadConfigFile(path, {
      CONCORDAT_API_HOST: "::1",
      CONCORDAT_API_PORT: "0",
      CONCORDAT_API_TLS_CERT: "/tls/node.crt",
      CONCORDAT_API_TLS_KEY: "/tls/node.key",
      CONCORDAT_LOG_LEVEL: "debug",
      CONCORDAT_LOG_PRETTY: "false",
      CONCORDAT_STORAGE_SYNC: "true",
      UNRELATED: "ignored",
    });
    expect(config.api).toEqual({ host: "::1", port: 0, tls: { cert: "/tls/node.crt", key: "/tls/node.key" } });
    expect(config.log).toEqual({ level: "debug", pretty: false });
    expect(config.storage.sync).toBe(true);
    expect((await loadConfigFile(path, { CONCORDAT_LOG_PRETTY: "auto" })).log.pretty).toBe("auto");
    // Without an env argument nothing is overridden.
    expect((await loadConfigFile(path)).api.port).toBe(7400);
  });

  it("an environment override overrides the file", async () => {
    const path = await file(`${MINIMAL}api:\n  port: 9000\n`);
    expect((await loadConfigFile(path, { CONCORDAT_API_PORT: "9100" })).api.port).toBe(9100);
  });

  it("a bad environment value names the variable", async () => {
    const path = await file(MINIMAL);
    const port = await failure(() => loadConfigFile(path, { CONCORDAT_API_PORT: "abc" }));
    expect(port.code).toBe("INVALID_ARGUMENT");
    expect(port.violations.map((v) => v.field)).toEqual(["CONCORDAT_API_PORT"]);
    expect(port.message).toContain("CONCORDAT_API_PORT");
    expect(port.message).toContain("abc");

    const empty = await failure(() => loadConfigFile(path, { CONCORDAT_API_PORT: " " }));
    expect(empty.message).toContain("CONCORDAT_API_PORT");

    const sync = await failure(() => loadConfigFile(path, { CONCORDAT_STORAGE_SYNC: "yes" }));
    expect(sync.message).toContain("CONCORDAT_STORAGE_SYNC");

    const level = await failure(() => loadConfigFile(path, { CONCORDAT_LOG_LEVEL: "loud" }));
    expect(level.violations.map((v) => v.field)).toEqual(["log.level"]);
  });
});

describe("api.host off loopback", () => {
  const TLS = "api:\n  tls:\n    cert: /tls/node.crt\n    key: /tls/node.key\n";

  it("is refused without TLS, naming api.host and api.tls", async () => {
    for (const host of ["0.0.0.0", "::", "10.0.0.5", "192.168.1.20", "hub.example.org", "::ffff:10.0.0.1"]) {
      const error = await failure(async () => loadConfigFile(await file(MINIMAL), { CONCORDAT_API_HOST: host }));
      expect(
        error.violations.map((v) => v.field),
        host,
      ).toEqual(["api.host"]);
      expect(error.message).toContain("api.tls");
      expect(error.message).toContain(`'${host}' is not a loopback address`);
    }
  });

  it("is served with TLS; loopback (127.0.0.0/8, ::1, localhost) needs none", async () => {
    expect((await loadConfigFile(await file(`${MINIMAL}${TLS}`), { CONCORDAT_API_HOST: "0.0.0.0" })).api.host).toBe(
      "0.0.0.0",
    );
    for (const host of ["127.0.0.1", "127.3.2.1", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost"]) {
      expect((await loadConfigFile(await file(MINIMAL), { CONCORDAT_API_HOST: host })).api.host).toBe(host);
    }
  });

  it("stops a node at start, before it listens", async () => {
    const error = await startTestNode({ env: { CONCORDAT_API_HOST: "0.0.0.0" } }).then(
      () => new Error("the node started"),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(ConcordatError);
    expect(error.message).toMatch(/api\.host: '0\.0\.0\.0' is not a loopback address .*api\.tls/);
  });
});

describe("shipped configuration files", () => {
  const files = [
    join(CONFIG_DIR, "default.yaml"),
    ...(existsSync(join(CONFIG_DIR, "examples"))
      ? readdirSync(join(CONFIG_DIR, "examples"))
          .filter((name) => name.endsWith(".yaml") || name.endsWith(".yml"))
          .map((name) => join(CONFIG_DIR, "examples", name))
      : []),
  ];

  it("config/default.yaml exists", () => {
    expect(existsSync(files[0] as string)).toBe(true);
  });

  it.each(files)("%s validates", async (path) => {
    const config = await loadConfigFile(path);
    expect(config.hub.id).not.toBe("");
  });

  it("config/default.yaml serves on loopback", async () => {
    expect((await loadConfigFile(files[0] as string)).api.host).toBe("127.0.0.1");
  });
});

describe("the web console's address", () => {
  const base = { hub: { id: "ab", name: "x" } };

  it("is served off loopback only over TLS (its own, or the API's)", async () => {
    const error = await failure(() => parseConfig({ ...base, console: { host: "0.0.0.0" } }, "test.yaml"));
    expect(error.violations.map((v) => v.field)).toEqual(["console.host"]);
    expect(error.message).toContain("HTTPS");
    const tls = { cert: "c.pem", key: "k.pem" };
    expect(parseConfig({ ...base, console: { host: "0.0.0.0", tls } }, "t").console.host).toBe("0.0.0.0");
    expect(
      parseConfig({ ...base, api: { host: "0.0.0.0", tls }, console: { host: "0.0.0.0" } }, "t").console.host,
    ).toBe("0.0.0.0");
    expect(parseConfig({ ...base, console: { host: "0.0.0.0", enabled: false } }, "t").console.enabled).toBe(false);
  });

  it("takes CONCORDAT_CONSOLE_PORT and CONCORDAT_CONSOLE_HOST", () => {
    const raw = applyEnvOverrides(base, { CONCORDAT_CONSOLE_PORT: "7999", CONCORDAT_CONSOLE_HOST: "::1" });
    const config = parseConfig(raw, "t");
    expect(config.console).toMatchObject({ host: "::1", port: 7999 });
  });
});
