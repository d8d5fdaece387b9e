// PocketSphinx through Debian's `pocketsphinx_continuous` (package pocketsphinx, 0.8+5prealpha), one
// process per stream reading raw 16 kHz s16le from stdin. Debian 12 ships no `pocketsphinx` CLI and
// no Node binding, and a process per stream also isolates a crash of the decoder.
// The decoder fopen()s its input, and Node's child stdin is a socket, which /dev/stdin cannot open:
// `cat` in a shell pipeline gives it a real pipe.
import { spawn } from "node:child_process";
import { access, constants, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { fixedLanguageModel, SttEngineError, SttEngineNotReadyError, type SttEngine, type SttStream, type SttStreamOptions } from "./engine.ts";
import { PocketSphinxOutputParser } from "./pocketsphinx-output.ts";

export interface PocketSphinxOptions {
  /** The decoder binary, a name looked up in PATH or a path. */
  binary: string;
  /** Acoustic model directory (-hmm). */
  hmm: string;
  /** Language model (-lm), ARPA or binary. */
  lm: string;
  /** Pronunciation dictionary (-dict). */
  dict: string;
  /** Language of the model, recorded in the transcript. */
  language: string;
}

/** The paths of a model laid out like Debian's pocketsphinx-en-us, from its directory. */
export function pocketSphinxModelPaths(modelDir: string): Pick<PocketSphinxOptions, "hmm" | "lm" | "dict"> {
  return {
    hmm: join(modelDir, "en-us"),
    lm: join(modelDir, "en-us.lm.bin"),
    dict: join(modelDir, "cmudict-en-us.dict"),
  };
}

const STDERR_KEPT_BYTES = 4096;

export class PocketSphinxEngine implements SttEngine {
  readonly name = "pocketsphinx";
  readonly language: string;
  #options: PocketSphinxOptions;

  constructor(options: PocketSphinxOptions) {
    this.#options = options;
    this.language = options.language;
  }

  modelFor(language: string): string {
    return fixedLanguageModel("PocketSphinx", basename(this.#options.hmm), this.language, language);
  }

  async checkReady(): Promise<void> {
    const { hmm, lm, dict } = this.#options;
    const hint = "(Debian package pocketsphinx-en-us, or set the model path in the configuration)";
    await requirePath(hmm, "directory", `PocketSphinx acoustic model directory ${hmm}`, hint);
    await requirePath(join(hmm, "mdef"), "file", `PocketSphinx acoustic model ${hmm} is incomplete: ${join(hmm, "mdef")}`, hint);
    await requirePath(lm, "file", `PocketSphinx language model ${lm}`, hint);
    await requirePath(dict, "file", `PocketSphinx dictionary ${dict}`, hint);
    // Loading the model for real is the only way to know it is not broken; 0.1 s of silence is enough.
    const stream = this.start({ onResult: () => {} });
    stream.write(new Int16Array(1600));
    try {
      await stream.end();
    } catch (err) {
      if (err instanceof SttEngineNotReadyError) throw err;
      throw new SttEngineNotReadyError(`PocketSphinx cannot load its model: ${(err as Error).message}`);
    }
  }

  start(options: SttStreamOptions): SttStream {
    const { binary, hmm, lm, dict } = this.#options;
    const args = ["-infile", "/dev/stdin", "-time", "yes", "-hmm", hmm, "-lm", lm, "-dict", dict];
    const child = spawn("sh", ["-c", 'cat | "$0" "$@"', binary, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    const parser = new PocketSphinxOutputParser(options.onResult);
    let stderrTail = "";
    let stdoutRest = "";
    let aborted = false;
    let failure: Error | undefined;

    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      const lines = (stdoutRest + chunk).split("\n");
      stdoutRest = lines.pop() ?? "";
      for (const line of lines) parser.pushLine(line);
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-STDERR_KEPT_BYTES);
    });
    // A decoder that died makes writes fail with EPIPE; the exit status tells the real story.
    child.stdin.on("error", () => {});

    const exited = new Promise<void>((resolve) => {
      child.on("error", (err) => {
        failure = new SttEngineError(`cannot run ${binary} through sh: ${err.message}`);
        resolve();
      });
      child.on("close", (code, signal) => {
        if (stdoutRest !== "") parser.pushLine(stdoutRest);
        parser.finish();
        if (failure === undefined && !aborted) {
          // sh answers 127 (not found) and 126 (not executable) for the decoder itself.
          if (code === 127 || code === 126) {
            failure = new SttEngineNotReadyError(
              `PocketSphinx decoder ${binary} not found or not executable (Debian package pocketsphinx)`,
            );
          } else if (code !== 0) {
            failure = new SttEngineError(`${binary} exited with ${code ?? signal}: ${lastErrors(stderrTail)}`);
          }
        }
        resolve();
      });
    });

    return {
      write(pcm: Int16Array): void {
        if (aborted || failure !== undefined || child.stdin.destroyed) return;
        child.stdin.write(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
      },
      async end(): Promise<void> {
        child.stdin.end();
        await exited;
        if (failure !== undefined) throw failure;
      },
      abort(): void {
        aborted = true;
        // Closing the input ends cat, then the decoder; killing sh alone would leave them running.
        child.stdin.destroy();
        child.kill("SIGKILL");
      },
    };
  }
}

async function requirePath(path: string, kind: "file" | "directory", what: string, hint: string): Promise<void> {
  try {
    const info = await stat(path);
    if (kind === "directory" ? !info.isDirectory() : !info.isFile()) {
      throw new SttEngineNotReadyError(`${what} is not a ${kind} ${hint}`);
    }
    await access(path, constants.R_OK);
  } catch (err) {
    if (err instanceof SttEngineNotReadyError) throw err;
    throw new SttEngineNotReadyError(`${what} is missing ${hint}`);
  }
}

/** The decoder logs a lot at INFO level; its ERROR lines are what explains a failure. */
function lastErrors(stderr: string): string {
  const errors = stderr.split("\n").filter((line) => /^(ERROR|FATAL)/.test(line));
  return (errors.length > 0 ? errors.slice(-3) : stderr.split("\n").filter((l) => l.trim() !== "").slice(-2)).join(" | ");
}
