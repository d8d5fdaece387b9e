// When an engine's interim re-decodings may run. Interim subtitles are a comfort; each utterance's final
// result is the transcript. One scheduler per engine (shared by all its streams, every call of the
// worker) keeps the interim decodings from competing with the finals when the engine is short of CPU:
// - an interim decoding starts only while no final one is being decoded, and
// - at most `maxInFlight` interim decodings run at once;
// a stream whose interim decoding is due waits its turn behind the others (first come, first served),
// and decodes the audio it has when its turn comes. So while the engine keeps up, every stream gets its
// interim decodings at their interval; once it does not, the streams' turns come less often (fewer
// interim subtitles, each covering more audio) and the finals go out without waiting behind them.

export interface InterimSchedulerOptions {
  /** Interim decodings running at once, all streams together (Visio's Whisper server decodes two at once per model by default: one is left to finals). */
  maxInFlight?: number;
}

export interface InterimSchedulerStats {
  /** Interim decodings started. */
  started: number;
  /** Due interim decodings dropped before their turn came (their utterance ended first). */
  dropped: number;
}

export class InterimScheduler {
  readonly #maxInFlight: number;
  #interims = 0;
  #finals = 0;
  #queue: (() => Promise<void>)[] = [];
  #started = 0;
  #dropped = 0;

  constructor(options: InterimSchedulerOptions = {}) {
    const max = options.maxInFlight ?? 1;
    if (!Number.isInteger(max) || max < 1) throw new Error(`InterimScheduler: maxInFlight must be a positive integer, got ${max}`);
    this.#maxInFlight = max;
  }

  /** Streams whose interim decoding is due and waiting for its turn. */
  get waiting(): number {
    return this.#queue.length;
  }

  get stats(): InterimSchedulerStats {
    return { started: this.#started, dropped: this.#dropped };
  }

  /**
   * A stream's interim decoding is due: `decode` runs when its turn comes (at once when the engine is
   * free). Returns a function that withdraws it if it has not started (the utterance ended).
   */
  request(decode: () => Promise<void>): () => void {
    this.#queue.push(decode);
    this.#pump();
    return () => {
      const at = this.#queue.indexOf(decode);
      if (at < 0) return;
      this.#queue.splice(at, 1);
      this.#dropped += 1;
    };
  }

  /** A final decoding: no interim one starts until it is done. */
  async final<T>(decode: () => Promise<T>): Promise<T> {
    this.#finals += 1;
    try {
      return await decode();
    } finally {
      this.#finals -= 1;
      this.#pump();
    }
  }

  #pump(): void {
    while (this.#finals === 0 && this.#interims < this.#maxInFlight) {
      const decode = this.#queue.shift();
      if (decode === undefined) return;
      this.#interims += 1;
      this.#started += 1;
      // A failed interim decoding shows nothing; the stream's final one reports failures.
      decode()
        .catch(() => undefined)
        .finally(() => {
          this.#interims -= 1;
          this.#pump();
        });
    }
  }
}
