import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import yaml from "js-yaml";
import { LIVEKIT_WEBHOOK_PATH } from "../../appservice/src/calls/livekit-webhook.ts";
import type { Host, LiveKitPorts } from "./network.ts";
import type { ManagedProcess, ProcessGroup } from "./processes.ts";
import { httpStatus, waitUntil } from "./wait.ts";

const STARTUP_TIMEOUT_MS = 60_000;

export interface LiveKitOptions {
  binary: string;
  host: Host;
  dir: string;
  processes: ProcessGroup;
  /** A node of a multi-node deployment: its own ports (default: the host's), its cluster's keys and Redis. */
  node?: LiveKitNodeOptions;
}

export interface LiveKitNodeOptions {
  /** Names its log; the host's LiveKit keeps the plain name. */
  name: string;
  ports: LiveKitPorts;
  /** Every node of one deployment shares the keys: a token or webhook of one is valid on all. */
  keys: Pick<LiveKitServer, "apiKey" | "apiSecret" | "workerKey">;
  /** host:port of the Redis that the nodes share (rooms' placement, signalling between nodes, agents). */
  redisAddress: string;
}

/**
 * Where a ministry's LiveKit sends its webhooks: that ministry's appservice, as in production
 * (config/docker/livekit.yaml). Always configured: calls, kicks and transcription depend on them.
 */
export function livekitWebhookUrl(host: Pick<Host, "address" | "appservicePort">): string {
  return `http://${host.address}:${host.appservicePort}${LIVEKIT_WEBHOOK_PATH}`;
}

export interface LiveKitServer {
  // What clients inside the namespaces (and the appservice's tokens) point at.
  url: string;
  // What the test runner uses for the server API (RoomServiceClient etc.).
  controlUrl: string;
  /** The appservice's key: it signs the webhooks, and the focus's tokens and server API calls. */
  apiKey: string;
  apiSecret: string;
  /** The transcription workers' own key (agent registration), which the appservice does not accept on webhooks. */
  workerKey: { apiKey: string; apiSecret: string };
  configPath: string;
  logPath: string;
  process: ManagedProcess;
  /** Stops it and starts it again on the same config (keys, ports): its rooms and participants are lost. */
  restart(): Promise<LiveKitServer>;
}

export async function startLiveKit(options: LiveKitOptions): Promise<LiveKitServer> {
  const { host, dir } = options;
  const ports = options.node?.ports ?? host.livekit;
  if (ports === undefined) throw new Error(`${host.serverName} has no LiveKit ports`);
  // No namespace: everything stays on loopback, which LiveKit leaves out of its candidates by default.
  const loopback = host.namespace === null;
  await mkdir(dir, { recursive: true });
  const { apiKey, apiSecret, workerKey } = options.node?.keys ?? newLiveKitKeys();

  const config: Record<string, unknown> = {
    port: ports.port,
    bind_addresses: [...new Set([host.address, host.controlAddress])],
    rtc: {
      // 0 disables ICE/TCP: its listener binds every interface.
      tcp_port: ports.rtcTcpPort,
      udp_port: ports.rtcUdpPort,
      // Unset, LiveKit looks up a public IP and hands clients public STUN servers.
      node_ip: host.address,
      use_external_ip: false,
      // Empty means "Google's public STUN servers" for clients; nothing listens here, on purpose.
      stun_servers: [`${host.address}:3478`],
      // Only the ministry address: the control link and B's second address (ministry C) are not
      // places media should be sent to.
      ips: { includes: [`${host.address}/32`] },
      ...(loopback ? { interfaces: { includes: ["lo"] } } : {}),
      enable_loopback_candidate: loopback,
    },
    turn: { enabled: false },
    keys: { [apiKey]: apiSecret, [workerKey.apiKey]: workerKey.apiSecret },
    room: { auto_create: false },
    webhook: { api_key: apiKey, urls: [livekitWebhookUrl(host)] },
    logging: { level: "info" },
    ...(options.node === undefined ? {} : { redis: { address: options.node.redisAddress } }),
  };
  const configPath = join(dir, "livekit.yaml");
  await writeFile(configPath, yaml.dump(config));
  return launchLiveKit(options, configPath, { apiKey, apiSecret, workerKey });
}

/** The appservice's key and the workers' key of a LiveKit deployment. */
export function newLiveKitKeys(): Pick<LiveKitServer, "apiKey" | "apiSecret" | "workerKey"> {
  return {
    apiKey: `APIvisio${randomBytes(4).toString("hex")}`,
    // LiveKit warns below 32 characters.
    apiSecret: randomBytes(32).toString("hex"),
    workerKey: { apiKey: `APIworker${randomBytes(4).toString("hex")}`, apiSecret: randomBytes(32).toString("hex") },
  };
}

async function launchLiveKit(
  options: LiveKitOptions,
  configPath: string,
  keys: Pick<LiveKitServer, "apiKey" | "apiSecret" | "workerKey">,
): Promise<LiveKitServer> {
  const { host, dir } = options;
  const ports = options.node?.ports ?? host.livekit;
  if (ports === undefined) throw new Error(`${host.serverName} has no LiveKit ports`);
  const child = options.processes.spawnOn(
    host.namespace,
    `livekit-${host.serverName.replaceAll(":", "-")}${options.node === undefined ? "" : `-${options.node.name}`}`,
    options.binary,
    ["--config", configPath],
    { cwd: dir },
  );
  const controlUrl = `http://${host.controlAddress}:${ports.port}`;
  await waitUntil(
    `LiveKit ${host.serverName}`,
    async () => (await httpStatus(`${controlUrl}/`)).status === 200,
    { timeoutMs: STARTUP_TIMEOUT_MS, intervalMs: 200, abortIf: child.exitDescription, hint: `see ${child.logPath}` },
  );

  return {
    url: `ws://${host.address}:${ports.port}`,
    controlUrl,
    ...keys,
    configPath,
    logPath: child.logPath,
    process: child,
    restart: async () => {
      await child.stop();
      return launchLiveKit(options, configPath, keys);
    },
  };
}
