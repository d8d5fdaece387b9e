// Redis (Debian's redis-server), what LiveKit's nodes of one ministry share in multi-node mode: the
// nodes' list and load, which node hosts which room, and the messages between nodes (signalling of a
// participant that reached another node than its room's, agent jobs). Runs inside the ministry's
// namespace on its loopback, on a free port, with its own data dir; nothing is saved to disk.
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ManagedProcess, ProcessGroup } from "./processes.ts";
import { waitUntil } from "./wait.ts";

const execFileAsync = promisify(execFile);
const STARTUP_TIMEOUT_MS = 30_000;
const SERVER_BINARY = "redis-server";
const CLI_BINARY = "redis-cli";
const BIND_ADDRESS = "127.0.0.1";

export interface RedisOptions {
  /** The namespace whose loopback it listens on; null: this machine's. */
  namespace: string | null;
  dir: string;
  processes: ProcessGroup;
}

export interface RedisServer {
  /** host:port, as LiveKit's `redis.address` takes it (reachable from inside the namespace only). */
  address: string;
  process: ManagedProcess;
  /** Runs one command through redis-cli in the namespace; returns its raw output lines. */
  command(...args: string[]): Promise<string[]>;
}

function inNamespace(namespace: string | null, command: string, args: readonly string[]): [string, string[]] {
  return namespace === null ? [command, [...args]] : ["ip", ["netns", "exec", namespace, command, ...args]];
}

// A port that nothing listens on in the namespace: bound and released there by a one-line Node script.
async function freePortIn(namespace: string | null): Promise<number> {
  const script = `const s=require("net").createServer();s.listen(0,"${BIND_ADDRESS}",()=>{console.log(s.address().port);s.close()})`;
  const [command, args] = inNamespace(namespace, process.execPath, ["-e", script]);
  const port = Number((await execFileAsync(command, args)).stdout.trim());
  if (!Number.isInteger(port) || port <= 0) throw new Error(`no free port found for Redis in ${namespace ?? "this machine"}`);
  return port;
}

export async function startRedis(options: RedisOptions): Promise<RedisServer> {
  const { namespace, dir } = options;
  const dataDir = join(dir, "data");
  await mkdir(dataDir, { recursive: true });
  const port = await freePortIn(namespace);
  const child = options.processes.spawnOn(
    namespace,
    "redis",
    SERVER_BINARY,
    [
      "--bind", BIND_ADDRESS,
      "--port", String(port),
      "--dir", dataDir,
      // Thrown away after the run: no snapshots, no append-only file.
      "--save", "",
      "--appendonly", "no",
      "--daemonize", "no",
      "--logfile", "",
    ],
    { cwd: dir },
  );

  const command = async (...args: string[]): Promise<string[]> => {
    const [cli, cliArgs] = inNamespace(namespace, CLI_BINARY, ["-h", BIND_ADDRESS, "-p", String(port), "--raw", ...args]);
    const { stdout } = await execFileAsync(cli, cliArgs);
    return stdout.split("\n").filter((line) => line !== "");
  };
  await waitUntil("Redis", async () => (await command("PING"))[0] === "PONG", {
    timeoutMs: STARTUP_TIMEOUT_MS,
    intervalMs: 100,
    abortIf: child.exitDescription,
    hint: `see ${child.logPath}`,
  });
  return { address: `${BIND_ADDRESS}:${port}`, process: child, command };
}
