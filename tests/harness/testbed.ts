import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CertificateSubject } from "./ca.ts";
import { FOCUS_PATH_PREFIX } from "../../appservice/src/app.ts";
import { createCertificates } from "./ca.ts";
import type { LiveKitServer } from "./livekit.ts";
import { startLiveKit } from "./livekit.ts";
import type { Host, Topology } from "./network.ts";
import { createNetwork, FEDERATION_WHITELIST, HOSTS, NAMESPACES, removeNetwork } from "./network.ts";
import type { PostgresServer } from "./postgres.ts";
import { killStrayPostgres, startPostgres } from "./postgres.ts";
import type { IdentityProvider } from "./oidc-provider.ts";
import { startIdentityProvider } from "./oidc-provider.ts";
import type { ManagedProcess } from "./processes.ts";
import { ProcessGroup } from "./processes.ts";
import { assertPortsFree, portsOf } from "./ports.ts";
import type { SynapseServer } from "./synapse.ts";
import { startSynapse, synapsePublicBaseurl } from "./synapse.ts";
import type { WhisperServerOnHost } from "./whisper.ts";
import { startWhisperOnHost } from "./whisper.ts";
import { installEmergencyCleanup, startDnsStub } from "./testbed-processes.ts";

export type { LiveKitServer } from "./livekit.ts";
export type { IdentityProvider } from "./oidc-provider.ts";
export type { PostgresServer } from "./postgres.ts";
export type { ManagedProcess } from "./processes.ts";
export type { RegisteredUser, SynapseServer } from "./synapse.ts";
export type { WhisperServerOnHost } from "./whisper.ts";

export type MinistryName = "a" | "b" | "c";
export type SfuMinistryName = "a" | "b";

// What a registration or webhook callback needs to know about a ministry before its servers start.
export interface MinistryAddress {
  serverName: string;
  // On the ministries' shared network (10.77.0.x, or 127.0.0.1 on loopback): where an appservice of
  // this ministry listens.
  address: string;
  // On the runner's link to the namespace (127.0.0.1 on loopback).
  controlAddress: string;
  // null on loopback.
  namespace: string | null;
  host: Host;
  // An empty directory of this run where the callback may write its files.
  configDir: string;
}

export interface TestbedOptions {
  // Paths of app-service registration YAML files for that ministry's Synapse (all of them are asked).
  // Every LiveKit sends its webhooks to its ministry's appservice address (livekitWebhookUrl).
  appserviceRegistrations?: (ministry: MinistryAddress) => Promise<string[]>;
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
  whisper: Record<SfuMinistryName, WhisperServerOnHost>;
  // Ministry A's identity provider, the single sign-on of Synapse A.
  identityProvider: IdentityProvider;
  // Started on first call only: most runs never need PostgreSQL.
  postgres(): Promise<PostgresServer>;
  spawnInNamespace(namespace: string, command: string, args: readonly string[], options: SpawnInNamespaceOptions): ManagedProcess;
  stop(options: { keepRunDir: boolean }): Promise<void>;
}

export interface Tools {
  synapsePython: string;
  livekitBinary: string;
  postgresBinDir: string;
  whisperPython: string;
  /** The workers' voice activity detector (Silero VAD v5, ONNX). */
  sileroVadModel: string;
}

export const RUN_DIR_PREFIX = "visio-testbed-";
/** Where the browser tests serve the web client (tests/support/browser.ts): a name no DNS knows. */
export const TEST_CLIENT_ORIGIN = "http://visio.test";

// The one place that reads the tool locations; scripts/run.sh installs the tools and sets them.
export function toolsFromEnvironment(): Tools {
  const required = (name: string, tool: string): string => {
    const value = process.env[name];
    if (value === undefined || value === "") {
      throw new Error(`${name} is not set: run through \`npm test\` or \`npm start\`, which install ${tool} and set it`);
    }
    return value;
  };
  return {
    synapsePython: required("VISIO_SYNAPSE_PYTHON", "Synapse (a Python venv)"),
    livekitBinary: required("VISIO_LIVEKIT_BIN", "the LiveKit server binary"),
    postgresBinDir: required("VISIO_POSTGRES_BIN", "PostgreSQL"),
    whisperPython: required("VISIO_WHISPER_PYTHON", "the Whisper server (a Python venv with faster-whisper)"),
    sileroVadModel: required("VISIO_SILERO_VAD_MODEL", "the Silero VAD model"),
  };
}

