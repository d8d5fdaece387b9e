// npm start: two federated ministries, each with Synapse, LiveKit, the Visio appservice and a
// transcription worker, demo accounts, a meeting room and the web client; stays up until Ctrl-C.
//   node scripts/demo.ts [--netns] [--postgres] [--check] [--dir <run dir>]
//   --netns  inside the test bed's namespaces (ministry-a.test, ministry-b.test; needs root)
//            instead of loopback (localhost:8448, localhost:8449)
//   --postgres  each ministry's appservice stores in its own PostgreSQL database, as in production
//   --check  verify the demo (logins, meeting room on both servers; with --netns also the main job: a
//            caller of A speaks, B's caller gets live subtitles, the thread and the files), print
//            what was measured, stop; exit 0 only when every step passed
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  HOSTS,
  LOOPBACK_HOSTS,
  PortsInUseError,
  assertPortsFree,
  buildClient,
  createMeeting,
  joinAlias,
  matrixRequest,
  portsOf,
  prepareAppservice,
  serveStatic,
  startAppserviceProcess,
  startServers,
  toolsFromEnvironment,
  waitUntil,
  withFocus,
  withSettings,
  workerConfig,
  type AppserviceProcess,
  type Host,
  type ManagedProcess,
  type PreparedAppservice,
  type RestartPolicy,
  type Servers,
  type StaticServer,
  type SynapseServer,
  type Topology,
} from "@visio/testbed";
import { FOCUS_PATH_PREFIX } from "../appservice/src/app.ts";
import { DEFAULT_WHISPER_MODELS } from "../config/bridge-schema.ts";
import { TRANSCRIPTION_API_PATH } from "../config/wire-types.ts";
import { ACCOUNTS, MINISTRIES, PASSWORD, type Ministry } from "./demo/accounts.ts";
import { checkAppserviceStores, startAppserviceDatabases, type AppserviceDatabases } from "./demo/appservice-postgres.ts";
import { checkDemo, checkWorkersRegistered } from "./demo/demo-check.ts";
import { checkMainJob, describeReport } from "./demo/main-job-check.ts";

const MEETING_TITLE = "Démonstration";
const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
// The web client, on the runner's loopback: a localhost origin is a secure context for the camera.
const CLIENT_PORT = 8080;

const { values } = parseArgs({
  options: {
    netns: { type: "boolean", default: false },
    postgres: { type: "boolean", default: false },
    check: { type: "boolean", default: false },
    dir: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  process.stdout.write("usage: npm start [-- --netns] [--postgres] [--check] [--dir <run dir>]\n");
  process.exit(0);
}
const topology: Topology = values.netns ? "netns" : "loopback";
const hosts: Record<Ministry, Host> = topology === "netns" ? { a: HOSTS.a, b: HOSTS.b } : { ...LOOPBACK_HOSTS };
const runDir = values.dir ?? join(REPO_ROOT, ".demo", topology);
const say = (line: string): void => void process.stderr.write(`[demo] ${line}\n`);
// The demo's own processes (appservices, workers, web clients) come back after a crash, as
// production's `restart: unless-stopped` does; not under --check, where a crash must fail the check.
const restart: RestartPolicy | undefined = values.check ? undefined : { log: say };
const fail = (message: string): never => {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(1);
};

let servers: Servers<Ministry> | undefined;
let client: StaticServer | undefined;
let stopping: Promise<void> | undefined;

// First Ctrl-C: graceful stop. A second one, or one during start: exit now; the process 'exit'
// handler of startServers kills whatever runs (and removes the namespaces in netns mode).
function stopAndExit(code: number): Promise<void> {
  stopping ??= (async () => {
    await client?.close();
    if (servers !== undefined) {
      say("stopping…");
      await servers.stop();
      say(`stopped; logs kept in ${servers.logsDir}`);
    }
    process.exit(code);
  })();
  return stopping;
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (servers === undefined || stopping !== undefined) {
      process.stderr.write(`\n${signal}: stopping at once\n`);
      process.exit(130);
    }
    process.stderr.write("\n");
    void stopAndExit(0);
  });
}

