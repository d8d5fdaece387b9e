// A scripted engine for unit tests of whatever consumes SttEngine: each stream "recognises" the next
// scripted sentence, revealing one more word per `msPerWord` of audio as interim results and the whole
// sentence as one final result when the stream ends.
import {
  languageCode,
  STT_SAMPLE_RATE,
  SttEngineError,
  SttEngineNotReadyError,
  type SttEngine,
  type SttResult,
  type SttStream,
  type SttStreamOptions,
} from "../engine.ts";

export interface FakeSttEngineOptions {
  /** Sentences handed out to streams in order; once exhausted, streams recognise nothing. */
  sentences: string[];
  msPerWord?: number;
  language?: string;
  /** checkReady() throws this message as SttEngineNotReadyError. */
  notReady?: string;
  /** end() rejects with this message as SttEngineError. */
  failWith?: string;
  /** Languages its model covers (modelFor refuses others); any when unset. */
  languages?: string[];
}

export interface FakeStreamRecord {
  options: SttStreamOptions;
  samples: number;
  ended: boolean;
  aborted: boolean;
  results: SttResult[];
}

export class FakeSttEngine implements SttEngine {
  readonly name = "fake";
  readonly language: string | undefined;
  /** Every stream started, for assertions. */
  readonly streams: FakeStreamRecord[] = [];
  #sentences: string[];
  #msPerWord: number;
  #notReady: string | undefined;
  #failWith: string | undefined;
  #languages: string[] | undefined;

  constructor(options: FakeSttEngineOptions) {
    this.#sentences = [...options.sentences];
    this.#msPerWord = options.msPerWord ?? 300;
    this.language = options.language ?? "en";
    this.#notReady = options.notReady;
    this.#failWith = options.failWith;
    this.#languages = options.languages;
  }

  modelFor(language: string): string {
    if (this.#languages !== undefined && !this.#languages.includes(languageCode(language))) {
      throw new SttEngineNotReadyError(`no fake model transcribes ${language} (it does: ${this.#languages.join(", ")})`);
    }
    return "fake-model";
  }

  async checkReady(): Promise<void> {
    if (this.#notReady !== undefined) throw new SttEngineNotReadyError(this.#notReady);
  }

  start(options: SttStreamOptions): SttStream {
    const words = (this.#sentences.shift() ?? "").split(/\s+/).filter((w) => w !== "");
    const record: FakeStreamRecord = { options, samples: 0, ended: false, aborted: false, results: [] };
    this.streams.push(record);
    const msPerWord = this.#msPerWord;
    const failWith = this.#failWith;
    let revealed = 0;
    const emit = (result: SttResult): void => {
      record.results.push(result);
      options.onResult(result);
    };
    const durationMs = (): number => (record.samples * 1000) / STT_SAMPLE_RATE;
    return {
      write(pcm: Int16Array): void {
        if (record.ended || record.aborted) return;
        record.samples += pcm.length;
        const due = Math.min(words.length, Math.floor(durationMs() / msPerWord));
        if (due > revealed) {
          revealed = due;
          emit({ text: words.slice(0, revealed).join(" "), startMs: 0, endMs: durationMs(), final: false });
        }
      },
      async end(): Promise<void> {
        record.ended = true;
        if (failWith !== undefined) throw new SttEngineError(failWith);
        if (words.length === 0) return;
        const end = durationMs();
        const step = end / words.length;
        emit({
          text: words.join(" "),
          startMs: 0,
          endMs: end,
          final: true,
          words: words.map((text, i) => ({ text, startMs: i * step, endMs: (i + 1) * step })),
        });
      },
      abort(): void {
        record.aborted = true;
      },
    };
  }
}
