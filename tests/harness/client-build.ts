// The production build of the web client, as the browser tests and the demo serve it: type checked
// by vue-tsc and bundled by vite into client/dist, once per process and only when a source is newer.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLIENT_DIR = join(REPO_ROOT, "client");
export const CLIENT_DIST = join(CLIENT_DIR, "dist");
const BIN = join(REPO_ROOT, "node_modules", ".bin");

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

function sourcesMtime(): number {
  const sources = ["src", "index.html", "vite.config.ts", "tsconfig.json", "package.json"].map((p) => join(CLIENT_DIR, p));
  // The client imports the wire types shared with the servers, in config/.
  return Math.max(...sources.map(newestMtime), newestMtime(join(REPO_ROOT, "config")));
}

let built = false;

/** Type checks and builds the client unless client/dist is newer than every source. */
export function buildClient({ force = false }: { force?: boolean } = {}): string {
  if (built && !force) return CLIENT_DIST;
  const index = join(CLIENT_DIST, "index.html");
  if (force || !existsSync(index) || statSync(index).mtimeMs < sourcesMtime()) {
    const run = (tool: string, args: string[]): void => {
      try {
        execFileSync(join(BIN, tool), args, { cwd: CLIENT_DIR, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
      } catch (error) {
        const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
        throw new Error(`client ${tool} failed:\n${stdout}${stderr}`);
      }
    };
    run("vue-tsc", ["--noEmit", "-p", "tsconfig.json"]);
    run("vite", ["build", "--logLevel", "warn"]);
  }
  built = true;
  return CLIENT_DIST;
}