function addressOf(host: Host, configDir: string): MinistryAddress {
  return {
    serverName: host.serverName,
    address: host.address,
    controlAddress: host.controlAddress,
    namespace: host.namespace,
    host,
    configDir,
  };
}

export interface ServersSpec<M extends string> {
  // netns: the test bed's namespaces (created here, leftovers removed first; needs root).
  // loopback: every host on 127.0.0.1 with its own ports, processes started directly.
  topology: Topology;
  // A Synapse for each; a LiveKit server for each whose host has LiveKit ports, a Whisper server for
  // each whose host has a Whisper port.
  hosts: Record<M, Host>;
  // An existing directory; the servers' files and logs/ go inside.
  runDir: string;
  tools: Tools;
  options?: TestbedOptions;
  // Web client URLs (prefixes) that Synapse sends a user back to after single sign-on without asking.
  ssoClientUrls?: readonly string[];
  // true (tests): Ctrl-C kills everything at once and exits. false (demo): the caller handles
  // signals and calls stop(); a process exit still kills whatever is left.
  exitOnSignal: boolean;
}

export interface Servers<M extends string> {
  runDir: string;
  logsDir: string;
  caCertPath: string;
  ministries: Record<M, SynapseServer>;
  livekit: Partial<Record<M, LiveKitServer>>;
  whisper: Partial<Record<M, WhisperServerOnHost>>;
  // One for each host with an idpPort, the single sign-on of its Synapse.
  identityProviders: Partial<Record<M, IdentityProvider>>;
  processes: ProcessGroup;
  // Stops every process (and, for netns, removes the namespaces). Files stay.
  stop(): Promise<void>;
}

// Starts the servers of a topology and returns once every one answers. On failure, whatever
// started is stopped and the error names the logs dir.
export async function startServers<M extends string>(spec: ServersSpec<M>): Promise<Servers<M>> {
  const { topology, runDir, tools, options = {} } = spec;
  const entries = Object.entries(spec.hosts) as [M, Host][];
  if (topology === "netns") {
    removeNetwork();
  } else {
    if (entries.some(([, host]) => host.namespace !== null)) throw new Error("loopback topology: hosts must have no namespace");
    await assertPortsFree(portsOf(entries.map(([, host]) => host)));
  }

  const logsDir = join(runDir, "logs");
  await mkdir(logsDir, { recursive: true });
  const processes = new ProcessGroup(logsDir);
  const uninstallCleanup = installEmergencyCleanup(processes, { topology, exitOnSignal: spec.exitOnSignal });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await processes.stopAll();
    if (topology === "netns") removeNetwork();
    uninstallCleanup();
  };

  try {
    if (topology === "netns") createNetwork();
    const subjects = new Map<string, CertificateSubject>();
    for (const [, host] of entries) {
      subjects.set(host.hostname, {
        hostname: host.hostname,
        // On loopback, clients may also connect by address.
        ipAddresses: topology === "loopback" ? [host.address] : [],
      });
    }
    const [certificates] = await Promise.all([
      createCertificates(join(runDir, "tls"), [...subjects.values()]),
      ...(topology === "netns" ? NAMESPACES.map((namespace) => startDnsStub(processes, namespace)) : []),
    ]);

    const startLiveKitFor = async (name: M, host: Host): Promise<[M, LiveKitServer]> => {
      const dir = join(runDir, `livekit-${name}`);
      await mkdir(dir, { recursive: true });
      return [name, await startLiveKit({ binary: tools.livekitBinary, host, dir, processes })];
    };
    const identityProviders: Partial<Record<M, IdentityProvider>> = {};
    const startSynapseFor = async (name: M, host: Host): Promise<[M, SynapseServer]> => {
      const dir = join(runDir, `synapse-${name}`);
      // On loopback, clients (a browser's Element) use the plain-HTTP listener: the per-run CA is
      // not theirs to trust.
      const publicBaseurl = synapsePublicBaseurl(host, topology === "loopback" ? `http://${host.controlAddress}:${host.controlPort}/` : undefined);
      // Synapse fetches its provider's metadata as it starts.
      const { idpPort } = host;
      const idp = idpPort === undefined
        ? undefined
        : await startIdentityProvider({ host: { ...host, idpPort }, dir: join(runDir, `oidc-provider-${name}`), processes, homeserverPublicBaseurl: publicBaseurl });
      if (idp !== undefined) identityProviders[name] = idp;
      const configDir = join(runDir, `appservice-${name}`);
      await mkdir(configDir, { recursive: true });
      const appserviceConfigFiles = (await options.appserviceRegistrations?.(addressOf(host, configDir))) ?? [];
      const certificate = certificates.certificateFor(host.hostname);
      const synapse = await startSynapse({
        python: tools.synapsePython,
        host,
        dir,
        federationWhitelist: FEDERATION_WHITELIST[topology],
        caCertPath: certificates.caCertPath,
        certPath: certificate.certPath,
        keyPath: certificate.keyPath,
        appserviceConfigFiles,
        // The focus service lives in the ministry's appservice.
        rtcTransportUrl: `http://${host.address}:${host.appservicePort}${FOCUS_PATH_PREFIX}`,
        publicBaseurl,
        ...(idp === undefined ? {} : { sso: { oidcProviders: [idp.synapseConfig], clientWhitelist: spec.ssoClientUrls ?? [] } }),
        processes,
      });
      return [name, synapse];
    };

    const startWhisperFor = async (name: M, host: Host): Promise<[M, WhisperServerOnHost]> => [
      name,
      await startWhisperOnHost({ python: tools.whisperPython, host, processes }),
    ];

    const [livekits, synapses, whispers] = await Promise.all([
      Promise.all(entries.filter(([, host]) => host.livekit !== undefined).map(([name, host]) => startLiveKitFor(name, host))),
      Promise.all(entries.map(([name, host]) => startSynapseFor(name, host))),
      Promise.all(entries.filter(([, host]) => host.whisperPort !== undefined).map(([name, host]) => startWhisperFor(name, host))),
    ]);

    return {
      runDir,
      logsDir,
      caCertPath: certificates.caCertPath,
      ministries: Object.fromEntries(synapses) as Record<M, SynapseServer>,
      livekit: Object.fromEntries(livekits) as Partial<Record<M, LiveKitServer>>,
      whisper: Object.fromEntries(whispers) as Partial<Record<M, WhisperServerOnHost>>,
      identityProviders,
      processes,
      stop,
    };
  } catch (error) {
    await stop();
    throw new TestbedStartError(error, logsDir);
  }
}

