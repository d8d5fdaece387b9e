// Renders the sample config from the schema (defaults, descriptions and examples), so the sample
// cannot drift from what the appservice accepts.
import { z } from "zod";
import yaml from "js-yaml";
import { configSchema } from "./schema.ts";

interface JsonSchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  examples?: unknown[];
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
}

function render(node: JsonSchemaNode, indent: string): string[] {
  const lines: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    if (child.description) lines.push(`${indent}# ${child.description}`);
    if (child.type === "object" && child.properties) {
      lines.push(`${indent}${key}:`);
      lines.push(...render(child, `${indent}  `));
      continue;
    }
    const value = child.default !== undefined ? child.default : child.examples?.[0];
    const optional = child.default === undefined && !(node.required ?? []).includes(key);
    // An optional key with neither default nor example is shown by name only.
    const rendered = value === undefined ? `${key}:` : yaml.dump({ [key]: value }, { flowLevel: 1 }).trimEnd();
    lines.push(`${indent}${optional ? "# " : ""}${rendered}`);
  }
  return lines;
}

/** A commented YAML sample of any config schema: its defaults, else its first example, with descriptions. */
export function renderSchemaSample(schema: z.ZodType, header: readonly string[]): string {
  const jsonSchema = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchemaNode;
  return [...header, ...render(jsonSchema, ""), ""].join("\n");
}

export function renderSampleConfig(): string {
  return renderSchemaSample(configSchema, [
    "# Visio appservice configuration (sample; generated from config/schema.ts).",
    "# `visio-appservice generate` writes a real one with fresh tokens.",
  ]);
}
