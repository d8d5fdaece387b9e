// Reading and validating config files: one way for every Visio process.
import { readFile } from "node:fs/promises";
import yaml from "js-yaml";
import type { z } from "zod";
import { describeIssues } from "./issues.ts";
import { configSchema, type AppserviceConfig } from "./schema.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Validates a parsed config against its schema; the error lists every problem, each naming its key. */
export function parseWithSchema<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const result = schema.safeParse(raw ?? {});
  if (result.success) return result.data;
  throw new ConfigError(`invalid configuration:\n  ${describeIssues(result.error.issues).join("\n  ")}`);
}

/** A YAML config file, parsed but not validated yet. */
export async function readYamlFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    return yaml.load(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
}

export function parseConfig(raw: unknown): AppserviceConfig {
  return parseWithSchema(configSchema, raw);
}

export async function loadConfig(path: string): Promise<AppserviceConfig> {
  return parseConfig(await readYamlFile(path));
}
