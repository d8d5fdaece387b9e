import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// Media stacks ignore loopback and must never reach the machine's real address, so each ministry
// is a network namespace: its own interfaces, no default route, nothing can leave the test bed.

export const NAMESPACE_PREFIX = "visio-";
// Root-namespace ends of the control links; their peers move into the namespaces.
const INTERFACE_PREFIX = "vis";

export interface LiveKitPorts {
  port: number;
  rtcUdpPort: number;
  // 0: no ICE over TCP. LiveKit binds its TCP port on every interface, which is only acceptable
  // inside a namespace.
  rtcTcpPort: number;
}

// One ministry's machine: where its servers listen. Two topologies use it: the test bed's network
// namespaces (HOSTS) and plain loopback for the demo on a laptop (LOOPBACK_HOSTS).
export interface Host {
  // Matrix server name: "ministry-a.test", or "localhost:8448" (an explicit port: no SRV/.well-known).
  serverName: string;
  // The DNS name in its TLS certificate: the server name without its port.
  hostname: string;
  // null: no namespace, processes run directly on this machine.
  namespace: string | null;
  // Where the servers federate and media flows.
  address: string;
  // Where the runner (root namespace) reaches the servers.
  controlAddress: string;
  // TLS listener (client + federation) on `address`.
  federationPort: number;
  // Plain-HTTP client listener on `controlAddress`.
  controlPort: number;
  // Where this ministry's appservice listens.
  appservicePort: number;
  // Ministries without it get no LiveKit server (nor Whisper server, nor transcription worker).
  livekit?: LiveKitPorts;
  // The Whisper server of its transcription workers, on the host's loopback.
  whisperPort?: number;
  // Its identity provider (OpenID Connect, for Synapse's single sign-on), on `address`; none without.
  idpPort?: number;
}

const NETNS_LIVEKIT: LiveKitPorts = { port: 7880, rtcUdpPort: 7882, rtcTcpPort: 7881 };

export const HOSTS = {
  a: {
    serverName: "ministry-a.test",
    hostname: "ministry-a.test",
    namespace: "visio-a",
    address: "10.77.0.1",
    controlAddress: "10.77.1.2",
    federationPort: 8448,
    controlPort: 8008,
    appservicePort: 9000,
    livekit: NETNS_LIVEKIT,
    whisperPort: 8090,
    idpPort: 9400,
  },
  b: {
    serverName: "ministry-b.test",
    hostname: "ministry-b.test",
    namespace: "visio-b",
    address: "10.77.0.2",
    controlAddress: "10.77.2.2",
    federationPort: 8448,
    controlPort: 8008,
    appservicePort: 9000,
    livekit: NETNS_LIVEKIT,
    whisperPort: 8090,
  },
  // Ministry C shares B's namespace (a second address on B's link): a third federating server
  // without a third namespace. Its control listener and appservice cannot reuse B's ports on the
  // shared control address.
  c: {
    serverName: "ministry-c.test",
    hostname: "ministry-c.test",
    namespace: "visio-b",
    address: "10.77.0.3",
    controlAddress: "10.77.2.2",
    federationPort: 8448,
    controlPort: 8018,
    appservicePort: 9002,
  },
} as const satisfies Record<string, Host>;

// The demo on a laptop: both ministries on 127.0.0.1, told apart by their ports. Nothing here
// listens or connects outside 127.0.0.0/8 and ::1.
export const LOOPBACK_HOSTS = {
  a: {
    serverName: "localhost:8448",
    hostname: "localhost",
    namespace: null,
    address: "127.0.0.1",
    controlAddress: "127.0.0.1",
    federationPort: 8448,
    controlPort: 8008,
    appservicePort: 9000,
    livekit: { port: 7880, rtcUdpPort: 7882, rtcTcpPort: 0 },
    whisperPort: 8090,
    idpPort: 9400,
  },
  b: {
    serverName: "localhost:8449",
    hostname: "localhost",
    namespace: null,
    address: "127.0.0.1",
    controlAddress: "127.0.0.1",
    federationPort: 8449,
    controlPort: 8009,
    appservicePort: 9001,
    livekit: { port: 7890, rtcUdpPort: 7892, rtcTcpPort: 0 },
    whisperPort: 8091,
  },
} as const satisfies Record<string, Host>;

export type Topology = "netns" | "loopback";

export const MINISTRY_SUBNET = "10.77.0.0/24";
// Synapse's ip_range_whitelist (its default blacklist covers private ranges and loopback). On
// loopback, `localhost` resolves to 127.0.0.1 and ::1: a lookup with one blocked address fails whole.
export const FEDERATION_WHITELIST: Record<Topology, readonly string[]> = {
  netns: [MINISTRY_SUBNET],
  loopback: ["127.0.0.1/32", "::1/128"],
};
export const NAMESPACES = [HOSTS.a.namespace, HOSTS.b.namespace] as const;

