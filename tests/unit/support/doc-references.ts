// What the READMEs name, read out of their text for the docs test: commands (`bash scripts/run.sh
// <cmd>`, `node <script>`, `mocha … <files>`), globs of repository files, and dotted config keys; and
// the repository's side to hold them against (file globs, the keys a config schema accepts).

/** Every text in `code` of a document, inline or fenced on one line. */
export function backticked(text: string): string[] {
  return [...text.matchAll(/`([^`\n]+)`/g)].map((m) => (m[1] ?? "").trim());
}

/** Words of a command line, up to the end of its code span, line or shell comment. */
function words(rest: string): string[] {
  return (rest.split(/[`\n#|;]/)[0] ?? "").trim().split(/\s+/).filter((w) => w !== "");
}

/** The script of each `npm run <script>`, and the workspace folder its `--workspace`/`-w` names, if any. */
export function npmRunScripts(text: string): { script: string; workspace?: string }[] {
  return [...text.matchAll(/npm run ([\w:-]+)([^\n`]*)/g)].map((m) => {
    const options = (m[2] ?? "").split(/&&|;|\|/)[0] ?? "";
    const workspace = /(?:--workspace[= ]|-w )([\w@./-]+)/.exec(options)?.[1];
    return workspace === undefined ? { script: m[1] ?? "" } : { script: m[1] ?? "", workspace };
  });
}

/** The command given to `bash scripts/run.sh`: its first word (`test`, `node`, `node_modules/.bin/mocha`…). */
export function runShCommands(text: string): string[] {
  return [...text.matchAll(/bash scripts\/run\.sh[ \t]+([^\s`]+)/g)].map((m) => m[1] ?? "");
}

/** The script of each `node [--options] <script>`, where the script is a path (`bridge/src/worker.ts`). */
export function nodeScripts(text: string): string[] {
  return [...text.matchAll(/\bnode((?:[ \t]+--?[\w-]+(?:=\S+)?)*)[ \t]+([^\s`]+)/g)]
    .map((m) => m[2] ?? "")
    .filter((script) => script.includes("/") || /\.(?:ts|js|mjs|cjs)$/.test(script));
}

/** mocha's options that take a file, and those that take another value. */
const MOCHA_FILE_OPTIONS = new Set(["--require", "-r", "--config", "--file", "--package"]);
const MOCHA_VALUE_OPTIONS = new Set(["--extension", "--timeout", "-t", "--slow", "-s", "--reporter", "-R", "--grep", "-g", "--fgrep", "-f", "--ui", "-u", "--jobs", "-j", "--retries"]);

/** The files and globs a `mocha …` command line gives: spec arguments and the files of its options. */
export function mochaPaths(text: string): string[] {
  const paths: string[] = [];
  for (const match of text.matchAll(/(?:^|[\s/`])mocha((?:[ \t]+[^\s`]+)+)/gm)) {
    const args = words(match[1] ?? "");
    for (let i = 0; i < args.length; i++) {
      const arg = args[i] ?? "";
      if (MOCHA_FILE_OPTIONS.has(arg)) paths.push(args[++i] ?? "");
      else if (MOCHA_VALUE_OPTIONS.has(arg)) i++;
      else if (!arg.startsWith("-") && (arg.includes("/") || /\.(?:ts|js)$/.test(arg))) paths.push(arg);
    }
  }
  return paths;
}

/** A glob of repository files, written in backticks (`tests/e2e/*.test.ts`). */
export const REPO_GLOB = /^(?:appservice|bridge|client|config|scripts|tests)\/[\w.@/*-]*\*[\w.@/*-]*$/;

/** The glob as a regular expression over paths from the repository root (`**` any folders, `*` within one). */
export function globToRegExp(glob: string): RegExp {
  let pattern = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? "";
    if (glob.startsWith("**/", i)) {
      pattern += "(?:.*/)?";
      i += 2;
    } else if (glob.startsWith("**", i)) {
      pattern += ".*";
      i += 1;
    } else if (c === "*") pattern += "[^/]*";
    else if (c === "?") pattern += "[^/]";
    else pattern += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${pattern}$`);
}

/** A dotted config key (`stt.openai.models`, `rate_limits.enabled: false`), not a file name. */
const CONFIG_KEY = /^([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)(?::\s.*)?$/;
const FILE_EXTENSION = /\.(?:ya?ml|json|ts|js|md|sh|py|bin|txt|onnx|vtt|ogg|wav|pem|conf|sql|db)$/;

/** A config section written with its keys (`matrix: {homeserver_url, as_token, user_id}`). */
const SECTION_WITH_KEYS = /^([a-z][a-z0-9_]*): \{(.*)\}$/;

/** The config keys a backticked text names: a dotted key, or each key of a section written with its keys. */
export function configKeysOf(token: string): string[] {
  const key = CONFIG_KEY.exec(token)?.[1];
  if (key !== undefined) return FILE_EXTENSION.test(key) ? [] : [key];
  const section = SECTION_WITH_KEYS.exec(token);
  if (section === null) return [];
  // The keys at the top level of the braces: `{client: postgres, connection: postgres://…}` → client, connection.
  const keys: string[] = [];
  let depth = 0;
  let part = "";
  for (const c of `${section[2] ?? ""},`) {
    if (c === "{" || c === "[") depth++;
    if (c === "}" || c === "]") depth--;
    if (c === "," && depth === 0) {
      keys.push((part.split(":")[0] ?? "").trim().replace(/\?$/, ""));
      part = "";
    } else part += c;
  }
  return keys.filter((k) => /^[a-z][a-z0-9_]*$/.test(k)).map((k) => `${section[1]}.${k}`);
}

interface JsonSchemaNode {
  properties?: Record<string, JsonSchemaNode>;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
  allOf?: JsonSchemaNode[];
}

/** Every key path a config schema accepts, objects included (`focus`, `focus.livekit`, `focus.livekit.url`). */
export function schemaKeys(schema: { toJSONSchema(params: { io: "input"; unrepresentable: "any" }): unknown }): Set<string> {
  const keys = new Set<string>();
  const walk = (node: JsonSchemaNode, prefix: string): void => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const path = prefix === "" ? key : `${prefix}.${key}`;
      keys.add(path);
      walk(child, path);
    }
    for (const alternative of [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])]) walk(alternative, prefix);
  };
  walk(schema.toJSONSchema({ io: "input", unrepresentable: "any" }) as JsonSchemaNode, "");
  return keys;
}