async function main(): Promise<void> {
  const tools = toolsFromEnvironment();
  if (topology === "netns" && process.getuid?.() !== 0) {
    fail("--netns creates network namespaces and needs root (run it as root, or without --netns for loopback)");
  }
  // Before touching the run dir: a demo already running there keeps its files.
  if (topology === "loopback") await assertPortsFree(portsOf(Object.values(hosts)));
  await assertPortsFree([{ address: "127.0.0.1", port: CLIENT_PORT, protocol: "tcp", what: "the web client" }]);
  await rm(runDir, { recursive: true, force: true });
  await mkdir(runDir, { recursive: true });

  const started = Date.now();
  say(`starting Synapse, LiveKit and the appservice for ${hosts.a.serverName} and ${hosts.b.serverName} (${topology}); logs in ${join(runDir, "logs")}`);
  const allowlist = MINISTRIES.map((m) => hosts[m].serverName);
  const prepared = new Map<string, PreparedAppservice>();
  servers = await startServers({
    topology,
    hosts,
    runDir,
    tools,
    ssoClientUrls: webClientUrls(),
    exitOnSignal: false,
    options: {
      appserviceRegistrations: async (ministry) => {
        const ready = await prepareAppservice(ministry.host, ministry.configDir, { allowlist, logLevel: "info" });
        prepared.set(ministry.serverName, ready);
        return ready.registrationPaths;
      },
    },
  });
  const bed = servers;
  const databases = values.postgres ? await startAppserviceDatabases(bed, hosts, tools.postgresBinDir) : undefined;

  const appservices = await Promise.all(
    MINISTRIES.map(async (m): Promise<AppserviceProcess> => {
      const ready = prepared.get(hosts[m].serverName);
      const livekit = bed.livekit[m];
      if (ready === undefined || livekit === undefined) throw new Error(`no appservice or LiveKit for ${hosts[m].serverName}`);
      // Each ministry's focus service hands out tokens for its own LiveKit.
      const withCalls = await withFocus(ready, { livekit, caCertPath: bed.caCertPath, sfuSelection: "oldest_membership" });
      return startAppserviceProcess(
        databases === undefined ? withCalls : await withSettings(withCalls, { database: databases[m] }),
        (command, args, options) => bed.processes.spawnOn(hosts[m].namespace, options.logName, command, args, { cwd: options.cwd, restart }),
        `appservice-${m}`,
      );
    }),
  );
  const workers = await Promise.all(MINISTRIES.map((m, index) => startTranscriptionWorker(bed, m, appservices[index])));
  say(`servers up in ${((Date.now() - started) / 1000).toFixed(1)} s; creating accounts and the meeting`);

  const users = await Promise.all(
    MINISTRIES.map(async (m) => {
      const synapse = bed.ministries[m];
      const { localpart, displayName } = ACCOUNTS[m];
      const user = await synapse.registerUser(localpart, { password: PASSWORD });
      await matrixRequest(synapse.clientUrl, user.accessToken, "PUT", `/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}/displayname`, {
        displayname: displayName,
      });
      return user;
    }),
  );
  const [alice, bruno] = users as [(typeof users)[number], (typeof users)[number]];
  const bot = appservices[0];
  if (bot === undefined) throw new Error("appservice A missing");
  // Alice creates the meeting as the client's "Nouvelle réunion" does; bruno joins it over federation.
  const { roomId, alias } = await createMeeting(bot, bed.ministries.a, alice, MEETING_TITLE);
  await joinAlias(bed.ministries.b, bruno, alias);
  await matrixRequest(
    bed.ministries.a.clientUrl,
    bot.config.appservice.as_token,
    "PUT",
    `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/demo-welcome`,
    {
      msgtype: "m.text",
      body: `Bienvenue dans la réunion de démonstration Visio. ${ACCOUNTS.a.displayName} et ${ACCOUNTS.b.displayName} sont là, chacun sur le serveur de son ministère, fédérés en TLS. La transcription est en français : « !transcribe start » la lance (« !transcribe start en » pour l'anglais).`,
    },
  );
  say("building the web client if its sources changed (vue-tsc, vite)");
  const dist = buildClient();
  client = await serveStatic(dist, "127.0.0.1", CLIENT_PORT);
  if (topology === "netns") {
    // Also inside each ministry's network, where a browser's calls carry media.
    for (const m of MINISTRIES) {
      // Every address of the namespace: its own network for its browsers, the control link for the check below.
      bed.processes.spawnOn(hosts[m].namespace, `web-client-${m}`, process.execPath, [join(REPO_ROOT, "scripts/demo/serve-client.ts"), dist, "0.0.0.0", String(CLIENT_PORT)], { cwd: REPO_ROOT, restart });
    }
    await Promise.all(
      MINISTRIES.map((m) =>
        waitUntil(`the web client in ${hosts[m].namespace ?? ""}`, async () => (await fetch(`http://${hosts[m].controlAddress}:${CLIENT_PORT}/`).catch(() => null))?.ok === true, { timeoutMs: 20_000 }),
      ),
    );
  }
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  process.stdout.write(banner(bed, alias, roomId, appservices, databases));

  if (values.check) {
    await checkDemo({ bed, hosts, alias, roomId, clientUrl: client.url });
    await checkWorkersRegistered(workers);
    process.stdout.write("check: OK (alice and bruno log in with their passwords; the meeting resolves on both homeservers; bruno is joined; alice gets a call token; the web client is served with its security headers; each ministry's transcription worker is registered with its LiveKit)\n");
    if (topology === "netns") {
      const [appserviceA, appserviceB] = appservices;
      if (appserviceA === undefined || appserviceB === undefined) throw new Error("appservices missing");
      const report = await checkMainJob({ bed, hosts, appservices: { a: appserviceA, b: appserviceB }, roomId, alice, bruno, say });
      process.stdout.write(
        `check: main job OK (alice of A spoke French in the call; bruno of B got French live subtitles; the thread has her words; a kicked member stays out; stop posted the French files; a call on B's SFU is transcribed in English by B's worker)\n${describeReport(report)}\n`,
      );
    } else {
      process.stdout.write("check: the call and transcription check needs --netns (on loopback no media flows: WebRTC skips loopback addresses)\n");
    }
    if (databases !== undefined) {
      process.stdout.write(`check: the appservices' stores are in PostgreSQL (A's holds the meeting and alice's and bruno's joins)\n${await checkAppserviceStores(databases, hosts, { alias, roomId })}\n`);
    }
    await stopAndExit(0);
  }
}

