// Any server speaking OpenAI's `POST /v1/audio/transcriptions` (Visio's Whisper server, faster-whisper-
// server/speaches, WhisperX servers, vLLM, LocalAI): the audio of one stream goes as one WAV file when
// the stream ends, so with the VAD cutting streams per utterance this is one request per utterance for
// its final result. While the utterance grows, it is decoded again every `interimIntervalMs` of new
// audio; the words two decodings in a row agree on are stable enough to show as interim text (Whisper
// revises its last words as it hears more: showing only agreed words keeps subtitles from flickering).
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
  /** Re-decode the growing utterance after this much new audio, for interim results; 0 or unset: finals only. */
  interimIntervalMs?: number;
  fetch?: typeof fetch;
}

/** Words compared as a listener reads them: case and punctuation aside. */
const wordKey = (word: string): string => word.toLowerCase().replace(/[^\p{L}\p{N}']/gu, "");

/**
 * The words of `current` that are stable: those it shares, from the start, with the previous
 * decoding; of a first decoding, all but its last word (the one most likely to change).
 */
export function stableWords(previous: readonly string[] | undefined, current: readonly string[]): string[] {
  if (previous === undefined) return current.slice(0, -1);
  let n = 0;
  while (n < previous.length && n < current.length && wordKey(previous[n] ?? "") === wordKey(current[n] ?? "")) n++;
  return current.slice(0, n);
}

/** The parts of a `verbose_json` answer we read; servers differ in what else they add. */
interface VerboseTranscription {
  text?: unknown;
  language?: unknown;
  segments?: { start?: unknown; end?: unknown; text?: unknown }[];
  words?: { word?: unknown; start?: unknown; end?: unknown; probability?: unknown }[];
}

/** A `/v1/models` entry; `languages` is an extension of Visio's Whisper server. */
interface ServedModel {
  id?: unknown;
  languages?: unknown;
}

function languagesOf(model: ServedModel | undefined): string[] | undefined {
  const list = model?.languages;
  return Array.isArray(list) && list.length > 0 && list.every((l) => typeof l === "string") ? (list as string[]) : undefined;
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
  /** Languages of the model, when the server lists them (Visio's Whisper server does). */
  #languages: string[] | undefined;

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
      throw new SttEngineNotReadyError(
        `speech-to-text server ${this.#options.url} unreachable: ${(err as Error).message} (Visio's Whisper server starts with \`npm run whisper-server\`)`,
      );
    }
    if (response.status === 401 || response.status === 403) {
      throw new SttEngineNotReadyError(`speech-to-text server ${this.#options.url} refused the API key (${response.status})`);
    }
    // Some servers only implement the transcription endpoint; reaching them is all we can check.
    if (!response.ok) return;
    const body = (await response.json().catch(() => undefined)) as { data?: ServedModel[] } | undefined;
    const models = body?.data ?? [];
    const ids = models.map((m) => m.id).filter((id): id is string => typeof id === "string");
    if (ids.length > 0 && !ids.includes(this.#options.model)) {
      throw new SttEngineNotReadyError(
        `speech-to-text server ${this.#options.url} does not serve model ${this.#options.model} (it serves: ${ids.join(", ")})`,
      );
    }
    this.#languages = languagesOf(models.find((m) => m.id === this.#options.model));
    this.checkLanguage(this.#options.language);
  }

  /**
   * Throws SttEngineNotReadyError when the server said which languages the model knows and `language`
   * is not one of them (an English-only `.en` model asked for French).
   */
  checkLanguage(language: string | undefined): void {
    const known = this.#languages;
    if (language === undefined || known === undefined) return;
    const code = language.split("-")[0]?.toLowerCase() ?? language;
    if (!known.includes(code)) {
      throw new SttEngineNotReadyError(
        `model ${this.#options.model} does not transcribe language ${language} (it does: ${known.join(", ")}); configure a multilingual Whisper model for it`,
      );
    }
  }

  start(options: SttStreamOptions): SttStream {
    const chunks: Int16Array[] = [];
    let samples = 0;
    let ended = false;
    const controller = new AbortController();
    const language = options.language ?? this.#options.language;
    const interimSamples = Math.round(((this.#options.interimIntervalMs ?? 0) * STT_SAMPLE_RATE) / 1000);
    let decodedUpTo = 0;
    let interimInFlight = false;
    let previous: string[] | undefined;
    let shownWords = 0;
    const audio = (): Int16Array => {
      const pcm = new Int16Array(samples);
      let at = 0;
      for (const chunk of chunks) {
        pcm.set(chunk, at);
        at += chunk.length;
      }
      return pcm;
    };
    // One interim decoding at a time; its answer counts only while the utterance is still open.
    const decodeInterim = (): void => {
      interimInFlight = true;
      decodedUpTo = samples;
      this.#transcribe(audio(), language, controller.signal, false).then(
        (result) => {
          if (ended || controller.signal.aborted || result === undefined) return;
          const words = result.text.split(/\s+/).filter((w) => w !== "");
          const stable = stableWords(previous, words);
          previous = words;
          if (stable.length <= shownWords) return;
          shownWords = stable.length;
          const shown = result.words?.slice(0, stable.length);
          const interim: SttResult = { text: stable.join(" "), startMs: result.startMs, endMs: shown?.at(-1)?.endMs ?? result.endMs, final: false };
          if (shown !== undefined && shown.length === stable.length) interim.words = shown;
          options.onResult(interim);
        },
        // An interim decoding that fails shows nothing; the final one reports the failure.
        () => undefined,
      ).finally(() => {
        interimInFlight = false;
      });
    };
    return {
      write(pcm: Int16Array): void {
        chunks.push(pcm.slice());
        samples += pcm.length;
        if (interimSamples > 0 && !ended && !interimInFlight && samples - decodedUpTo >= interimSamples) decodeInterim();
      },
      end: async (): Promise<void> => {
        ended = true;
        if (samples === 0 || controller.signal.aborted) return;
        const result = await this.#transcribe(audio(), language, controller.signal, true);
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

  async #transcribe(pcm: Int16Array, language: string | undefined, signal: AbortSignal, final: boolean): Promise<SttResult | undefined> {
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
    const result: SttResult = { text, startMs: Math.min(startMs, durationMs), endMs: Math.min(endMs, durationMs), final };
    if (words.length > 0) result.words = words;
    return result;
  }
}
