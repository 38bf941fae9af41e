import { readFile } from "node:fs/promises";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { invalidArgument, type FieldViolation } from "../errors.js";
import { configSchema, type NodeConfig } from "./schema.js";
import { quote } from "../text.js";

/**
 * Environment variables that override the config file. Each names one key; a value that does not
 * parse as the key's type is reported under the variable's name (`CONCORDAT_API_PORT: 'abc' is not
 * a whole number`).
 */
type EnvType = "string" | "number" | "boolean" | "pretty" | "list";

export const ENV_OVERRIDES: Readonly<Record<string, { path: readonly string[]; type: EnvType }>> = {
  CONCORDAT_API_HOST: { path: ["api", "host"], type: "string" },
  CONCORDAT_API_PORT: { path: ["api", "port"], type: "number" },
  CONCORDAT_API_TLS_CERT: { path: ["api", "tls", "cert"], type: "string" },
  CONCORDAT_API_TLS_KEY: { path: ["api", "tls", "key"], type: "string" },
  CONCORDAT_CONSOLE_HOST: { path: ["console", "host"], type: "string" },
  CONCORDAT_CONSOLE_PORT: { path: ["console", "port"], type: "number" },
  CONCORDAT_LOG_LEVEL: { path: ["log", "level"], type: "string" },
  CONCORDAT_LOG_PRETTY: { path: ["log", "pretty"], type: "pretty" },
  CONCORDAT_STORAGE_SYNC: { path: ["storage", "sync"], type: "boolean" },
  CONCORDAT_BOOKINGS_POLICY: { path: ["bookings", "policy"], type: "string" },
  CONCORDAT_NETWORK_LISTEN: { path: ["network", "listen"], type: "list" },
  CONCORDAT_METRICS_HOST: { path: ["metrics", "host"], type: "string" },
  CONCORDAT_METRICS_PORT: { path: ["metrics", "port"], type: "number" },
};

function parseEnvValue(name: string, raw: string, type: EnvType): unknown {
  switch (type) {
    case "string":
      return raw;
    case "list":
      return raw
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "");
    case "number": {
      if (!/^\d+$/.test(raw.trim())) {
        throw invalidArgument([{ field: name, description: `${quote(raw)} is not a whole number` }]);
      }
      return Number(raw.trim());
    }
    case "boolean":
    case "pretty":
      if (raw === "true") return true;
      if (raw === "false") return false;
      if (type === "pretty" && raw === "auto") return "auto";
      throw invalidArgument([
        { field: name, description: `${quote(raw)} must be true or false${type === "pretty" ? " or auto" : ""}` },
      ]);
  }
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) {
      node[key] = {};
    }
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

export function violationsFromZod(error: z.ZodError, prefix = ""): FieldViolation[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String);
    let field = [prefix, ...path].filter((p) => p !== "").join(".");
    let description = issue.message;
    if (issue.code === "unrecognized_keys") {
      const keys = issue.keys.map((k) => [field, k].filter((p) => p !== "").join("."));
      field = keys.join(", ");
      description = `unknown key${issue.keys.length > 1 ? "s" : ""}`;
    }
    return { field: field === "" ? "(root)" : field, description };
  });
}

/** Validates a parsed configuration object (file content after env overrides). */
export function parseConfig(raw: unknown, source: string): NodeConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    const violations = violationsFromZod(result.error);
    throw invalidArgument(
      violations,
      `invalid configuration in ${source}: ${violations.map((v) => `${v.field}: ${v.description}`).join("; ")}`,
    );
  }
  return result.data;
}

/** Parses YAML text, naming the line of a syntax error. */
export function parseYaml(text: string, source: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line;
    throw invalidArgument([
      {
        field: source,
        description: `YAML syntax error${line ? ` at line ${line}` : ""}: ${first.message.split("\n")[0]}`,
      },
    ]);
  }
  return doc.toJS();
}

export function applyEnvOverrides(raw: unknown, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const base: Record<string, unknown> =
    typeof raw === "object" && raw !== null && !Array.isArray(raw)
      ? structuredClone(raw as Record<string, unknown>)
      : {};
  for (const [name, spec] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined) continue;
    setPath(base, spec.path, parseEnvValue(name, value, spec.type));
  }
  return base;
}

/** Reads, overrides from the environment and validates a YAML config file. */
export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = {}): Promise<NodeConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : String(error);
    throw invalidArgument([{ field: path, description: reason }], `cannot read configuration ${path}: ${reason}`);
  }
  return parseConfig(applyEnvOverrides(parseYaml(text, path), env), path);
}
