import { execFile } from "node:child_process";
import { chown, mkdir, readdir, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import knex from "knex";
import type { ManagedProcess, ProcessGroup } from "./processes.ts";
import { waitUntil } from "./wait.ts";

// PostgreSQL refuses to run as root; Debian's packages provide this account.
const OS_USER = "postgres";
const DATABASE = "visio_test";
const STARTUP_TIMEOUT_MS = 60_000;

const execFileAsync = promisify(execFile);

export interface PostgresOptions {
  binDir: string;
  dir: string;
  processes: ProcessGroup;
}

export interface PostgresServer {
  port: number;
  // postgres://postgres@127.0.0.1:<port>/visio_test
  connectionString: string;
  // A fresh, empty database, for tests that must not see each other's tables.
  createDatabase(name: string): Promise<string>;
  process: ManagedProcess;
}

function connectionStringFor(port: number, database: string): string {
  return `postgres://${OS_USER}@127.0.0.1:${port}/${database}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function idsOf(user: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all(
    ["-u", "-g"].map(async (flag) => Number((await execFileAsync("id", [flag, user])).stdout.trim())),
  );
  if (uid === undefined || gid === undefined || Number.isNaN(uid) || Number.isNaN(gid)) {
    throw new Error(`cannot find the ${user} OS user that PostgreSQL runs as`);
  }
  return { uid, gid };
}

// Through knex (with the pg driver), which brings its own types.
async function runSql(connectionString: string, sql: string): Promise<void> {
  const db = knex({ client: "pg", connection: connectionString, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 3000 });
  try {
    await db.raw(sql);
  } finally {
    await db.destroy();
  }
}

export async function startPostgres(options: PostgresOptions): Promise<PostgresServer> {
  const { binDir, dir } = options;
  const dataDir = join(dir, "data");
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const { uid, gid } = await idsOf(OS_USER);
  await chown(dir, uid, gid);
  await chown(dataDir, uid, gid);

  const asPostgres = (binary: string, args: string[]): [string, string[]] => [
    "runuser",
    ["-u", OS_USER, "--", join(binDir, binary), ...args],
  ];
  try {
    const [command, args] = asPostgres("initdb", ["-D", dataDir, "-U", OS_USER, "-A", "trust", "--no-sync", "-E", "UTF8"]);
    await execFileAsync(command, args, { cwd: dir });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`initdb failed: ${stderr.trim() || String(error)}`);
  }

  const port = await freePort();
  const [command, args] = asPostgres("postgres", [
    "-D", dataDir,
    "-p", String(port),
    "-c", "listen_addresses=127.0.0.1",
    "-c", `unix_socket_directories=${dir}`,
    // Durability buys nothing in a database thrown away after the run.
    "-c", "fsync=off",
    "-c", "synchronous_commit=off",
    "-c", "full_page_writes=off",
  ]);
  // SIGINT is PostgreSQL's "fast shutdown"; SIGTERM would wait for every client to disconnect.
  const child = options.processes.spawn("postgres", command, args, { cwd: dir, stopSignal: "SIGINT" });

  const adminConnection = connectionStringFor(port, "postgres");
  await waitUntil(
    "PostgreSQL",
    // pg_isready probes without the driver's log noise about "the database system is starting up".
    async () => {
      await execFileAsync(join(binDir, "pg_isready"), ["-q", "-h", "127.0.0.1", "-p", String(port)]);
      return true;
    },
    { timeoutMs: STARTUP_TIMEOUT_MS, intervalMs: 200, abortIf: child.exitDescription, hint: `see ${child.logPath}` },
  );

  const createDatabase = async (name: string): Promise<string> => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe database name ${name}`);
    await runSql(adminConnection, `create database ${name}`);
    return connectionStringFor(port, name);
  };
  const connectionString = await createDatabase(DATABASE);
  return { port, connectionString, createDatabase, process: child };
}

// Not in a namespace, so `ip netns pids` cannot find a PostgreSQL left by a crashed run; its
// command line names its data dir under a test-bed run dir, which is how we recognise ours.
export async function killStrayPostgres(binDir: string, runDirPrefix: string): Promise<void> {
  const binary = join(binDir, "postgres");
  for (const entry of await readdir("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let commandLine: string;
    try {
      commandLine = await readFile(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    const [program, ...args] = commandLine.split("\0");
    const ours = args.some((arg) => arg.startsWith(runDirPrefix));
    if (ours && (program === binary || (program === "runuser" && args.includes(binary)))) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }
}
