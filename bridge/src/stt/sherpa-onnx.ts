// sherpa-onnx (npm sherpa-onnx-node, a native addon with onnxruntime) for streaming models the operator
// provides: an online transducer (zipformer) as encoder, decoder and joiner ONNX files plus tokens.txt,
// e.g. the French and English streaming zipformers of k2-fsa. Decoding runs in this process, one
// recognizer shared by every stream, one online stream per utterance: interim results as the text
// grows, one final at the end.
// onnxruntime aborts the whole process on a model file it cannot parse (an uncaught C++ exception), so
// checkReady() first loads the model in a child process (sherpa-onnx-probe.ts) and only a model that
// loaded there is loaded here.
import { execFile } from "node:child_process";
import { access, constants, readdir, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  fixedLanguageModel,
  STT_SAMPLE_RATE,
  SttEngineError,
  SttEngineNotReadyError,
  type SttEngine,
  type SttResult,
  type SttStream,
  type SttStreamOptions,
  type SttWord,
} from "./engine.ts";

export interface SherpaOnnxOptions {
  /** Directory of the model. */
  modelDir: string;
  /** File names in modelDir (or absolute paths); found by prefix when not given. */
  encoder?: string;
  decoder?: string;
  joiner?: string;
  tokens?: string;
  /** When the directory has both, take the int8-quantised files (smaller, faster on CPU). */
  preferInt8: boolean;
  /** Language of the model, recorded in the transcript. */
  language: string;
  numThreads: number;
  decodingMethod: "greedy_search" | "modified_beam_search";
}

/** The four files of an online transducer, resolved. */
export interface SherpaOnnxModelFiles {
  encoder: string;
  decoder: string;
  joiner: string;
  tokens: string;
}

/** The subset of sherpa-onnx-node's API used here (the package ships JavaScript without types). */
export interface OnlineRecognizerResultJson {
  text: string;
  tokens: string[];
  timestamps: number[];
}
interface OnlineStreamHandle {
  acceptWaveform(wave: { samples: Float32Array; sampleRate: number }): void;
  inputFinished(): void;
}
interface OnlineRecognizerHandle {
  createStream(): OnlineStreamHandle;
  isReady(stream: OnlineStreamHandle): boolean;
  decode(stream: OnlineStreamHandle): void;
  getResult(stream: OnlineStreamHandle): OnlineRecognizerResultJson;
}
interface SherpaOnnxModule {
  OnlineRecognizer: new (config: unknown) => OnlineRecognizerHandle;
}

const require = createRequire(import.meta.url);

/** Loads the addon; throws what the loader said (missing platform package, wrong libc…). */
export function loadSherpaOnnx(): SherpaOnnxModule {
  return require("sherpa-onnx-node") as SherpaOnnxModule;
}

/** The recognizer config sherpa-onnx-node takes, from the resolved files. */
export function recognizerConfig(files: SherpaOnnxModelFiles, options: Pick<SherpaOnnxOptions, "numThreads" | "decodingMethod">): unknown {
  return {
    featConfig: { sampleRate: STT_SAMPLE_RATE, featureDim: 80 },
    modelConfig: {
      transducer: { encoder: files.encoder, decoder: files.decoder, joiner: files.joiner },
      tokens: files.tokens,
      numThreads: options.numThreads,
      provider: "cpu",
      debug: 0,
    },
    decodingMethod: options.decodingMethod,
    maxActivePaths: 4,
    // Our VAD cuts utterances; the recognizer's own endpointing would split them again.
    enableEndpoint: 0,
  };
}

const ROLES = ["encoder", "decoder", "joiner", "tokens"] as const;
type Role = (typeof ROLES)[number];
const DISCOVERY: Record<Role, RegExp> = {
  encoder: /^encoder.*\.onnx$/,
  decoder: /^decoder.*\.onnx$/,
  joiner: /^joiner.*\.onnx$/,
  tokens: /^tokens\.txt$/,
};

