// rtc-node's part of the transcription worker's CPU: receiving microphone tracks from LiveKit (SRTP,
// Opus decoding, resampling to 16 kHz in its native code, each frame handed to JavaScript). A LiveKit
// server of its own on free loopback ports, one process publishing 4 speakers' recorded speech in real
// time, and a receiver process that reads their frames as the worker does and measures its own CPU.
import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const TRACKS = 4;

async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

function output(child: ChildProcess): Promise<string> {
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  return new Promise((resolve, reject) =>
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${child.spawnargs.slice(1, 3).join(" ")} exited with ${code}: ${err}`)))),
  );
}

/** CPU seconds per second of audio of a process receiving TRACKS tracks, over `runs` receivers of `seconds` each. */
export async function benchRtcReceive(livekitBinary: string, runs = 3, seconds = 10): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), "visio-bench-rtc-"));
  const [port, tcpPort, udpPort] = [await freeTcpPort(), await freeTcpPort(), await freeUdpPort()];
  const apiKey = "APIbench";
  const secret = "bench-secret-bench-secret-bench-secret";
  const config = {
    port,
    bind_addresses: ["127.0.0.1"],
    rtc: { tcp_port: tcpPort, udp_port: udpPort, node_ip: "127.0.0.1", use_external_ip: false, stun_servers: ["127.0.0.1:3478"], interfaces: { includes: ["lo"] }, enable_loopback_candidate: true },
    turn: { enabled: false },
    keys: { [apiKey]: secret },
    logging: { level: "warn" },
  };
  await writeFile(join(dir, "livekit.yaml"), yaml.dump(config));
  const livekit = spawn(livekitBinary, ["--config", join(dir, "livekit.yaml")], { stdio: "ignore" });
  const url = `ws://127.0.0.1:${port}`;
  const node = (script: string, args: string[]): ChildProcess => spawn(process.execPath, [join(HERE, script), url, apiKey, secret, "bench", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let speakers: ChildProcess | undefined;
  try {
    for (let i = 0; ; i++) {
      if (await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false)) break;
      if (i > 100) throw new Error("LiveKit did not start");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    speakers = node("rtc-speakers.ts", [String(TRACKS)]);
    const speakersFailed = output(speakers);
    speakersFailed.catch(() => undefined);
    const results: number[] = [];
    for (let run = 0; run < runs; run++) {
      const line = await Promise.race([output(node("rtc-receiver.ts", [String(TRACKS), String(seconds)])), speakersFailed.then(() => Promise.reject(new Error("the speakers left")))]);
      // rtc-node logs to stdout as well: the result is the line that starts with the receiver's field.
      const result = line.split("\n").find((l) => l.startsWith('{"tracks"'));
      if (result === undefined) throw new Error(`no result from the receiver: ${line.slice(-500)}`);
      results.push((JSON.parse(result) as { cpuPerAudioSecond: number }).cpuPerAudioSecond);
    }
    return results;
  } finally {
    speakers?.kill();
    // LiveKit drains its rooms on SIGTERM, which can take long: after 5 s it is killed.
    const exited = new Promise((resolve) => livekit.once("exit", resolve));
    if (livekit.exitCode === null) {
      livekit.kill();
      const timer = setTimeout(() => livekit.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  }
}