/** Every address the web client is served at: Synapse sends a user back there after single sign-on without asking. */
function webClientUrls(): string[] {
  const loopback = [`http://127.0.0.1:${CLIENT_PORT}/`, `http://localhost:${CLIENT_PORT}/`];
  return topology === "netns" ? [...loopback, ...MINISTRIES.map(namespaceClientUrl)] : loopback;
}

/** The web client as a browser inside a ministry's namespace opens it (netns demo). */
function namespaceClientUrl(m: Ministry): string {
  return `http://${hosts[m].address}:${CLIENT_PORT}/`;
}

function banner(bed: Servers<Ministry>, alias: string, roomId: string, appservices: AppserviceProcess[], databases: AppserviceDatabases | undefined): string {
  const show = (path: string): string => {
    const rel = relative(process.cwd(), path);
    return rel.startsWith("..") ? path : rel;
  };
  const lines: string[] = ["", `Visio demo is running (${topology === "loopback" ? "loopback" : "network namespaces"}).`, ""];
  MINISTRIES.forEach((m, index) => {
    const host = hosts[m];
    const synapse: SynapseServer = bed.ministries[m];
    const livekit = bed.livekit[m];
    lines.push(`Ministry ${m.toUpperCase()}: server name ${host.serverName}`);
    lines.push(`  homeserver for a Matrix client (e.g. Element):  ${synapse.clientUrl}`);
    if (topology === "netns") lines.push(`    (control link from the root namespace; inside namespace ${host.namespace ?? ""} it is ${synapse.federationUrl})`);
    lines.push(`  federation (TLS, per-run CA):                   ${synapse.federationUrl}`);
    if (livekit !== undefined) {
      lines.push(`  LiveKit:                                        ${livekit.url}${topology === "netns" ? `  (from the root namespace: ${livekit.controlUrl})` : ""}`);
    }
    lines.push(`  Visio appservice:                               ${appservices[index]?.url ?? "?"}  (bot @${appservices[index]?.config.appservice.sender_localpart ?? "visio"}:${host.serverName})`);
    lines.push(`  its store:                                      ${databases === undefined ? "SQLite (--postgres: PostgreSQL)" : `PostgreSQL ${databases[m].connection ?? "?"}`}`);
    lines.push(`  MatrixRTC focus (LiveKit tokens, MSC4195):      http://${host.address}:${host.appservicePort}${FOCUS_PATH_PREFIX}  (advertised in .well-known/matrix/client)`);
    lines.push(`  transcription control (or !transcribe in chat): http://${host.address}:${host.appservicePort}${TRANSCRIPTION_API_PATH}  (.well-known: org.visio.appservice)`);
  });
  lines.push(`CA certificate of this run (federation TLS):      ${show(bed.caCertPath)}`);
  lines.push("");
  lines.push(`Accounts (password "${PASSWORD}"):`);
  for (const m of MINISTRIES) {
    lines.push(`  @${ACCOUNTS[m].localpart}:${hosts[m].serverName}  log in as "${ACCOUNTS[m].localpart}" on ${bed.ministries[m].clientUrl}`);
  }
  const idp = bed.identityProviders.a;
  if (idp !== undefined) {
    lines.push(`Single sign-on on A (OpenID Connect provider ${idp.issuer}): the sign-in form offers "Se connecter avec ${idp.name}" once A's server is typed;`);
    for (const account of idp.accounts) {
      lines.push(`  at the provider, "${account.username}", password "${account.password}" (this run's): signs in as @${account.username}:${hosts.a.serverName}`);
    }
  }
  lines.push("");
  lines.push(`Meeting: ${alias}  (${roomId}), created by alice; alice and bruno are in it.`);
  lines.push(`  "Nouvelle réunion" in the client creates another, on the user's own ministry; an address nobody created opens nothing.`);
  lines.push("");
  if (topology === "netns") {
    lines.push("Visio web client, for a browser inside each ministry's network (where calls carry media):");
    for (const m of MINISTRIES) {
      const url = namespaceClientUrl(m);
      lines.push(`  ${m.toUpperCase()}: sudo ip netns exec ${hosts[m].namespace ?? ""} chromium --user-data-dir=/tmp/visio-browser-${m} --no-sandbox --ignore-certificate-errors --unsafely-treat-insecure-origin-as-secure=${url.replace(/\/$/, "")} ${url}`);
      lines.push(`     then sign in: server "${hosts[m].serverName}", user "${ACCOUNTS[m].localpart}", password "${PASSWORD}"; open ${alias}`);
    }
    lines.push(`  (also on the runner's loopback, ${client?.url ?? "?"}: chat works there with ${bed.ministries.a.clientUrl} as the server, calls do not)`);
  } else {
    lines.push(`Visio web client: ${client?.url ?? "?"}`);
    lines.push(`  sign in with a homeserver URL above (e.g. ${bed.ministries.a.clientUrl}), then open ${alias}.`);
  }
  lines.push("");
  const [englishModel, multilingualModel] = DEFAULT_WHISPER_MODELS;
  lines.push("Transcription: one worker per ministry, registered with its LiveKit as an agent; its engine is the ministry's Whisper server:");
  lines.push(`  Whisper ${multilingualModel} (multilingual) for French meetings, the default; Whisper ${englishModel} for English ones.`);
  lines.push('  "!transcribe start" in the meeting (or the client\'s button) sends it into the call, in French; "!transcribe start en" in English.');
  if (topology === "loopback") lines.push("  (on loopback no media reaches it: WebRTC skips loopback addresses; --netns carries media)");
  lines.push("");
  lines.push(`Logs: ${show(bed.logsDir)}  (Synapse, LiveKit, appservice, transcription worker: one file each)`);
  lines.push(values.check ? "--check: verifying, then stopping." : "Ctrl-C stops everything.");
  lines.push("");
  return `${lines.join("\n")}\n`;
}

