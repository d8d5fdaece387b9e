// Any server speaking OpenAI's `POST /v1/audio/transcriptions` (faster-whisper-server/speaches,
// WhisperX servers, vLLM, LocalAI): the audio of one stream goes as one WAV file when the stream ends,
// so with the VAD cutting streams per utterance this is one request per utterance, final results only.
import { encodeWav } from "../audio/wav.ts";
import {
  STT_SAMPLE_RATE,
  SttEngineError,
  SttEngineNotReadyError,
  type SttEngine,
  type SttResult,
  type SttStream,
  type SttStreamOptions,
  type SttWord,
} from "./engine.ts";

export interface OpenAiCompatibleOptions {
  /** Base URL; `/v1/audio/transcriptions` is appended. */
  url: string;
  model: string;
  apiKey?: string;
  /** Sent with every request when set; otherwise the server detects the language. */
  language?: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** The parts of a `verbose_json` answer we read; servers differ in what else they add. */
interface VerboseTranscription {
  text?: unknown;
  language?: unknown;
  segments?: { start?: unknown; end?: unknown; text?: unknown }[];
  words?: { word?: unknown; start?: unknown; end?: unknown; probability?: unknown }[];
}

function endpoint(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}${path}`;
}

function seconds(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? Math.round(value * 1000) : undefined;
}

/** What the server said went wrong: OpenAI's `{error: {message}}`, FastAPI's `{detail}`, or the raw text. */
async function errorText(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; detail?: unknown };
    const message = typeof body.error === "string" ? body.error : body.error?.message ?? body.detail;
    if (typeof message === "string") return message;
  } catch {
    // not JSON: the text itself is the best explanation
  }
  return text.slice(0, 200);
}

export class OpenAiCompatibleEngine implements SttEngine {
  readonly name = "openai";
  readonly language: string | undefined;
  #options: OpenAiCompatibleOptions;
  #fetch: typeof fetch;

  constructor(options: OpenAiCompatibleOptions) {
    this.#options = options;
    this.language = options.language;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /** Asks `/v1/models`: the server must answer, and list the model when it lists models at all. */
  async checkReady(): Promise<void> {
    const url = endpoint(this.#options.url, "/v1/models");
    let response: Response;
    try {
      response = await this.#fetch(url, { headers: this.#headers(), signal: AbortSignal.timeout(this.#options.timeoutMs) });
    } catch (err) {
      throw new SttEngineNotReadyError(`speech-to-text server ${this.#options.url} unreachable: ${(err as Error).message}`);
    }
    if (response.status === 401 || response.status === 403) {
      throw new SttEngineNotReadyError(`speech-to-text server ${this.#options.url} refused the API key (${response.status})`);
    }
    // Some servers only implement the transcription endpoint; reaching them is all we can check.
    if (!response.ok) return;
    const body = (await response.json().catch(() => undefined)) as { data?: { id?: unknown }[] } | undefined;
    const ids = (body?.data ?? []).map((m) => m.id).filter((id): id is string => typeof id === "string");
    if (ids.length > 0 && !ids.includes(this.#options.model)) {
      throw new SttEngineNotReadyError(
        `speech-to-text server ${this.#options.url} does not serve model ${this.#options.model} (it serves: ${ids.join(", ")})`,
      );
    }
  }

  start(options: SttStreamOptions): SttStream {
    const chunks: Int16Array[] = [];
    let samples = 0;
    const controller = new AbortController();
    return {
      write(pcm: Int16Array): void {
        chunks.push(pcm.slice());
        samples += pcm.length;
      },
      end: async (): Promise<void> => {
        if (samples === 0 || controller.signal.aborted) return;
        const pcm = new Int16Array(samples);
        let at = 0;
        for (const chunk of chunks) {
          pcm.set(chunk, at);
          at += chunk.length;
        }
        const result = await this.#transcribe(pcm, options.language ?? this.#options.language, controller.signal);
        if (result !== undefined && !controller.signal.aborted) options.onResult(result);
      },
      abort(): void {
        controller.abort();
      },
    };
  }

  #headers(): Record<string, string> {
    return this.#options.apiKey === undefined ? {} : { authorization: `Bearer ${this.#options.apiKey}` };
  }

  async #transcribe(pcm: Int16Array, language: string | undefined, signal: AbortSignal): Promise<SttResult | undefined> {
    const form = new FormData();
    form.append("file", new Blob([encodeWav(pcm, STT_SAMPLE_RATE)], { type: "audio/wav" }), "utterance.wav");
    form.append("model", this.#options.model);
    form.append("response_format", "verbose_json");
    form.append("timestamp_granularities[]", "segment");
    form.append("timestamp_granularities[]", "word");
    // Whisper wants ISO 639-1 ("fr"), not a region.
    if (language !== undefined) form.append("language", language.split("-")[0] ?? language);
    const url = endpoint(this.#options.url, "/v1/audio/transcriptions");
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method: "POST",
        body: form,
        headers: this.#headers(),
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.#options.timeoutMs)]),
      });
    } catch (err) {
      if (signal.aborted) return undefined;
      throw new SttEngineError(`transcription request to ${this.#options.url} failed: ${(err as Error).message}`);
    }
    if (!response.ok) {
      throw new SttEngineError(`transcription server answered ${response.status}: ${await errorText(response)}`);
    }
    let body: VerboseTranscription;
    try {
      body = (await response.json()) as VerboseTranscription;
    } catch {
      throw new SttEngineError("transcription server answered something that is not JSON");
    }
    const text = typeof body.text === "string" ? body.text.trim() : "";
    if (text === "") return undefined;
    const durationMs = Math.round((pcm.length * 1000) / STT_SAMPLE_RATE);
    const words: SttWord[] = [];
    for (const w of body.words ?? []) {
      const startMs = seconds(w.start);
      const endMs = seconds(w.end);
      if (typeof w.word !== "string" || startMs === undefined || endMs === undefined) continue;
      const word: SttWord = { text: w.word.trim(), startMs, endMs };
      if (typeof w.probability === "number") word.confidence = w.probability;
      words.push(word);
    }
    const segments = body.segments ?? [];
    const startMs = words[0]?.startMs ?? seconds(segments[0]?.start) ?? 0;
    const endMs = words.at(-1)?.endMs ?? seconds(segments.at(-1)?.end) ?? durationMs;
    const result: SttResult = { text, startMs: Math.min(startMs, durationMs), endMs: Math.min(endMs, durationMs), final: true };
    if (words.length > 0) result.words = words;
    return result;
  }
}
