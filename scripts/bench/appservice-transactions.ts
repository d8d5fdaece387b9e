// Transaction events handled per second by one appservice process pinned to one core, SQLite storage.
// The load is what a homeserver sends: one transaction at a time, each with a batch of events.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import knex from "knex";
import yaml from "js-yaml";
import { testConfig } from "../../tests/support/config.ts";
import { memberEvent, requestJson } from "../../tests/harness/http.ts";

export interface TransactionBenchResult {
  eventsPerSecond: number[];
  lostOrDuplicated: number;
}

const PORT = 19_400;

async function startAppservice(configPath: string, pingUrl: string, token: string): Promise<() => Promise<void>> {
  const child = spawn("taskset", ["-c", "0", process.execPath, "appservice/src/main.ts", "start", "-c", configPath], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null || i > 400) throw new Error(`appservice did not start: ${stderr}`);
    const up = await requestJson("POST", pingUrl, { token, body: {} }).catch(() => null);
    if (up?.status === 200) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return async () => {
    child.kill("SIGTERM");
    await once(child, "exit");
  };
}

export async function benchTransactions({ runs = 5, transactions = 60, eventsPerTransaction = 100 } = {}): Promise<TransactionBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), "visio-bench-"));
  const dbFile = join(dir, "as.db");
  const config = testConfig({ port: PORT, database: { client: "sqlite", filename: dbFile } });
  const configPath = join(dir, "config.yaml");
  await writeFile(configPath, yaml.dump({ ...config, appservice: { ...config.appservice, bind_address: "127.0.0.1" } }));
  const url = `http://127.0.0.1:${PORT}/_matrix/app/v1/transactions`;
  const token = config.appservice.hs_token;
  const boot = (): Promise<() => Promise<void>> => startAppservice(configPath, `http://127.0.0.1:${PORT}/_matrix/app/v1/ping`, token);
  const eventsPerSecond: number[] = [];
  let sent = 0;
  try {
    for (let run = 0; run < runs; run++) {
      const stop = await boot();
      const batches = Array.from({ length: transactions }, (_, t) => ({
        events: Array.from({ length: eventsPerTransaction }, (_, e) =>
          memberEvent(`!room${e % 10}:ministry-a.test`, `@u${run}-${t}-${e}:ministry-b.test`, "join", e),
        ),
      }));
      const began = performance.now();
      for (const [t, body] of batches.entries()) {
        const res = await requestJson("PUT", `${url}/r${run}-t${t}`, { token, body });
        if (res.status !== 200) throw new Error(`transaction refused: ${res.status}`);
      }
      eventsPerSecond.push((transactions * eventsPerTransaction) / ((performance.now() - began) / 1000));
      // Redeliver the whole run after a restart: nothing may be applied twice.
      await stop();
      const again = await boot();
      for (const [t, body] of batches.slice(0, 5).entries()) await requestJson("PUT", `${url}/r${run}-t${t}`, { token, body });
      await again();
      sent += transactions * eventsPerTransaction;
    }
    const db = knex({ client: "better-sqlite3", connection: { filename: dbFile }, useNullAsDefault: true });
    const [{ stored }] = (await db("room_members").count({ stored: "*" })) as [{ stored: number }];
    const [{ events }] = (await db("as_transactions").sum({ events: "event_count" })) as [{ events: number }];
    await db.destroy();
    return { eventsPerSecond, lostOrDuplicated: Math.abs(sent - Number(stored)) + Math.abs(sent - Number(events)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
