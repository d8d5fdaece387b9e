import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCertificates } from "./ca.ts";
import type { LiveKitServer } from "./livekit.ts";
import { startLiveKit } from "./livekit.ts";
import type { Host } from "./network.ts";
import { createNetwork, HOSTS, NAMESPACES, removeNetwork } from "./network.ts";
import type { PostgresServer } from "./postgres.ts";
import { killStrayPostgres, startPostgres } from "./postgres.ts";
import type { ManagedProcess } from "./processes.ts";
import { ProcessGroup } from "./processes.ts";
import type { SynapseServer } from "./synapse.ts";
import { FEDERATION_PORT, startSynapse } from "./synapse.ts";
import { waitUntil } from "./wait.ts";

export type { LiveKitServer } from "./livekit.ts";
export type { PostgresServer } from "./postgres.ts";
export type { ManagedProcess } from "./processes.ts";
export type { RegisteredUser, SynapseServer } from "./synapse.ts";

export type MinistryName = "a" | "b" | "c";
export type SfuMinistryName = "a" | "b";

// What a registration or webhook callback needs to know about a ministry before its servers start.
export interface MinistryAddress {
  serverName: string;
  // On the ministries' shared network (10.77.0.x): where an appservice in this namespace listens.
  address: string;
  // On the test runner's link to the namespace.
  controlAddress: string;
  namespace: string;
  // An empty directory of this run where the callback may write its files.
  configDir: string;
}

export interface TestbedOptions {
  // Paths of app-service registration YAML files for that ministry's Synapse (all three are asked).
  appserviceRegistrations?: (ministry: MinistryAddress) => Promise<string[]>;
  // LiveKit webhook URLs for ministry a or b; no webhook section at all when none are given.
  livekitWebhookUrls?: (ministry: MinistryAddress) => Promise<string[]>;
}

export interface SpawnInNamespaceOptions {
  env?: Record<string, string>;
  // The log file is <logsDir>/<logName>.log.
  logName: string;
  cwd?: string;
}

export interface Testbed {
  runDir: string;
  logsDir: string;
  caCertPath: string;
  ministries: Record<MinistryName, SynapseServer>;
  livekit: Record<SfuMinistryName, LiveKitServer>;
  // Started on first call only: most runs never need PostgreSQL.
  postgres(): Promise<PostgresServer>;
  spawnInNamespace(namespace: string, command: string, args: readonly string[], options: SpawnInNamespaceOptions): ManagedProcess;
  stop(options: { keepRunDir: boolean }): Promise<void>;
}

interface Tools {
  synapsePython: string;
  livekitBinary: string;
  postgresBinDir: string;
}

export const RUN_DIR_PREFIX = "visio-testbed-";
const DNS_STUB = fileURLToPath(new URL("./dns-stub.ts", import.meta.url));
// The control listener for ministry C cannot reuse 8008: it shares B's namespace and control address.
const CONTROL_PORTS: Record<MinistryName, number> = { a: 8008, b: 8008, c: 8018 };

// The one place that reads the tool locations; scripts/run.sh installs the tools and sets them.
function toolsFromEnvironment(): Tools {
  const required = (name: string, tool: string): string => {
    const value = process.env[name];
    if (value === undefined || value === "") {
      throw new Error(`${name} is not set: run the tests through \`npm test\`, which installs ${tool} and sets it`);
    }
    return value;
  };
  return {
    synapsePython: required("VISIO_SYNAPSE_PYTHON", "Synapse (a Python venv)"),
    livekitBinary: required("VISIO_LIVEKIT_BIN", "the LiveKit server binary"),
    postgresBinDir: required("VISIO_POSTGRES_BIN", "PostgreSQL"),
  };
}

function addressOf(host: Host, configDir: string): MinistryAddress {
  return {
    serverName: host.serverName,
    address: host.address,
    controlAddress: host.controlAddress,
    namespace: host.namespace,
    configDir,
  };
}

let emergencyCleanup: (() => void) | undefined;

