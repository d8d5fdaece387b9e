import { readFile } from "node:fs/promises";
import yaml from "js-yaml";
import { describeIssues } from "./issues.ts";
import { configSchema, type AppserviceConfig } from "./schema.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Validates a parsed config; the error lists every problem, each naming its key. */
export function parseConfig(raw: unknown): AppserviceConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const problems = describeIssues(result.error.issues);
  throw new ConfigError(`invalid configuration:\n  ${problems.join("\n  ")}`);
}

export async function loadConfig(path: string): Promise<AppserviceConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = yaml.load(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  return parseConfig(raw);
}
