// No source file grows past 400 lines: a longer one is split into modules named for what they do.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAX_LINES = 400;
/** Code the repository tracks: TypeScript, Vue components, shell and Python scripts. */
const CODE = ["*.ts", "*.vue", "*.sh", "*.py"];

function trackedCode(): string[] {
  return execFileSync("git", ["ls-files", "-z", "--", ...CODE], { cwd: ROOT, encoding: "utf8" })
    .split("\0")
    // A file deleted in the working tree but not yet in git's index is not there to measure.
    .filter((path) => path !== "" && existsSync(join(ROOT, path)));
}

function lineCount(path: string): number {
  const text = readFileSync(join(ROOT, path), "utf8");
  return text === "" ? 0 : text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}

describe("file size", () => {
  it(`every tracked source file has at most ${MAX_LINES} lines`, () => {
    const files = trackedCode();
    assert.ok(files.length > 100, `git lists the repository's code (${files.length} files)`);
    const long = files
      .map((path) => ({ path, lines: lineCount(path) }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ path, lines }) => `${path}: ${lines} lines`);
    assert.deepEqual(long, [], `files over ${MAX_LINES} lines: split them`);
  });
});