// Ctrl-C or an uncaught error must not leave namespaces and servers behind; only synchronous
// work runs in an 'exit' handler, hence the kill-and-delete here rather than the graceful stop.
function installEmergencyCleanup(processes: ProcessGroup): void {
  const cleanup = (): void => {
    processes.killAllSync();
    removeNetwork();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    cleanup();
    process.stderr.write(`\nInterrupted; test bed logs kept in ${processes.logsDir}\n`);
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.on("exit", cleanup);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  emergencyCleanup = () => {
    process.off("exit", cleanup);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}

async function startDnsStub(processes: ProcessGroup, namespace: string): Promise<void> {
  const records = Object.values(HOSTS).map((host) => `${host.serverName}=${host.address}`);
  const child = processes.spawnInNamespace(namespace, `dns-${namespace}`, process.execPath, [DNS_STUB, ...records]);
  await waitUntil(
    `DNS stub in ${namespace}`,
    async () => readFileSync(child.logPath, "utf8").includes("dns-stub listening"),
    { timeoutMs: 20_000, intervalMs: 50, abortIf: child.exitDescription, hint: `see ${child.logPath}` },
  );
}

// Starts everything and returns once every server answers. Prefer getTestbed(): one test bed per
// mocha run. On failure, whatever started is stopped and the run dir (with logs) is kept.
export async function startTestbed(options: TestbedOptions = {}): Promise<Testbed> {
  const tools = toolsFromEnvironment();
  removeNetwork();
  await killStrayPostgres(tools.postgresBinDir, join(tmpdir(), RUN_DIR_PREFIX));

  const runDir = await mkdtemp(join(tmpdir(), RUN_DIR_PREFIX));
  // PostgreSQL runs as its own OS user and must be able to reach its data dir inside.
  await chmod(runDir, 0o711);
  const logsDir = join(runDir, "logs");
  await mkdir(logsDir);
  const processes = new ProcessGroup(logsDir);
  installEmergencyCleanup(processes);

  let stopped = false;
  const stop = async ({ keepRunDir }: { keepRunDir: boolean }): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await processes.stopAll();
    removeNetwork();
    emergencyCleanup?.();
    emergencyCleanup = undefined;
    if (!keepRunDir) await rm(runDir, { recursive: true, force: true });
  };

  try {
    createNetwork();
    const [certificates] = await Promise.all([
      createCertificates(join(runDir, "tls"), Object.values(HOSTS).map((host) => host.serverName)),
      ...NAMESPACES.map((namespace) => startDnsStub(processes, namespace)),
    ]);

    const startLiveKitFor = async (name: SfuMinistryName): Promise<LiveKitServer> => {
      const host = HOSTS[name];
      const dir = join(runDir, `livekit-${name}`);
      await mkdir(dir, { recursive: true });
      const webhookUrls = (await options.livekitWebhookUrls?.(addressOf(host, dir))) ?? [];
      return startLiveKit({ binary: tools.livekitBinary, host, dir, webhookUrls, processes });
    };
    const startSynapseFor = async (name: MinistryName): Promise<SynapseServer> => {
      const host = HOSTS[name];
      const dir = join(runDir, `synapse-${name}`);
      const configDir = join(runDir, `appservice-${name}`);
      await mkdir(configDir, { recursive: true });
      const appserviceConfigFiles = (await options.appserviceRegistrations?.(addressOf(host, configDir))) ?? [];
      const certificate = certificates.certificateFor(host.serverName);
      return startSynapse({
        python: tools.synapsePython,
        host,
        controlPort: CONTROL_PORTS[name],
        dir,
        caCertPath: certificates.caCertPath,
        certPath: certificate.certPath,
        keyPath: certificate.keyPath,
        appserviceConfigFiles,
        rtcTransportUrl: `https://${host.serverName}:${FEDERATION_PORT}/livekit/jwt`,
        processes,
      });
    };

    const [livekitA, livekitB, synapseA, synapseB, synapseC] = await Promise.all([
      startLiveKitFor("a"),
      startLiveKitFor("b"),
      startSynapseFor("a"),
      startSynapseFor("b"),
      startSynapseFor("c"),
    ]);

    let postgres: Promise<PostgresServer> | undefined;
    return {
      runDir,
      logsDir,
      caCertPath: certificates.caCertPath,
      ministries: { a: synapseA, b: synapseB, c: synapseC },
      livekit: { a: livekitA, b: livekitB },
      postgres: () => {
        postgres ??= startPostgres({ binDir: tools.postgresBinDir, dir: join(runDir, "postgres"), processes });
        return postgres;
      },
      spawnInNamespace: (namespace, command, args, spawnOptions) => {
        if (stopped) throw new Error("the test bed has been stopped");
        const { logName, ...rest } = spawnOptions;
        return processes.spawnInNamespace(namespace, logName, command, args, rest);
      },
      stop,
    };
  } catch (error) {
    await stop({ keepRunDir: true });
    throw new TestbedStartError(error, logsDir);
  }
}

export class TestbedStartError extends Error {
  readonly logsDir: string;

  constructor(cause: unknown, logsDir: string) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(`test bed failed to start: ${message} (logs kept in ${logsDir})`, { cause });
    this.name = "TestbedStartError";
    this.logsDir = logsDir;
  }
}

