// The docs name real things: every repository path written in backticks in the READMEs exists, and
// every `npm run <script>` they give is a script of package.json.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

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
    SKIPPED.has(entry.name) ? [] : entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [entry.name],
  );
}

function backticked(text: string): string[] {
  return [...text.matchAll(/`([^`\n]+)`/g)].map((m) => (m[1] ?? "").trim());
}

describe("docs", () => {
  const fileNames = new Set(filesUnder(ROOT).map((file) => basename(file)));
  for (const doc of DOCS) {
    it(`${doc}: every repository path and file name it gives exists`, () => {
      const tokens = backticked(readFileSync(join(ROOT, doc), "utf8"));
      const paths = tokens.map((token) => REPO_PATH.exec(token)?.[1]).filter((path): path is string => path !== undefined);
      assert.ok(paths.length > 0, `${doc} names repository paths: the check has something to check`);
      const missingPaths = paths
        // A path in a folder's README may be written from that folder (client/README.md: `src/…`).
        .filter((path) => !BUILT.test(path) && !existsSync(join(ROOT, path)) && !existsSync(join(ROOT, dirname(doc), path)));
      assert.deepEqual([...new Set(missingPaths)], [], `${doc} names paths that do not exist`);
      const missingFiles = tokens.map((token) => FILE_NAME.exec(token)?.[1]).filter((name): name is string => name !== undefined && !fileNames.has(name) && !NOT_OURS.has(name));
      assert.deepEqual([...new Set(missingFiles)], [], `${doc} names files that are nowhere in the repository`);
    });
  }

  it("every `npm run <script>` of the docs is a script of package.json", () => {
    const scripts = Object.keys((JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts);
    const named = DOCS.flatMap((doc) => [...readFileSync(join(ROOT, doc), "utf8").matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1] ?? ""));
    assert.ok(named.length > 0, "the docs give npm run commands");
    assert.deepEqual(named.filter((name) => !scripts.includes(name)), []);
  });
});