// The test bed: namespaces, Synapse A, B, C, LiveKit for A and B. Prefer getTestbed(): one test
// bed per mocha run. On failure, whatever started is stopped and the run dir (with logs) is kept.
export async function startTestbed(options: TestbedOptions = {}): Promise<Testbed> {
  const tools = toolsFromEnvironment();
  removeNetwork();
  await killStrayPostgres(tools.postgresBinDir, join(tmpdir(), RUN_DIR_PREFIX));

  const runDir = await mkdtemp(join(tmpdir(), RUN_DIR_PREFIX));
  // PostgreSQL runs as its own OS user and must be able to reach its data dir inside.
  await chmod(runDir, 0o711);

  const servers = await startServers({ topology: "netns", hosts: HOSTS, runDir, tools, options, ssoClientUrls: [`${TEST_CLIENT_ORIGIN}/`], exitOnSignal: true });
  const { a: livekitA, b: livekitB } = servers.livekit;
  const { a: whisperA, b: whisperB } = servers.whisper;
  if (livekitA === undefined || livekitB === undefined) throw new Error("LiveKit A and B must have started");
  if (whisperA === undefined || whisperB === undefined) throw new Error("the Whisper servers of A and B must have started");
  const identityProvider = servers.identityProviders.a;
  if (identityProvider === undefined) throw new Error("the identity provider of A must have started");

  let stopped = false;
  let postgres: Promise<PostgresServer> | undefined;
  return {
    runDir,
    logsDir: servers.logsDir,
    caCertPath: servers.caCertPath,
    ministries: servers.ministries,
    livekit: { a: livekitA, b: livekitB },
    whisper: { a: whisperA, b: whisperB },
    identityProvider,
    postgres: () => {
      postgres ??= startPostgres({ binDir: tools.postgresBinDir, dir: join(runDir, "postgres"), processes: servers.processes });
      return postgres;
    },
    spawnInNamespace: (namespace, command, args, spawnOptions) => {
      if (stopped) throw new Error("the test bed has been stopped");
      const { logName, ...rest } = spawnOptions;
      return servers.processes.spawnInNamespace(namespace, logName, command, args, rest);
    },
    stop: async ({ keepRunDir }) => {
      if (stopped) return;
      stopped = true;
      await servers.stop();
      if (!keepRunDir) await rm(runDir, { recursive: true, force: true });
    },
  };
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
  return { appserviceRegistrations: concat((options) => options.appserviceRegistrations) };
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

/** Whether a test of this run has started the shared test bed (the namespaces are in use). */
export function sharedTestbedStarted(): boolean {
  return singleton !== undefined;
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