/** Each file named in the config, or the one file of its kind in the directory; errors name what is missing. */
export async function resolveModelFiles(options: SherpaOnnxOptions): Promise<SherpaOnnxModelFiles> {
  const dir = options.modelDir;
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) throw new SttEngineNotReadyError(`sherpa-onnx model directory ${dir} is missing (set stt.sherpa_onnx.model_dir)`);
  if (!info.isDirectory()) throw new SttEngineNotReadyError(`sherpa-onnx model directory ${dir} is not a directory`);
  const entries = await readdir(dir);
  const files: Partial<SherpaOnnxModelFiles> = {};
  for (const role of ROLES) {
    const named = options[role];
    let path: string;
    if (named !== undefined) {
      path = isAbsolute(named) ? named : join(dir, named);
    } else {
      const candidates = entries.filter((e) => DISCOVERY[role].test(e)).sort();
      const preferred = candidates.filter((e) => e.includes(".int8.") === options.preferInt8);
      const pick = preferred.length > 0 ? preferred : candidates;
      if (pick.length === 0) {
        throw new SttEngineNotReadyError(
          `sherpa-onnx model in ${dir} has no ${role} file (${role === "tokens" ? "tokens.txt" : `${role}*.onnx`}); an online transducer needs encoder, decoder, joiner and tokens.txt (or set stt.sherpa_onnx.${role})`,
        );
      }
      if (pick.length > 1) {
        throw new SttEngineNotReadyError(`sherpa-onnx model in ${dir} has several ${role} files (${pick.join(", ")}): set stt.sherpa_onnx.${role}`);
      }
      path = join(dir, pick[0]!);
    }
    const file = await stat(path).catch(() => undefined);
    if (file === undefined || !file.isFile()) throw new SttEngineNotReadyError(`sherpa-onnx ${role} file ${path} is missing`);
    try {
      await access(path, constants.R_OK);
    } catch {
      throw new SttEngineNotReadyError(`sherpa-onnx ${role} file ${path} is not readable`);
    }
    if (file.size === 0) throw new SttEngineNotReadyError(`sherpa-onnx ${role} file ${path} is empty`);
    files[role] = path;
  }
  return files as SherpaOnnxModelFiles;
}

const PROBE = fileURLToPath(new URL("./sherpa-onnx-probe.ts", import.meta.url));

/** Loads the model in a child process and decodes a little silence there; rejects with sherpa-onnx's own words. */
async function probeModel(config: unknown): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    // The parent's own flags for running TypeScript (when Node needs them) go to the child too.
    const flags = process.execArgv.filter((a) => /strip-types|transform-types|no-warnings/.test(a));
    execFile(process.execPath, [...flags, PROBE, JSON.stringify(config)], { timeout: 120_000, maxBuffer: 1 << 20 }, (err, _stdout, stderr) => {
      if (err === null) return resolve();
      reject(new SttEngineNotReadyError(`sherpa-onnx cannot load the model: ${explain(stderr) || err.message}`));
    });
  });
}

/** sherpa-onnx's and onnxruntime's error lines, without the C++ file prefixes. */
function explain(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/^(at |node:|Node\.js v)/.test(l) && !/^\^/.test(l))
    .map((l) => l.replace(/^\/\S+:\S+:\d+ /, "").replace(/^what\(\):\s*/, ""));
  const meaningful = lines.filter((l) => !/^terminate called/.test(l) && !/Errors in config!$/.test(l));
  return (meaningful.length > 0 ? meaningful : lines).slice(0, 3).join(" | ");
}

export class SherpaOnnxEngine implements SttEngine {
  readonly name = "sherpa-onnx";
  readonly language: string;
  #options: SherpaOnnxOptions;
  #ready: Promise<OnlineRecognizerHandle> | undefined;
  /** Set once loaded, so that streams start decoding at their first write. */
  #loaded: OnlineRecognizerHandle | undefined;

  constructor(options: SherpaOnnxOptions) {
    this.#options = options;
    this.language = options.language;
  }

  async checkReady(): Promise<void> {
    await this.#recognizer();
  }

