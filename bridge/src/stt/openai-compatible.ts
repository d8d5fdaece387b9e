// Any server speaking OpenAI's `POST /v1/audio/transcriptions` (Visio's Whisper server, faster-whisper-
// server/speaches, WhisperX servers, vLLM, LocalAI): the audio of one stream goes as one WAV file when
// the stream ends, so with the VAD cutting streams per utterance this is one request per utterance for
// its final result. While the utterance grows, it is decoded again every `interimIntervalMs` of new
// audio; the words two decodings in a row agree on are stable enough to show as interim text (Whisper
// revises its last words as it hears more: showing only agreed words keeps subtitles from flickering).
// Interim requests carry `interim=true`: Visio's Whisper server then decodes them quickly (a shorter
// window, text only); other servers ignore the field and decode them in full. All streams of the engine
// share one InterimScheduler: interim decodings wait while a final one is decoded, and thin out when
// the server falls behind, before any final waits for them.
import { encodeWav } from "../audio/wav.ts";
import {
  languageCode,
  STT_SAMPLE_RATE,
  SttEngineError,
  SttEngineNotReadyError,
  type SttEngine,
  type SttResult,
  type SttStream,
  type SttStreamOptions,
  type SttWord,
} from "./engine.ts";
import { InterimScheduler } from "./interim-scheduler.ts";

export interface OpenAiCompatibleOptions {
  /** Base URL; `/v1/audio/transcriptions` is appended. */
  url: string;
  /**
   * Models the server serves, in order of preference: each stream goes to the first that covers its
   * language (an English-only `.en` model first for English, a multilingual one for the others).
   */
  models: readonly string[];
  apiKey?: string;
  /** Sent with every request when set; otherwise the server detects the language. */
  language?: string;
  timeoutMs: number;
  /** Re-decode the growing utterance after this much new audio, for interim results; 0 or unset: finals only. */
  interimIntervalMs?: number;
  /** Interim decodings at once, all streams together (default 1); finals are never held back. */
  maxInterimInFlight?: number;
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

/**
 * Languages of a model as its name tells them when the server does not: Whisper's `.en` models are
 * English only; undefined (any language) otherwise.
 */
function languagesByName(model: string): string[] | undefined {
  return /\.en$/i.test(model) ? ["en"] : undefined;
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
  /** Languages of each model: as the server lists them (Visio's Whisper server does), else by name. */
  #languages = new Map<string, string[] | undefined>();
  /** When each stream's interim decoding may run: after the finals, a few at a time. */
  readonly interims: InterimScheduler;

  constructor(options: OpenAiCompatibleOptions) {
    this.#options = options;
    this.interims = new InterimScheduler({ maxInFlight: options.maxInterimInFlight ?? 1 });
    this.language = options.language;
    this.#fetch = options.fetch ?? globalThis.fetch;
    if (options.models.length === 0) throw new Error("OpenAiCompatibleEngine: at least one model");
    for (const model of options.models) this.#languages.set(model, languagesByName(model));
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
    const missing = this.#options.models.filter((model) => ids.length > 0 && !ids.includes(model));
    if (missing.length > 0) {
      throw new SttEngineNotReadyError(
        `speech-to-text server ${this.#options.url} does not serve model ${missing.join(", ")} (it serves: ${ids.join(", ")})`,
      );
    }
    for (const model of this.#options.models) {
      this.#languages.set(model, languagesOf(models.find((m) => m.id === model)) ?? languagesByName(model));
    }
    if (this.#options.language !== undefined) this.modelFor(this.#options.language);
  }

  /**
   * The first configured model that covers `language`; for "und" (detect), the first that is not
   * English-only. Throws SttEngineNotReadyError naming each model's languages when none does.
   */
  modelFor(language: string): string {
    const models = this.#options.models;
    const covers = (model: string): boolean => {
      const known = this.#languages.get(model);
      return known === undefined || (language === "und" ? known.length > 1 : known.includes(languageCode(language)));
    };
    const found = models.find(covers) ?? (language === "und" ? models[0] : undefined);
    if (found !== undefined) return found;
    const described = models.map((m) => `${m}: ${(this.#languages.get(m) ?? []).join(", ")}`).join("; ");
    throw new SttEngineNotReadyError(
      `no configured Whisper model transcribes language ${language} (${described}); add a multilingual model to stt.openai.models`,
    );
  }

  start(options: SttStreamOptions): SttStream {
    const chunks: Int16Array[] = [];
    let samples = 0;
    let ended = false;
    const controller = new AbortController();
    const language = options.language ?? this.#options.language;
    // No model for the language: the stream hears nothing and its end says why (jobs check it first).
    let model = "";
    let refusal: Error | undefined;
    try {
      model = this.modelFor(language ?? "und");
    } catch (err) {
      refusal = err as Error;
    }
    const interimSamples = Math.round(((this.#options.interimIntervalMs ?? 0) * STT_SAMPLE_RATE) / 1000);
    let decodedUpTo = 0;
    // This stream's interim decoding: none due, waiting for its turn (withdrawn if the utterance ends
    // first), or running.
    let interimState: "idle" | "waiting" | "running" = "idle";
    let withdrawInterim = (): void => undefined;
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
    // Runs when the scheduler gives this stream its turn, on the audio so far; its answer counts only
    // while the utterance is still open.
    const decodeInterim = async (): Promise<void> => {
      interimState = "running";
      decodedUpTo = samples;
      try {
        const result = await this.#transcribe(audio(), model, language, controller.signal, false);
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
      } finally {
        interimState = "idle";
        requestInterimIfDue();
      }
    };
    // Due after interimSamples of new audio; asked again as soon as the last one is done.
    const requestInterimIfDue = (): void => {
      if (interimSamples > 0 && !ended && interimState === "idle" && samples - decodedUpTo >= interimSamples) {
        interimState = "waiting";
        withdrawInterim = this.interims.request(decodeInterim);
      }
    };
    return {
      write: (pcm: Int16Array): void => {
        if (refusal !== undefined) return;
        chunks.push(pcm.slice());
        samples += pcm.length;
        requestInterimIfDue();
      },
      end: async (): Promise<void> => {
        ended = true;
        withdrawInterim();
        if (refusal !== undefined) throw refusal;
        if (samples === 0 || controller.signal.aborted) return;
        const pcm = audio();
        const result = await this.interims.final(() => this.#transcribe(pcm, model, language, controller.signal, true));
        if (result !== undefined && !controller.signal.aborted) options.onResult(result);
      },
      abort(): void {
        withdrawInterim();
        controller.abort();
      },
    };
  }

  #headers(): Record<string, string> {
    return this.#options.apiKey === undefined ? {} : { authorization: `Bearer ${this.#options.apiKey}` };
  }

  async #transcribe(pcm: Int16Array, model: string, language: string | undefined, signal: AbortSignal, final: boolean): Promise<SttResult | undefined> {
    const form = new FormData();
    form.append("file", new Blob([encodeWav(pcm, STT_SAMPLE_RATE)], { type: "audio/wav" }), "utterance.wav");
    form.append("model", model);
    form.append("response_format", "verbose_json");
    form.append("timestamp_granularities[]", "segment");
    if (final) form.append("timestamp_granularities[]", "word");
    else form.append("interim", "true");
    // Whisper wants ISO 639-1 ("fr"), not a region.
    if (language !== undefined && language !== "und") form.append("language", languageCode(language));
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
