import { execFile } from "node:child_process";
import { appendFile, chown, mkdir, readdir, readFile } from "node:fs/promises";
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
  /** The namespace it runs in (a ministry's own database server); default: this machine's. */
  namespace?: string | null;
  /** The one address it listens on, which the runner must reach too; default 127.0.0.1. */
  address?: string;
  /** Its log is <logs>/<logName>.log; default postgres. */
  logName?: string;
}

/** What a database is for: Synapse wants its text sorted and typed byte by byte ('C'), and says so at start. */
export interface DatabaseOptions {
  locale?: "default" | "C";
}

export interface PostgresServer {
  port: number;
  /** Where it listens (127.0.0.1, or an address of its namespace that the runner reaches). */
  address: string;
  // postgres://postgres@<address>:<port>/visio_test
  connectionString: string;
  // A fresh, empty database, for tests that must not see each other's tables; its connection string.
  createDatabase(name: string, options?: DatabaseOptions): Promise<string>;
  process: ManagedProcess;
}

/** The OS user, and database user, that PostgreSQL runs as here (trust authentication). */
export const POSTGRES_USER = OS_USER;

function connectionStringFor(address: string, port: number, database: string): string {
  return `postgres://${OS_USER}@${address}:${port}/${database}`;
}

// In a namespace, a one-line Node script there finds the port (the runner's own ports say nothing).
async function freePort(namespace: string | null, address: string): Promise<number> {
  if (namespace !== null) {
    const script = `const s=require("net").createServer();s.listen(0,${JSON.stringify(address)},()=>{console.log(s.address().port);s.close()})`;
    const port = Number((await execFileAsync("ip", ["netns", "exec", namespace, process.execPath, "-e", script])).stdout.trim());
    if (!Number.isInteger(port) || port <= 0) throw new Error(`no free port found for PostgreSQL in ${namespace}`);
    return port;
  }
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, address, () => {
      const bound = server.address();
      const port = typeof bound === "object" && bound !== null ? bound.port : 0;
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
  const namespace = options.namespace ?? null;
  const address = options.address ?? "127.0.0.1";
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
  if (address !== "127.0.0.1") {
    // initdb trusts loopback only. On a namespace's control address, the clients are the namespace's
    // own processes and the runner at the link's other end: the networks it is on ("samenet").
    await appendFile(join(dataDir, "pg_hba.conf"), "host all all samenet trust\n");
  }

  const port = await freePort(namespace, address);
  const [command, args] = asPostgres("postgres", [
    "-D", dataDir,
    "-p", String(port),
    "-c", `listen_addresses=${address}`,
    "-c", `unix_socket_directories=${dir}`,
    // Durability buys nothing in a database thrown away after the run.
    "-c", "fsync=off",
    "-c", "synchronous_commit=off",
    "-c", "full_page_writes=off",
  ]);
  // SIGINT is PostgreSQL's "fast shutdown"; SIGTERM would wait for every client to disconnect.
  const child = options.processes.spawnOn(namespace, options.logName ?? "postgres", command, args, { cwd: dir, stopSignal: "SIGINT" });

  const adminConnection = connectionStringFor(address, port, "postgres");
  await waitUntil(
    "PostgreSQL",
    // pg_isready probes without the driver's log noise about "the database system is starting up".
    async () => {
      await execFileAsync(join(binDir, "pg_isready"), ["-q", "-h", address, "-p", String(port)]);
      return true;
    },
    { timeoutMs: STARTUP_TIMEOUT_MS, intervalMs: 200, abortIf: child.exitDescription, hint: `see ${child.logPath}` },
  );

  const createDatabase = async (name: string, databaseOptions: DatabaseOptions = {}): Promise<string> => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe database name ${name}`);
    const locale = databaseOptions.locale === "C" ? " encoding 'UTF8' lc_collate 'C' lc_ctype 'C' template template0" : "";
    await runSql(adminConnection, `create database ${name}${locale}`);
    return connectionStringFor(address, port, name);
  };
  const connectionString = await createDatabase(DATABASE);
  return { port, address, connectionString, createDatabase, process: child };
}

/** Every table of a database's public schema with its number of rows: what a check reads back from a store. */
export async function tableRows(connectionString: string): Promise<Record<string, number>> {
  const db = knex({ client: "pg", connection: connectionString, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 3000 });
  try {
    const tables: string[] = await db("information_schema.tables")
      .where({ table_schema: "public", table_type: "BASE TABLE" })
      .orderBy("table_name")
      .pluck("table_name");
    const rows: Record<string, number> = {};
    for (const table of tables) {
      const [result] = await db(table).count<{ count: string }[]>({ count: "*" });
      rows[table] = Number(result?.count ?? 0);
    }
    return rows;
  } finally {
    await db.destroy();
  }
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
