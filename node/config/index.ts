export { configSchema, HUB_ID_PATTERN, LOG_LEVELS, type NodeConfig, type NodeConfigInput } from "./schema.js";
export { loadConfigFile, parseConfig, parseYaml, applyEnvOverrides, violationsFromZod, ENV_OVERRIDES } from "./load.js";
