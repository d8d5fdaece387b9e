// Readers of the production stack's files for the compose tests: docker-compose.yml's services, YAML,
// nginx's config language and coturn's turnserver.conf, paths from the repository root.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import yaml from "js-yaml";

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  working_dir?: string;
  volumes?: string[];
  expose?: string[];
  ports?: string[];
}

export interface LiveKitConfig {
  port: number;
  keys: Record<string, string>;
  room: { auto_create: boolean };
  webhook: { api_key: string; urls: string[] };
  rtc: { turn_servers?: { host: string; port: number; protocol: string; secret?: string; username?: string }[] };
}

export const readText = (path: string): Promise<string> => readFile(new URL(`../../../${path}`, import.meta.url), "utf8");
export const read = async (path: string): Promise<unknown> => yaml.load(await readText(path));

/** The host side of a compose volume mounted at `target` (read-only), as a path from the repository root. */
export function mountSource(service: ComposeService, target: string): string {
  const volume = service.volumes?.find((v) => v.endsWith(`:${target}:ro`));
  assert.ok(volume, `${target} is mounted read-only`);
  return volume.split(":")[0]!.replace(/^\.\//, "");
}

// nginx's config language, enough to check ours: directives `name args;` and blocks `name args { … }`.
export interface NginxDirective {
  name: string;
  args: string[];
  block?: NginxDirective[];
}

export function parseNginx(text: string): NginxDirective[] {
  const tokens = text
    .replace(/#[^\n]*/g, "")
    .match(/"[^"]*"|'[^']*'|[{};]|[^\s{};]+/g) ?? [];
  let at = 0;
  const parseBlock = (): NginxDirective[] => {
    const directives: NginxDirective[] = [];
    while (at < tokens.length && tokens[at] !== "}") {
      const words: string[] = [];
      while (at < tokens.length && tokens[at] !== ";" && tokens[at] !== "{") words.push(tokens[at++]!.replace(/^["']|["']$/g, ""));
      assert.ok(at < tokens.length, `nginx.conf: '${words.join(" ")}' is not ended`);
      const [name, ...args] = words;
      assert.ok(name !== undefined, "nginx.conf: an empty directive");
      if (tokens[at++] === "{") {
        directives.push({ name, args, block: parseBlock() });
        assert.equal(tokens[at++], "}", `nginx.conf: block ${name} is not closed`);
      } else directives.push({ name, args });
    }
    return directives;
  };
  const top = parseBlock();
  assert.equal(at, tokens.length, "nginx.conf: an unmatched }");
  return top;
}

export const all = (block: NginxDirective[] | undefined, name: string): NginxDirective[] => (block ?? []).filter((d) => d.name === name);
export const one = (block: NginxDirective[] | undefined, name: string): NginxDirective | undefined => all(block, name)[0];

// coturn's turnserver.conf: `option=value` or a bare flag per line.
export function parseTurnserverConf(text: string): { option: string; value: string }[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const eq = line.indexOf("=");
      return eq < 0 ? { option: line, value: "" } : { option: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() };
    });
}

export const ipv4 = (address: string): number => address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);

/** docker-compose.yml's services by name. */
export async function composeServices(): Promise<Record<string, ComposeService>> {
  return ((await read("docker-compose.yml")) as { services: Record<string, ComposeService> }).services;
}
