// A ministry's Whisper server (bridge/whisper-server/server.py, faster-whisper on CPU): the default
// speech-to-text engine of its transcription workers, on the loopback of the ministry's namespace
// (or of this machine), where the workers beside it reach it.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Host } from "./network.ts";
import type { ManagedProcess, ProcessGroup } from "./processes.ts";
import { waitUntil } from "./wait.ts";

const SERVER = fileURLToPath(new URL("../../bridge/whisper-server/server.py", import.meta.url));
// Loading tiny.en and base takes a few seconds; much longer on a machine busy starting everything else.
const STARTUP_TIMEOUT_MS = 120_000;

export interface WhisperServerOnHost {
  /** What a worker on the same host (namespace) uses. */
  url: string;
  /** The English default, tiny.en. */
  model: string;
  /** Every model the server serves (tiny.en, and the multilingual base when installed), as it said at start. */
  models: string[];
  process: ManagedProcess;
  /** Starts it again after a stop or a crash (same port, same log). */
  restart(): Promise<WhisperServerOnHost>;
}

/** The models named on the server's last "serving ..." line, e.g. "serving tiny.en (English only), base (multilingual)". */
function servedModels(log: string): string[] {
  const line = [...log.matchAll(/^serving (.*)$/gm)].at(-1)?.[1] ?? "";
  return [...line.matchAll(/([^\s,]+) \((?:multilingual|English only)\)/g)].map((m) => m[1]!);
}

export async function startWhisperOnHost(options: {
  python: string;
  host: Host;
  processes: ProcessGroup;
  /** `--model-dir` values, `NAME=DIR` or `DIR`; by default the installed models. */
  modelDirs?: string[];
}): Promise<WhisperServerOnHost> {
  const { host, processes, python } = options;
  const modelArgs = (options.modelDirs ?? []).flatMap((dir) => ["--model-dir", dir]);
  if (host.whisperPort === undefined) throw new Error(`${host.serverName} has no Whisper port`);
  const port = host.whisperPort;
  const name = `whisper-${host.serverName.replaceAll(":", "-")}`;
  const child = processes.spawnOn(host.namespace, name, python, [
    SERVER,
    "--host",
    "127.0.0.1",
    "--port",
    String(port),
    "--threads",
    "1",
    ...modelArgs,
  ]);
  const logged = async (): Promise<string> => readFile(child.logPath, "utf8").catch(() => "");
  const before = (await logged()).split("listening on").length;
  await waitUntil(`Whisper server of ${host.serverName}`, async () => (await logged()).split("listening on").length > before, {
    timeoutMs: STARTUP_TIMEOUT_MS,
    intervalMs: 200,
    abortIf: child.exitDescription,
    hint: `see ${child.logPath}`,
  });
  return {
    url: `http://127.0.0.1:${port}`,
    model: "tiny.en",
    models: servedModels(await logged()),
    process: child,
    restart: () => startWhisperOnHost(options),
  };
}