  modelFor(language: string): string {
    return fixedLanguageModel("sherpa-onnx", basename(this.#options.modelDir), this.language, language);
  }

  start(options: SttStreamOptions): SttStream {
    return new SherpaOnnxStream(this.#loaded ?? this.#recognizer(), options.onResult);
  }

  /** Files checked, addon loaded, model probed in a child, then loaded here; once. */
  #recognizer(): Promise<OnlineRecognizerHandle> {
    this.#ready ??= (async () => {
      const files = await resolveModelFiles(this.#options);
      let sherpa: SherpaOnnxModule;
      try {
        sherpa = loadSherpaOnnx();
      } catch (err) {
        throw new SttEngineNotReadyError(`the sherpa-onnx-node native addon cannot be loaded: ${(err as Error).message}`);
      }
      const config = recognizerConfig(files, this.#options);
      await probeModel(config);
      try {
        this.#loaded = new sherpa.OnlineRecognizer(config);
        return this.#loaded;
      } catch (err) {
        throw new SttEngineNotReadyError(`sherpa-onnx cannot load the model: ${(err as Error).message}`);
      }
    })();
    // A failed check may be fixed by the operator (a file copied in): the next call tries again.
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }
}

/** Trailing silence fed before the end, so that the model's right context sees the last words. */
const TAIL_PADDING_SAMPLES = STT_SAMPLE_RATE / 2;

class SherpaOnnxStream implements SttStream {
  #onResult: (result: SttResult) => void;
  #recognizer: OnlineRecognizerHandle | undefined;
  #stream: OnlineStreamHandle | undefined;
  #waiting: Int16Array[] = [];
  #ready: Promise<void>;
  #failure: Error | undefined;
  #samples = 0;
  #lastText = "";
  #aborted = false;

  constructor(recognizer: OnlineRecognizerHandle | Promise<OnlineRecognizerHandle>, onResult: (result: SttResult) => void) {
    this.#onResult = onResult;
    const use = (r: OnlineRecognizerHandle): void => {
      this.#recognizer = r;
      this.#stream = r.createStream();
      for (const pcm of this.#waiting) this.#feed(pcm);
      this.#waiting = [];
    };
    if (recognizer instanceof Promise) {
      this.#ready = recognizer.then(use, (err: Error) => {
        this.#failure = err;
      });
    } else {
      use(recognizer);
      this.#ready = Promise.resolve();
    }
  }

  write(pcm: Int16Array): void {
    if (this.#aborted || this.#failure !== undefined) return;
    if (this.#stream === undefined) this.#waiting.push(pcm.slice());
    else this.#feed(pcm);
  }

  async end(): Promise<void> {
    await this.#ready;
    if (this.#aborted) return;
    if (this.#failure !== undefined) throw this.#failure;
    const recognizer = this.#recognizer!;
    const stream = this.#stream!;
    try {
      stream.acceptWaveform({ samples: new Float32Array(TAIL_PADDING_SAMPLES), sampleRate: STT_SAMPLE_RATE });
      stream.inputFinished();
      while (recognizer.isReady(stream)) recognizer.decode(stream);
      const result = this.#result(recognizer.getResult(stream), true);
      if (result !== undefined) this.#onResult(result);
    } catch (err) {
      throw new SttEngineError(`sherpa-onnx failed to decode: ${(err as Error).message}`);
    }
  }

  abort(): void {
    this.#aborted = true;
  }

  #feed(pcm: Int16Array): void {
    const recognizer = this.#recognizer!;
    const stream = this.#stream!;
    const samples = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i]! / 32768;
    this.#samples += pcm.length;
    try {
      stream.acceptWaveform({ samples, sampleRate: STT_SAMPLE_RATE });
      while (recognizer.isReady(stream)) recognizer.decode(stream);
      const raw = recognizer.getResult(stream);
      if (raw.text.trim() !== this.#lastText) {
        const interim = this.#result(raw, false);
        if (interim !== undefined) this.#onResult(interim);
      }
    } catch (err) {
      this.#failure = new SttEngineError(`sherpa-onnx failed to decode: ${(err as Error).message}`);
    }
  }

  #result(raw: OnlineRecognizerResultJson, final: boolean): SttResult | undefined {
    const text = raw.text.trim();
    this.#lastText = text;
    if (text === "") return undefined;
    const durationMs = Math.round((this.#samples * 1000) / STT_SAMPLE_RATE);
    const words = wordsFromTokens(raw, durationMs);
    const result: SttResult = {
      text,
      startMs: words[0]?.startMs ?? 0,
      endMs: words.at(-1)?.endMs ?? durationMs,
      final,
    };
    if (words.length > 0) result.words = words;
    return result;
  }
}

/** A transducer gives token start times only: a word is taken to last this long after its last token. */
const WORD_TAIL_MS = 240;

/**
 * Words from BPE tokens: a token starting with "▁" (SentencePiece) or a space begins a word. A word
 * ends WORD_TAIL_MS after its last token, never after the next word's start or the audio's end.
 */
export function wordsFromTokens(raw: OnlineRecognizerResultJson, durationMs: number): SttWord[] {
  const words: (SttWord & { lastTokenMs: number })[] = [];
  raw.tokens.forEach((token, i) => {
    const at = Math.min(durationMs, Math.round((raw.timestamps[i] ?? 0) * 1000));
    const piece = token.replace(/^[▁ ]+/, "");
    const current = words.at(-1);
    if (/^[▁ ]/.test(token) || current === undefined) {
      words.push({ text: piece, startMs: at, endMs: at, lastTokenMs: at });
    } else {
      current.text += piece;
      current.lastTokenMs = at;
    }
  });
  return words
    .map((w, i) => {
      const limit = words[i + 1]?.startMs ?? durationMs;
      return { text: w.text, startMs: w.startMs, endMs: Math.max(w.startMs, Math.min(limit, w.lastTokenMs + WORD_TAIL_MS)) };
    })
    .filter((w) => w.text !== "");
}
