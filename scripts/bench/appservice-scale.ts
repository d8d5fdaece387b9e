// The appservice at a ministry's scale: a store of 10,000 meeting rooms and 200,000 memberships.
// Measures, over several runs of one process pinned to one core (SQLite): the start-up time (process
// start until it answers the homeserver's ping), its RSS once idle after start-up (V8 gives memory
// back after about 8 s without work), the transaction events handled per second with that store, and
// its RSS after that load; with the Node options it is deployed with and with Node's defaults, in
// alternating runs (the machine is shared: both see its drift alike).
// Alone: `node scripts/bench/appservice-scale.ts` (VISIO_SCALE_RUNS, VISIO_SCALE_ROOMS, VISIO_SCALE_MEMBERS);
// VISIO_SCALE_DATABASE=postgres stores in a PostgreSQL server of its own (`bash scripts/run.sh node …`,
// which names PostgreSQL's binaries in VISIO_POSTGRES_BIN).
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import type { AppserviceConfig } from "../../config/schema.ts";
import { APPSERVICE_NODE_OPTIONS } from "../../appservice/src/node-options.ts";
import { openDatabase } from "../../appservice/src/storage/database.ts";
import { createStore, type MembershipChange } from "../../appservice/src/storage/store.ts";
import { startPostgres } from "../../tests/harness/postgres.ts";
import { ProcessGroup } from "../../tests/harness/processes.ts";
import { testConfig } from "../../tests/support/config.ts";
import { memberEvent, requestJson } from "../../tests/harness/http.ts";

export interface ScaleBenchRun {
  startupMs: number;
  idleRssMiB: number;
  eventsPerSecond: number;
  loadedRssMiB: number;
}

export interface ScaleBenchResult {
  database: "sqlite" | "postgres";
  rooms: number;
  memberships: number;
  fillSeconds: number;
  /** With the options it is deployed with (APPSERVICE_NODE_OPTIONS). */
  runs: ScaleBenchRun[];
  /** With Node's default options. */
  defaultRuns: ScaleBenchRun[];
}

const PORT = 19_420;
const SERVER = "ministry-a.test";
const roomId = (r: number): string => `!meeting${r}:${SERVER}`;
// Members of both ministries, as in federated meetings.
const memberId = (r: number, m: number): string => `@member${r}-${m}:${m % 2 ? "ministry-b.test" : SERVER}`;

/** Fills an empty store through its own API: the meeting rooms, then their members in transactions of 1,000. */
async function fill(database: AppserviceConfig["database"], rooms: number, memberships: number): Promise<void> {
  const db = await openDatabase(database);
  const store = createStore(db);
  try {
    for (let r = 0; r < rooms; r++) {
      const slug = `meeting-${r}`;
      await store.saveMeetingRoom({ roomId: roomId(r), alias: `#${slug}:${SERVER}`, slug, createdAt: Date.now() });
    }
    const perRoom = Math.ceil(memberships / rooms);
    let batch: MembershipChange[] = [];
    let txn = 0;
    for (let i = 0; i < memberships; i++) {
      const r = i % rooms;
      const m = Math.floor(i / rooms) % perRoom;
      batch.push({ roomId: roomId(r), userId: memberId(r, m), membership: "join", eventId: `$fill${i}`, originServerTs: Date.now() });
      if (batch.length === 1000 || i === memberships - 1) {
        await store.applyTransaction(`fill-${txn++}`, batch.length, batch);
        batch = [];
      }
    }
  } finally {
    await store.close();
  }
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) / 1024;
}

/** Starts the appservice pinned to core 0; resolves once it answers the ping, with the time that took. */
async function startAppservice(
  nodeOptions: readonly string[],
  configPath: string,
  pingUrl: string,
  token: string,
): Promise<{ child: ChildProcess; startupMs: number }> {
  const began = performance.now();
  const child = spawn("taskset", ["-c", "0", process.execPath, ...nodeOptions, "appservice/src/main.ts", "start", "-c", configPath], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null || i > 3000) throw new Error(`appservice did not start: ${stderr}`);
    const up = await requestJson("POST", pingUrl, { token, body: {} }).catch(() => null);
    if (up?.status === 200) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  return { child, startupMs: performance.now() - began };
}

