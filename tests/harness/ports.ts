// Loopback topology: every server listens on a fixed port of 127.0.0.1, which anything else on the
// machine may hold already. Checked before anything starts, so the error names the port rather than
// a server's log.
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import type { Host } from "./network.ts";

export interface PortUse {
  address: string;
  port: number;
  protocol: "tcp" | "udp";
  what: string;
}

export function portsOf(hosts: readonly Host[]): PortUse[] {
  return hosts.flatMap((host) => {
    const name = host.serverName;
    const uses: PortUse[] = [
      { address: host.address, port: host.federationPort, protocol: "tcp", what: `Synapse ${name} (federation, TLS)` },
      { address: host.controlAddress, port: host.controlPort, protocol: "tcp", what: `Synapse ${name} (client, HTTP)` },
      { address: host.address, port: host.appservicePort, protocol: "tcp", what: `appservice of ${name}` },
    ];
    if (host.whisperPort !== undefined) {
      uses.push({ address: "127.0.0.1", port: host.whisperPort, protocol: "tcp", what: `Whisper server of ${name}` });
    }
    if (host.idpPort !== undefined) {
      uses.push({ address: host.address, port: host.idpPort, protocol: "tcp", what: `identity provider of ${name}` });
    }
    if (host.livekit !== undefined) {
      uses.push({ address: host.address, port: host.livekit.port, protocol: "tcp", what: `LiveKit of ${name}` });
      uses.push({ address: host.address, port: host.livekit.rtcUdpPort, protocol: "udp", what: `LiveKit of ${name} (RTC)` });
      if (host.livekit.rtcTcpPort !== 0) {
        uses.push({ address: "0.0.0.0", port: host.livekit.rtcTcpPort, protocol: "tcp", what: `LiveKit of ${name} (RTC/TCP)` });
      }
    }
    return uses;
  });
}

function isFree(use: PortUse): Promise<string | undefined> {
  return new Promise((resolve) => {
    const fail = (error: NodeJS.ErrnoException): void => resolve(error.code ?? error.message);
    if (use.protocol === "udp") {
      const socket = createSocket("udp4");
      socket.once("error", (error) => {
        socket.close();
        fail(error);
      });
      socket.bind(use.port, use.address, () => socket.close(() => resolve(undefined)));
    } else {
      const server = createServer();
      server.once("error", fail);
      server.listen({ port: use.port, host: use.address, exclusive: true }, () => server.close(() => resolve(undefined)));
    }
  });
}

// Throws one error naming every port that is taken.
export async function assertPortsFree(uses: readonly PortUse[]): Promise<void> {
  const results = await Promise.all(uses.map(async (use) => ({ use, problem: await isFree(use) })));
  const taken = results.filter((result) => result.problem !== undefined);
  if (taken.length === 0) return;
  const lines = taken.map(({ use, problem }) => `  ${use.address}:${use.port}/${use.protocol}, for ${use.what}: ${problem}`);
  throw new PortsInUseError(
    `these ports are not free:\n${lines.join("\n")}\n` +
      "Another demo may be running (stop it with Ctrl-C), or another program holds them.",
  );
}

export class PortsInUseError extends Error {
  override name = "PortsInUseError";
}