// A ministry's transcription worker: an agent worker of its LiveKit (with the workers' own key), acting
// as the bridge's user through its own registration (not the appservice's token), with its ministry's
// Whisper server as the engine; the tests start theirs with the same config.
async function startTranscriptionWorker(bed: Servers<Ministry>, m: Ministry, appservice: AppserviceProcess | undefined): Promise<ManagedProcess> {
  const livekit = bed.livekit[m];
  const whisper = bed.whisper[m];
  if (appservice === undefined || livekit === undefined || whisper === undefined) throw new Error(`no appservice, LiveKit or Whisper for ${hosts[m].serverName}`);
  const config = workerConfig({
    livekit,
    homeserverUrl: bed.ministries[m].clientUrl,
    asToken: appservice.transcriber.asToken,
    userId: appservice.transcriber.userId,
    whisper,
  });
  const configPath = join(runDir, `transcription-worker-${m}.yaml`);
  await writeFile(configPath, JSON.stringify(config), { mode: 0o600 });
  return bed.processes.spawnOn(hosts[m].namespace, `transcription-worker-${m}`, process.execPath, [join(REPO_ROOT, "bridge/src/worker.ts"), "--config", configPath], {
    cwd: REPO_ROOT,
    restart,
  });
}

main().catch(async (error: unknown) => {
  if (stopping !== undefined) return;
  const message = error instanceof PortsInUseError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`demo: failed: ${message}\n`);
  if (servers !== undefined) {
    await servers.stop();
    process.stderr.write(`demo: logs kept in ${servers.logsDir}\n`);
  }
  process.exit(1);
});
