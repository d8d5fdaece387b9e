// The one interface every speech-to-text engine implements, so that the live bridge and the recording
// CLI pick an engine by configuration and treat them all alike.

/** Every engine takes this: 16 kHz, mono, signed 16-bit samples (what the VAD and LiveKit give us). */
export const STT_SAMPLE_RATE = 16_000;

export interface SttWord {
  text: string;
  /** Milliseconds from the first sample written to the stream. */
  startMs: number;
  endMs: number;
  /** 0..1 where the engine gives one. */
  confidence?: number;
}

/**
 * What an engine recognised. Interim results may be replaced by later ones covering the same audio;
 * a final result is never revised, and the next result starts after it.
 */
export interface SttResult {
  text: string;
  /** Milliseconds from the first sample written to the stream. */
  startMs: number;
  endMs: number;
  final: boolean;
  words?: SttWord[];
}

export interface SttStreamOptions {
  /** BCP 47 language the audio is expected in; engines with a fixed model may ignore it. */
  language?: string;
  onResult(result: SttResult): void;
}

/** One continuous run of audio (one utterance, or one speaker's whole track). */
export interface SttStream {
  /** Appends audio; never throws, since engine failures surface through end(). */
  write(pcm: Int16Array): void;
  /** No more audio: resolves once every final result has been delivered, rejects if the engine failed. */
  end(): Promise<void>;
  /** Drops the stream without waiting for results (a speaker left, shutdown). */
  abort(): void;
}

export interface SttEngine {
  /** Short name, as in configuration and in the transcript metadata ("pocketsphinx"). */
  readonly name: string;
  /** Language of the engine's model when it has one, e.g. "en" for PocketSphinx's en-us model. */
  readonly language: string | undefined;
  /** Checks that the model, binary or server is there; throws SttEngineNotReadyError saying what is missing. */
  checkReady(): Promise<void>;
  /**
   * The model that transcribes `language` (a BCP 47 tag, "und" when the engine is to detect it), by the
   * name a transcript records; throws SttEngineNotReadyError, naming what is configured, when no model of
   * the engine covers it. After checkReady, which learns what a server's models cover.
   */
  modelFor(language: string): string;
  start(options: SttStreamOptions): SttStream;
}

/** The ISO 639 primary subtag of a BCP 47 tag, as models name their languages: "fr-FR" -> "fr". */
export function languageCode(tag: string): string {
  return (tag.split("-")[0] ?? tag).toLowerCase();
}

/**
 * For engines whose one model speaks one language: that model's name, or the clear refusal of another
 * language ("und", detection, is the model's own language).
 */
export function fixedLanguageModel(engine: string, model: string, modelLanguage: string, language: string): string {
  if (language !== "und" && languageCode(language) !== languageCode(modelLanguage)) {
    throw new SttEngineNotReadyError(`the ${engine} model ${model} transcribes ${modelLanguage} only, not ${language}: configure a model for ${language}`);
  }
  return model;
}

/** The engine cannot work at all (missing model, binary or server): a start-up error, never a silent empty transcript. */
export class SttEngineNotReadyError extends Error {
  override name = "SttEngineNotReadyError";
}

/** The engine failed while transcribing a stream. */
export class SttEngineError extends Error {
  override name = "SttEngineError";
}