const ROOT_CONTROL_ADDRESS = { a: "10.77.1.1", b: "10.77.2.1" } as const;

function ip(...args: string[]): string {
  try {
    return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`ip ${args.join(" ")} failed: ${stderr.trim() || String(error)}`);
  }
}

function ipQuiet(...args: string[]): string {
  try {
    return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return "";
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function ourNamespaces(): string[] {
  return ipQuiet("netns", "list")
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name.startsWith(NAMESPACE_PREFIX));
}

function pidsIn(namespace: string): number[] {
  return ipQuiet("netns", "pids", namespace)
    .split("\n")
    .map((line) => Number.parseInt(line, 10))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

// Synchronous on purpose: it also runs from the process 'exit' handler, and every step is a few
// milliseconds. Safe to call when nothing exists.
export function removeNetwork(): void {
  const namespaces = ourNamespaces();
  const pids = namespaces.flatMap(pidsIn);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  // A namespace outlives `ip netns del` while a process still holds it; wait for the kills to land.
  const deadline = Date.now() + 5000;
  while (pids.some((pid) => existsSync(`/proc/${pid}`)) && Date.now() < deadline) sleepSync(50);
  for (const namespace of namespaces) ipQuiet("netns", "del", namespace);
  for (const name of ourRootInterfaces()) ipQuiet("link", "del", name);
  if (existsSync("/etc/netns")) {
    for (const entry of readdirSync("/etc/netns")) {
      if (entry.startsWith(NAMESPACE_PREFIX)) rmSync(join("/etc/netns", entry), { recursive: true, force: true });
    }
    // Only when empty: other tools may keep their own namespaces' files there.
    if (readdirSync("/etc/netns").length === 0) rmdirSync("/etc/netns");
  }
}

function ourRootInterfaces(): string[] {
  return ipQuiet("-o", "link", "show")
    .split("\n")
    .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1] ?? "")
    .filter((name) => name.startsWith(INTERFACE_PREFIX));
}

export function leftoverNetwork(): { namespaces: string[]; interfaces: string[]; etcEntries: string[] } {
  const etcEntries = existsSync("/etc/netns")
    ? readdirSync("/etc/netns").filter((entry) => entry.startsWith(NAMESPACE_PREFIX))
    : [];
  return { namespaces: ourNamespaces(), interfaces: ourRootInterfaces(), etcEntries };
}

export function createNetwork(): void {
  const { a, b, c } = HOSTS;
  for (const namespace of NAMESPACES) {
    ip("netns", "add", namespace);
    ip("-n", namespace, "link", "set", "lo", "up");
    writeNamespaceEtc(namespace);
  }

  // The one link between the ministries; C is a second address on B's end.
  ip("link", "add", "visab-a", "netns", a.namespace, "type", "veth", "peer", "name", "visab-b", "netns", b.namespace);
  ip("-n", a.namespace, "addr", "add", `${a.address}/24`, "dev", "visab-a");
  ip("-n", b.namespace, "addr", "add", `${b.address}/24`, "dev", "visab-b");
  ip("-n", b.namespace, "addr", "add", `${c.address}/24`, "dev", "visab-b");
  ip("-n", a.namespace, "link", "set", "visab-a", "up");
  ip("-n", b.namespace, "link", "set", "visab-b", "up");

  // Control links: point-to-point /30s, so the namespaces learn no route beyond the runner itself.
  addControlLink("visra", a.namespace, ROOT_CONTROL_ADDRESS.a, a.controlAddress);
  addControlLink("visrb", b.namespace, ROOT_CONTROL_ADDRESS.b, b.controlAddress);
}

function addControlLink(prefix: string, namespace: string, rootAddress: string, namespaceAddress: string): void {
  const rootEnd = `${prefix}-r`;
  const namespaceEnd = `${prefix}-n`;
  ip("link", "add", rootEnd, "type", "veth", "peer", "name", namespaceEnd, "netns", namespace);
  ip("addr", "add", `${rootAddress}/30`, "dev", rootEnd);
  ip("link", "set", rootEnd, "up");
  ip("-n", namespace, "addr", "add", `${namespaceAddress}/30`, "dev", namespaceEnd);
  ip("-n", namespace, "link", "set", namespaceEnd, "up");
}

// `ip netns exec` bind-mounts these over /etc/hosts and /etc/resolv.conf: real names for the
// servers, and DNS pointed at the namespace's own stub so no query leaves.
function writeNamespaceEtc(namespace: string): void {
  const dir = join("/etc/netns", namespace);
  mkdirSync(dir, { recursive: true });
  const hosts = ["127.0.0.1 localhost", ...Object.values(HOSTS).map((host) => `${host.address} ${host.serverName}`)];
  writeFileSync(join(dir, "hosts"), `${hosts.join("\n")}\n`);
  writeFileSync(join(dir, "resolv.conf"), "nameserver 127.0.0.1\n");
}
