// The docs name real things: every repository path and file written in backticks in the READMEs exists,
// every glob of repository files matches some; every `npm run <script>` they give is a script of
// package.json (or of the workspace named by `--workspace <folder>`); every `bash scripts/run.sh <cmd>` runs something that exists; every `node <script>`
// and every file or glob of a `mocha` command line is there; every dotted config key of the
// appservice's or the worker's config is one its schema accepts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { configSchema } from "../../config/schema.ts";
import { workerConfigSchema } from "../../config/worker-schema.ts";
import { REPO_GLOB, backticked, configKeysOf, globToRegExp, mochaPaths, nodeScripts, npmRunScripts, runShCommands, schemaKeys } from "./support/doc-references.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DOCS = ["README.md", "client/README.md", "bridge/README.md"].filter((doc) => existsSync(join(ROOT, doc)));
/** A path into one of the repository's folders; no placeholders or globs. */
const REPO_PATH = /^(?:\.\/)?((?:appservice|bridge|client|config|scripts|tests|src)\/[\w.@/-]*[\w/])$/;
/** A file named alone (`silero-vad.ts`): it must be somewhere in the repository. */
const FILE_NAME = /^([\w.-]+\.(?:ts|vue|json|yml|yaml|md|sh|py))$/;
const SKIPPED = new Set(["node_modules", ".git", "dist", ".demo", "screenshots"]);
/** Build outputs the docs name (ignored by git, made by `npm start` and the tests). */
const BUILT = /(^|\/)(dist|node_modules)(\/|$)/;
/** Files the docs name that an operator writes or a model ships, never in the repository. */
const NOT_OURS = new Set(["config.json", "homeserver.yaml", "worker.yaml", "tokenizer.json"]);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    SKIPPED.has(entry.name) ? [] : entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [relative(ROOT, join(dir, entry.name))],
  );
}

const read = (doc: string): string => readFileSync(join(ROOT, doc), "utf8");
/** A path as the doc writes it: from the repository root, or (in a folder's README) from that folder. */
const exists = (doc: string, path: string): boolean => existsSync(join(ROOT, path)) || existsSync(join(ROOT, dirname(doc), path));

/** The subcommands scripts/run.sh handles itself (`test`, `start`, `bench`). */
function runShSubcommands(): string[] {
  const script = read("scripts/run.sh");
  const cases = script.slice(script.indexOf('case "${1:-}" in'), script.indexOf("esac"));
  return [...cases.matchAll(/^\s*(\w[\w-]*)\)/gm)].map((m) => m[1] ?? "");
}

const onPath = (command: string): boolean =>
  spawnSync("sh", ["-c", 'command -v "$1"', "sh", command], { env: { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH ?? ""}` } })
    .status === 0;

describe("docs", () => {
  const files = filesUnder(ROOT);
  const fileNames = new Set(files.map((file) => basename(file)));

  for (const doc of DOCS) {
    it(`${doc}: every repository path and file name it gives exists`, () => {
      const tokens = backticked(read(doc));
      const paths = tokens.map((token) => REPO_PATH.exec(token)?.[1]).filter((path): path is string => path !== undefined);
      assert.ok(paths.length > 0, `${doc} names repository paths: the check has something to check`);
      const missingPaths = paths.filter((path) => !BUILT.test(path) && !exists(doc, path));
      assert.deepEqual([...new Set(missingPaths)], [], `${doc} names paths that do not exist`);
      const missingFiles = tokens.map((token) => FILE_NAME.exec(token)?.[1]).filter((name): name is string => name !== undefined && !fileNames.has(name) && !NOT_OURS.has(name));
      assert.deepEqual([...new Set(missingFiles)], [], `${doc} names files that are nowhere in the repository`);
    });
  }

  it("every glob of repository files in the docs, and every file or glob of their mocha commands, matches", () => {
    const named = DOCS.flatMap((doc) => [
      ...backticked(read(doc)).filter((token) => REPO_GLOB.test(token)).map((path) => ({ doc, path })),
      ...mochaPaths(read(doc)).map((path) => ({ doc, path })),
    ]);
    assert.ok(named.some(({ path }) => path.includes("*")), "the docs give globs: the check has something to check");
    const unmatched = named.filter(({ doc, path }) =>
      path.includes("*") ? !files.some((file) => globToRegExp(path).test(file)) : !exists(doc, path),
    );
    assert.deepEqual(unmatched, [], "globs that match no file, or mocha files that do not exist");
  });

  it("every `npm run <script>` of the docs is a script of package.json, or of the workspace it names", () => {
    const manifest = (folder: string) => JSON.parse(read(join(folder, "package.json"))) as { name?: string; scripts?: Record<string, string>; workspaces?: string[] };
    // npm takes a workspace by folder or by package name.
    const folderOf = (workspace: string): string | undefined =>
      (manifest(".").workspaces ?? []).find((folder) => folder === workspace || manifest(folder).name === workspace);
    const scriptsOf = (workspace: string | undefined): string[] => {
      const folder = workspace === undefined ? "." : folderOf(workspace);
      return folder === undefined ? [] : Object.keys(manifest(folder).scripts ?? {});
    };
    const named = DOCS.flatMap((doc) => npmRunScripts(read(doc)));
    assert.ok(named.length > 0, "the docs give npm run commands");
    assert.ok(named.some(({ workspace }) => workspace !== undefined), "the docs give a workspace's npm run command");
    assert.deepEqual(named.filter(({ script, workspace }) => !scriptsOf(workspace).includes(script)), []);
  });

  it("every `bash scripts/run.sh <cmd>` of the docs runs one of its subcommands, a repository file or a command that exists", () => {
    const subcommands = runShSubcommands();
    assert.ok(subcommands.includes("test"), `scripts/run.sh's subcommands are read (${subcommands.join(", ")})`);
    const named = DOCS.flatMap((doc) => runShCommands(read(doc)).map((command) => ({ doc, command })));
    assert.ok(named.length > 0, "the docs give scripts/run.sh commands");
    const missing = named.filter(({ command }) => !(subcommands.includes(command) || (command.includes("/") ? existsSync(join(ROOT, command)) : onPath(command))));
    assert.deepEqual(missing, []);
  });

  it("every `node <script>` of the docs names a script that exists", () => {
    const named = DOCS.flatMap((doc) => nodeScripts(read(doc)).map((script) => ({ doc, script })));
    assert.ok(named.length > 0, "the docs give node commands");
    assert.deepEqual(named.filter(({ doc, script }) => !exists(doc, script)), []);
  });

  it("every config key of the docs (`stt.openai.models`, `matrix: {homeserver_url, …}`) is one the appservice's or the worker's schema accepts", () => {
    const accepted = new Set([...schemaKeys(configSchema), ...schemaKeys(workerConfigSchema)]);
    const sections = new Set([...accepted].filter((key) => !key.includes(".")));
    const named = DOCS.flatMap((doc) =>
      backticked(read(doc))
        .flatMap(configKeysOf)
        .filter((key) => sections.has(key.split(".")[0] ?? ""))
        .map((key) => ({ doc, key })),
    );
    assert.ok(named.length > 10, `the docs name config keys (${named.length})`);
    assert.deepEqual(named.filter(({ key }) => !accepted.has(key)), []);
  });
});
