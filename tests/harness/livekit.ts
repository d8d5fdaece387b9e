import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import yaml from "js-yaml";
import type { Host } from "./network.ts";
import type { ManagedProcess, ProcessGroup } from "./processes.ts";
import { httpStatus, waitUntil } from "./wait.ts";

export const LIVEKIT_PORT = 7880;
const RTC_TCP_PORT = 7881;
const RTC_UDP_PORT = 7882;
const STARTUP_TIMEOUT_MS = 60_000;

export interface LiveKitOptions {
  binary: string;
  host: Host;
  dir: string;
  webhookUrls: readonly string[];
  processes: ProcessGroup;
}

export interface LiveKitServer {
  // What clients inside the namespaces (and the appservice's tokens) point at.
  url: string;
  // What the test runner uses for the server API (RoomServiceClient etc.).
  controlUrl: string;
  apiKey: string;
  apiSecret: string;
  configPath: string;
  logPath: string;
  process: ManagedProcess;
}

export async function startLiveKit(options: LiveKitOptions): Promise<LiveKitServer> {
  const { host, dir } = options;
  await mkdir(dir, { recursive: true });
  const apiKey = `APIvisio${randomBytes(4).toString("hex")}`;
  // LiveKit warns below 32 characters.
  const apiSecret = randomBytes(32).toString("hex");

  const config: Record<string, unknown> = {
    port: LIVEKIT_PORT,
    bind_addresses: [host.address, host.controlAddress],
    rtc: {
      tcp_port: RTC_TCP_PORT,
      udp_port: RTC_UDP_PORT,
      // Unset, LiveKit looks up a public IP and hands clients public STUN servers.
      node_ip: host.address,
      use_external_ip: false,
      // Empty means "Google's public STUN servers" for clients; nothing listens here, on purpose.
      stun_servers: [`${host.address}:3478`],
      // Only the ministry address: the control link and B's second address (ministry C) are not
      // places media should be sent to.
      ips: { includes: [`${host.address}/32`] },
      enable_loopback_candidate: false,
    },
    turn: { enabled: false },
    keys: { [apiKey]: apiSecret },
    room: { auto_create: false },
    logging: { level: "info" },
  };
  // Strict parsing: a webhook section with no URLs is an error waiting to happen, so only when asked.
  if (options.webhookUrls.length > 0) {
    config["webhook"] = { api_key: apiKey, urls: [...options.webhookUrls] };
  }
  const configPath = join(dir, "livekit.yaml");
  await writeFile(configPath, yaml.dump(config));

  const child = options.processes.spawnInNamespace(
    host.namespace,
    `livekit-${host.serverName}`,
    options.binary,
    ["--config", configPath],
    { cwd: dir },
  );
  const controlUrl = `http://${host.controlAddress}:${LIVEKIT_PORT}`;
  await waitUntil(
    `LiveKit ${host.serverName}`,
    async () => (await httpStatus(`${controlUrl}/`)).status === 200,
    { timeoutMs: STARTUP_TIMEOUT_MS, intervalMs: 200, abortIf: child.exitDescription, hint: `see ${child.logPath}` },
  );

  return {
    url: `ws://${host.address}:${LIVEKIT_PORT}`,
    controlUrl,
    apiKey,
    apiSecret,
    configPath,
    logPath: child.logPath,
    process: child,
  };
}