// One test bed per mocha run, started by the first test that asks and torn down by
// mochaGlobalTeardown (global-hooks.ts).
let configured: TestbedOptions[] = [];
let singleton: Promise<Testbed> | undefined;

// Options are only honoured before the test bed starts: Synapse reads its appservice registrations
// at start. Call this at the top level of a test file (mocha loads every file before running any),
// so every file's registrations are in, whichever file happens to run first.
export function configureTestbed(options: TestbedOptions): void {
  if (singleton !== undefined) {
    throw new Error("configureTestbed() called after the test bed started: call it at the top level of the test file");
  }
  configured.push(options);
}

function mergedOptions(list: readonly TestbedOptions[]): TestbedOptions {
  const concat =
    (pick: (options: TestbedOptions) => TestbedOptions["appserviceRegistrations"]) =>
    async (ministry: MinistryAddress): Promise<string[]> => {
      const results = await Promise.all(list.map((options) => pick(options)?.(ministry) ?? Promise.resolve([])));
      return results.flat();
    };
  return {
    appserviceRegistrations: concat((options) => options.appserviceRegistrations),
    livekitWebhookUrls: concat((options) => options.livekitWebhookUrls),
  };
}

// The shared test bed. `options` are accepted only on the call that starts it (see configureTestbed
// for files that cannot know whether they run first); passing options later throws.
export function getTestbed(options?: TestbedOptions): Promise<Testbed> {
  if (singleton === undefined) {
    if (options !== undefined) configured.push(options);
    singleton = startTestbed(mergedOptions(configured));
    configured = [];
  } else if (options !== undefined) {
    throw new Error("getTestbed(options): the test bed is already running; options are only accepted before it starts");
  }
  return singleton;
}

// Stops the shared test bed if it was ever asked for. Returns the logs dir when it was kept.
export async function stopSharedTestbed({ keepRunDir }: { keepRunDir: boolean }): Promise<string | undefined> {
  const pending = singleton;
  if (pending === undefined) return undefined;
  singleton = undefined;
  let testbed: Testbed;
  try {
    testbed = await pending;
  } catch (error) {
    // Its start failed and already stopped what had started; only the logs remain.
    return error instanceof TestbedStartError ? error.logsDir : undefined;
  }
  await testbed.stop({ keepRunDir });
  return keepRunDir ? testbed.logsDir : undefined;
}

// Starts a tracked process inside a namespace with its log beside the servers' logs; it is
// stopped with the test bed. Requires the shared test bed (started by getTestbed()).
export async function spawnInNamespace(
  namespace: string,
  command: string,
  args: readonly string[],
  options: SpawnInNamespaceOptions,
): Promise<ManagedProcess> {
  const testbed = await getTestbed();
  return testbed.spawnInNamespace(namespace, command, args, options);
}

// Unique per run and per call: tests isolate themselves by fresh users and rooms, never by restarts.
let localpartCounter = 0;
const runTag = randomBytes(3).toString("hex");
export function uniqueLocalpart(prefix = "user"): string {
  localpartCounter += 1;
  return `${prefix}-${runTag}-${localpartCounter}`.toLowerCase();
}
