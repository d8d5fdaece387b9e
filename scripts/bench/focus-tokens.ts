// /get_token throughput and latency of one appservice process pinned to one core, with the OpenID
// check cached (one token per user, reused) and uncached (a new token per request, so every request
// asks the user's homeserver). The LiveKit server is real (loopback); the homeserver side of the
// OpenID check is a minimal HTTPS responder, so that the figures are the focus service's own.
import { once } from "node:events";
import { readFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import yaml from "js-yaml";
import { parseConfig } from "../../config/load.ts";
import { FOCUS_PATH_PREFIX } from "../../appservice/src/app.ts";
import { encodePost, LoadConnection } from "./http-load.ts";
import { openDatabase } from "../../appservice/src/storage/database.ts";
import { createStore } from "../../appservice/src/storage/store.ts";
import { requestLimits } from "../../appservice/src/rate-limiter.ts";
import { createCertificates } from "../../tests/harness/ca.ts";
import { startLiveKit } from "../../tests/harness/livekit.ts";
import { LOOPBACK_HOSTS } from "../../tests/harness/network.ts";
import { ProcessGroup } from "../../tests/harness/processes.ts";
import { waitUntil } from "../../tests/harness/wait.ts";

export interface FocusBenchRun {
  tokensPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** The appservice's CPU time per token: what one core could sustain, whatever the load generator costs. */
  serverCpuMsPerToken: number;
}

const USERS = 50;
const CONCURRENCY = 16;
const APPSERVICE_PORT = 19_410;
const ROOM = "!bench:bench.localhost";
// USER_HZ on Linux.
const CLOCK_TICKS_PER_SECOND = 100;

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;

/** CPU seconds (user + system) a process has used so far, from /proc. */
async function cpuSecondsOf(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

async function load(url: string, serverPid: number, requests: number, body: (i: number) => unknown): Promise<FocusBenchRun> {
  const target = new URL(url);
  const connections = await Promise.all(Array.from({ length: CONCURRENCY }, () => LoadConnection.open(target.hostname, Number(target.port))));
  const encoded = Array.from({ length: requests }, (_, i) => encodePost(target.host, target.pathname, JSON.stringify(body(i))));
  const latencies: number[] = [];
  let next = 0;
  const cpuBefore = await cpuSecondsOf(serverPid);
  const began = performance.now();
  try {
    await Promise.all(
      connections.map(async (connection) => {
        while (next < requests) {
          const i = next++;
          const t0 = performance.now();
          const status = await connection.send(encoded[i]!);
          if (status !== 200) throw new Error(`get_token answered ${status}`);
          latencies.push(performance.now() - t0);
        }
      }),
    );
  } finally {
    for (const connection of connections) connection.close();
  }
  const seconds = (performance.now() - began) / 1000;
  const cpuSeconds = (await cpuSecondsOf(serverPid)) - cpuBefore;
  latencies.sort((a, b) => a - b);
  return {
    tokensPerSecond: requests / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    serverCpuMsPerToken: (cpuSeconds * 1000) / requests,
  };
}

/**
 * `rateLimits`: "checked" runs every request through the per-server and per-user limiters with limits
 * too high to refuse anything (what they cost), "off" without them (the baseline).
 */
export async function benchFocusTokens(
  livekitBinary: string,
  { runs = 5, requests = 5000, warmup = 5000, rateLimits = "checked" as "checked" | "off" } = {},
): Promise<{ cached: FocusBenchRun[]; uncached: FocusBenchRun[] }> {
  const dir = await mkdtemp(join(tmpdir(), "visio-bench-focus-"));
  const processes = new ProcessGroup(dir);
  const userinfo = { server: undefined as ReturnType<typeof createServer> | undefined };
  try {
    const certificates = await createCertificates(join(dir, "tls"), [{ hostname: "localhost", ipAddresses: ["127.0.0.1"] }]);
    const cert = certificates.certificateFor("localhost");
    // The homeserver's federation OpenID endpoint: token "<user>.<n>" belongs to @<user>:<server>.
    userinfo.server = createServer({ cert: await readFile(cert.certPath), key: await readFile(cert.keyPath) }, (req, res) => {
      const token = new URL(req.url ?? "/", "https://x").searchParams.get("access_token") ?? "";
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ sub: `@${token.split(".")[0]}:${serverName}` }));
    });
    userinfo.server.listen(0, "127.0.0.1");
    await once(userinfo.server, "listening");
    const serverName = `localhost:${(userinfo.server.address() as AddressInfo).port}`;

    const livekit = await startLiveKit({ binary: livekitBinary, host: LOOPBACK_HOSTS.a, dir: join(dir, "livekit"), processes });
    const config = parseConfig({
      homeserver: { server_name: serverName, url: "http://127.0.0.1:1" },
      appservice: { url: `http://127.0.0.1:${APPSERVICE_PORT}`, port: APPSERVICE_PORT, as_token: "a".repeat(40), hs_token: "h".repeat(40) },
      database: { client: "sqlite", filename: join(dir, "as.db") },
      federation: { allowlist: [serverName] },
      focus: {
        livekit: { url: livekit.url, api_key: livekit.apiKey, api_secret: livekit.apiSecret },
        federation_ca_file: certificates.caCertPath,
      },
      logging: { level: "warn" },
      rate_limits:
        rateLimits === "off"
          ? { enabled: false }
          : { focus: { per_user: { per_second: 1_000_000, burst: 1_000_000 }, per_server: { per_second: 1_000_000, burst: 1_000_000 } } },
    });
    // Everyone is joined, the bot too (a meeting of this appservice): seeded as the homeserver's
    // transactions would have.
    const store = createStore(await openDatabase(config.database));
    await store.applyTransaction(
      "seed",
      USERS,
      [`@visio:${serverName}`, ...Array.from({ length: USERS }, (_, u) => `@user${u}:${serverName}`)].map((userId, n) => ({
        roomId: ROOM,
        userId,
        membership: "join",
        eventId: `$${n}`,
        originServerTs: 0,
      })),
    );
    await store.close();
    const configPath = join(dir, "appservice.yaml");
    await writeFile(configPath, yaml.dump(config));
    const appservice = processes.spawn("appservice", "taskset", ["-c", "0", process.execPath, "appservice/src/main.ts", "start", "-c", configPath]);
    const url = `http://127.0.0.1:${APPSERVICE_PORT}${FOCUS_PATH_PREFIX}/get_token`;
    await waitUntil("bench appservice", async () => (await fetch(`http://127.0.0.1:${APPSERVICE_PORT}/_matrix/app/v1/ping`, { method: "POST" })).status === 401, {
      timeoutMs: 30_000,
      abortIf: appservice.exitDescription,
      hint: `see ${appservice.logPath}`,
    });

    const body = (token: string, u: number) => ({
      room_id: ROOM,
      slot_id: "m.call#ROOM",
      openid_token: { access_token: token, token_type: "Bearer", matrix_server_name: serverName, expires_in: 3600 },
      member: { id: `member${u}`, claimed_user_id: `@user${u}:${serverName}`, claimed_device_id: `DEV${u}` },
    });
    const cached: FocusBenchRun[] = [];
    const uncached: FocusBenchRun[] = [];
    let fresh = 0;
    // The warm-up fills the cache and lets the JIT settle; the cached runs reuse each user's token.
    // Cached runs come first: they measure the steady state of a service whose callers hold valid
    // OpenID tokens, not the aftermath of a burst of new ones.
    await load(url, appservice.pid, warmup, (i) => body(`user${i % USERS}.0`, i % USERS));
    for (let run = 0; run < runs; run++) cached.push(await load(url, appservice.pid, requests, (i) => body(`user${i % USERS}.0`, i % USERS)));
    for (let run = 0; run < runs; run++) {
      uncached.push(await load(url, appservice.pid, Math.floor(requests / 3), (i) => body(`user${i % USERS}.${++fresh}`, i % USERS)));
    }
    return { cached, uncached };
  } finally {
    await processes.stopAll();
    userinfo.server?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * What the two rate limiters cost a request by themselves, in nanoseconds (medians of 5 rounds of
 * 2,000,000 requests from 2,000 users of one server, in this process): set against the service's CPU
 * per token, a figure the machine's noise does not swamp as it does throughput ratios.
 */
export function benchRateLimiterNs(): number {
  const limits = requestLimits({ per_server: { per_second: 1e9, burst: 1e9 }, per_user: { per_second: 1e9, burst: 1e9 } }, "bench");
  const users = Array.from({ length: 2000 }, (_, i) => `@user${i}:localhost`);
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const requests = 2_000_000;
    const began = process.hrtime.bigint();
    for (let i = 0; i < requests; i++) {
      limits.server.take("localhost");
      limits.user.take(users[i % users.length]!);
    }
    rounds.push(Number(process.hrtime.bigint() - began) / requests);
  }
  return rounds.sort((a, b) => a - b)[2]!;
}