export async function benchAppserviceScale({
  runs = 5,
  rooms = 10_000,
  memberships = 200_000,
  transactions = 100,
  eventsPerTransaction = 100,
  idleWaitMs = 12_000,
  database: client = "sqlite" as "sqlite" | "postgres",
} = {}): Promise<ScaleBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), "visio-bench-scale-"));
  const processes = new ProcessGroup(dir);
  try {
    let database: AppserviceConfig["database"] = { client: "sqlite", filename: join(dir, "as.db") };
    if (client === "postgres") {
      const binDir = process.env.VISIO_POSTGRES_BIN;
      if (!binDir) throw new Error("VISIO_POSTGRES_BIN is not set: run it through `bash scripts/run.sh node …`");
      // PostgreSQL runs as its own OS user: it must reach its directory inside ours.
      await chmod(dir, 0o755);
      const postgres = await startPostgres({ binDir, dir: join(dir, "postgres"), processes });
      database = { client: "postgres", filename: "", connection: await postgres.createDatabase("visio_scale") };
    }
    const filling = performance.now();
    await fill(database, rooms, memberships);
    const fillSeconds = (performance.now() - filling) / 1000;
    const config = testConfig({ serverName: SERVER, port: PORT, database });
    const configPath = join(dir, "config.yaml");
    await writeFile(configPath, yaml.dump({ ...config, appservice: { ...config.appservice, bind_address: "127.0.0.1" } }));
    const base = `http://127.0.0.1:${PORT}/_matrix/app/v1`;
    const token = config.appservice.hs_token;
    const results: ScaleBenchRun[] = [];
    const defaultResults: ScaleBenchRun[] = [];
    for (let run = 0; run < 2 * runs; run++) {
      const deployed = run % 2 === 0;
      const { child, startupMs } = await startAppservice(deployed ? APPSERVICE_NODE_OPTIONS : [], configPath, `${base}/ping`, token);
      try {
        await new Promise((r) => setTimeout(r, idleWaitMs));
        const idleRssMiB = await rssMiB(child.pid!);
        // Changes in the existing rooms: newcomers of both ministries join, existing members leave.
        const batches = Array.from({ length: transactions }, (_, t) => ({
          events: Array.from({ length: eventsPerTransaction }, (_, e) => {
            const n = t * eventsPerTransaction + e;
            const r = (n * 7919 + run) % rooms;
            return e % 4 === 3
              ? memberEvent(roomId(r), memberId(r, n % 20), "leave", n)
              : memberEvent(roomId(r), `@newcomer${run}-${n}:${e % 2 ? "ministry-b.test" : SERVER}`, "join", n);
          }),
        }));
        const began = performance.now();
        for (const [t, body] of batches.entries()) {
          const res = await requestJson("PUT", `${base}/transactions/scale-${run}-${t}`, { token, body });
          if (res.status !== 200) throw new Error(`transaction refused: ${res.status}`);
        }
        const eventsPerSecond = (transactions * eventsPerTransaction) / ((performance.now() - began) / 1000);
        await new Promise((r) => setTimeout(r, 1000));
        (deployed ? results : defaultResults).push({ startupMs, idleRssMiB, eventsPerSecond, loadedRssMiB: await rssMiB(child.pid!) });
      } finally {
        child.kill("SIGTERM");
        if (child.exitCode === null) await once(child, "exit");
      }
    }
    return { database: client, rooms, memberships, fillSeconds, runs: results, defaultRuns: defaultResults };
  } finally {
    await processes.stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export function appserviceScaleReport(result: ScaleBenchResult): string {
  const line = (label: string, pick: (r: ScaleBenchRun) => number, unit: string, digits = 0): string => {
    const deployed = median(result.runs.map(pick));
    const defaults = median(result.defaultRuns.map(pick));
    const runs = result.runs.map((r) => pick(r).toFixed(digits)).join(", ");
    return `  ${label}: median ${deployed.toFixed(digits)} ${unit} (runs: ${runs}); with Node's defaults ${defaults.toFixed(digits)} (ratio ${(deployed / defaults).toFixed(2)})`;
  };
  return [
    `appservice at scale (1 core, ${result.database === "sqlite" ? "SQLite" : "PostgreSQL"}, ${result.rooms.toLocaleString("en")} meeting rooms, ${result.memberships.toLocaleString("en")} memberships, ` +
      `filled in ${result.fillSeconds.toFixed(1)} s; ${result.runs.length} runs with its Node options, ${result.defaultRuns.length} with Node's defaults, alternating):`,
    line("start-up, process start until it answers", (r) => r.startupMs, "ms"),
    line("RSS idle, 12 s after start-up", (r) => r.idleRssMiB, "MiB", 1),
    line("transaction events/s at that size", (r) => r.eventsPerSecond, "events/s"),
    line("RSS after the transactions", (r) => r.loadedRssMiB, "MiB", 1),
    "  target: idle RSS < 100 MiB",
    "",
  ].join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
  const result = await benchAppserviceScale({
    runs: env("VISIO_SCALE_RUNS", 5),
    rooms: env("VISIO_SCALE_ROOMS", 10_000),
    memberships: env("VISIO_SCALE_MEMBERS", 200_000),
    database: process.env.VISIO_SCALE_DATABASE === "postgres" ? "postgres" : "sqlite",
  });
  process.stdout.write(appserviceScaleReport(result));
}
