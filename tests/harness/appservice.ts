// The real appservice process for one ministry, as the tests and the demo run it: a config and the
// registration for its Synapse (written before Synapse starts), then the process, ready once it
// answers /_matrix/app/v1/ping.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import { generateToken, registrationYaml } from "../../appservice/src/registration.ts";
import { workerRegistrationYaml } from "../../bridge/src/worker/worker-registration.ts";
import { parseConfig } from "../../config/load.ts";
import type { AppserviceConfig } from "../../config/schema.ts";
import type { Host } from "./network.ts";
import type { ManagedProcess } from "./processes.ts";
import { waitUntil } from "./wait.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = join(REPO_ROOT, "appservice", "src", "main.ts");

/** The Matrix identity of the ministry's transcription workers: their own registration, not the appservice's. */
export interface TranscriberCredentials {
  userId: string;
  asToken: string;
}

export interface PreparedAppservice {
  host: Host;
  config: AppserviceConfig;
  configPath: string;
  // For the homeserver's app_service_config_files: the appservice's and the transcription worker's.
  registrationPaths: string[];
  transcriber: TranscriberCredentials;
}

export interface AppserviceProcess {
  config: AppserviceConfig;
  transcriber: TranscriberCredentials;
  /** Where the runner reaches it (the namespace's control address, or 127.0.0.1). */
  url: string;
  process: ManagedProcess;
}

// Starts `command args` where the host's processes run (its namespace, or directly), logging to
// <logs>/<logName>.log.
export type SpawnForHost = (command: string, args: readonly string[], options: { logName: string; cwd: string }) => ManagedProcess;

export async function prepareAppservice(
  host: Host,
  configDir: string,
  options: { allowlist: readonly string[]; logLevel?: AppserviceConfig["logging"]["level"] },
): Promise<PreparedAppservice> {
  const port = host.appservicePort;
  const config = parseConfig({
    homeserver: { server_name: host.serverName, url: `http://${host.controlAddress}:${host.controlPort}` },
    appservice: {
      // In a namespace: both its ministry address (for Synapse) and its control address (for the runner).
      bind_address: host.namespace === null ? host.address : "0.0.0.0",
      port,
      url: `http://${host.address}:${port}`,
      as_token: generateToken(),
      hs_token: generateToken(),
    },
    database: { client: "sqlite", filename: join(configDir, "appservice.db") },
    federation: { allowlist: [...options.allowlist] },
    logging: { level: options.logLevel ?? "debug" },
  });
  const configPath = join(configDir, "appservice.yaml");
  const registrationPath = join(configDir, "registration.yaml");
  await writeFile(configPath, yaml.dump(config), { mode: 0o600 });
  await writeFile(registrationPath, registrationYaml(config), { mode: 0o600 });
  const transcriber = { userId: `@${config.transcription.bridge_localpart}:${host.serverName}`, asToken: generateToken() };
  const transcriberRegistrationPath = join(configDir, "transcription-worker-registration.yaml");
  await writeFile(transcriberRegistrationPath, workerRegistrationYaml({ user_id: transcriber.userId, as_token: transcriber.asToken }), { mode: 0o600 });
  return { host, config, configPath, registrationPaths: [registrationPath, transcriberRegistrationPath], transcriber };
}

export interface FocusSettings {
  /** The ministry's own LiveKit server. */
  livekit: { url: string; apiKey: string; apiSecret: string };
  /** The CA that homeservers' federation certificates chain to (the run's CA). */
  caCertPath: string;
  sfuSelection: NonNullable<AppserviceConfig["focus"]>["sfu_selection"];
}

/** The same appservice with its focus service on: rewrites its config file. */
export async function withFocus(prepared: PreparedAppservice, focus: FocusSettings): Promise<PreparedAppservice> {
  const config = parseConfig({
    ...prepared.config,
    focus: {
      livekit: { url: focus.livekit.url, api_key: focus.livekit.apiKey, api_secret: focus.livekit.apiSecret },
      sfu_selection: focus.sfuSelection,
      federation_ca_file: focus.caCertPath,
    },
  });
  await writeFile(prepared.configPath, yaml.dump(config), { mode: 0o600 });
  return { ...prepared, config };
}

/** The same appservice with other transcription settings (e.g. control_power_level): rewrites its config file. */
/** Settings of some sections other than the prepared ones (each given key over the section's). */
export interface SectionOverrides {
  transcription?: Partial<AppserviceConfig["transcription"]>;
  rate_limits?: Partial<AppserviceConfig["rate_limits"]>;
  /** Another store (PostgreSQL) than the prepared SQLite file: replaces the section whole. */
  database?: AppserviceConfig["database"];
}

export async function withSettings(prepared: PreparedAppservice, overrides: SectionOverrides): Promise<PreparedAppservice> {
  const config = parseConfig({
    ...prepared.config,
    transcription: { ...prepared.config.transcription, ...overrides.transcription },
    rate_limits: { ...prepared.config.rate_limits, ...overrides.rate_limits },
    database: overrides.database ?? prepared.config.database,
  });
  await writeFile(prepared.configPath, yaml.dump(config), { mode: 0o600 });
  return { ...prepared, config };
}

export async function startAppserviceProcess(
  prepared: PreparedAppservice,
  spawn: SpawnForHost,
  logName: string,
): Promise<AppserviceProcess> {
  const { config, host } = prepared;
  const url = `http://${host.controlAddress}:${config.appservice.port}`;
  const child = spawn(process.execPath, [MAIN, "start", "-c", prepared.configPath], { logName, cwd: REPO_ROOT });
  await waitUntil(
    `appservice of ${host.serverName}`,
    async () => {
      const res = await fetch(`${url}/_matrix/app/v1/ping`, {
        method: "POST",
        headers: { authorization: `Bearer ${config.appservice.hs_token}`, "content-type": "application/json" },
        body: "{}",
        signal: AbortSignal.timeout(2000),
      });
      return res.status === 200;
    },
    { timeoutMs: 30_000, intervalMs: 100, abortIf: child.exitDescription, hint: `see ${child.logPath}` },
  );
  return { config, transcriber: prepared.transcriber, url, process: child };
}
