// One speaker's audio in, transcript segments out: the VAD cuts utterances, each utterance gets its own
// engine stream, and the engine's results become one segment per utterance, with times moved from the
// stream's time base to the transcript's.
import type { SttEngine, SttResult, SttStream } from "../stt/engine.ts";
import { STT_SAMPLE_RATE } from "../stt/engine.ts";
import { createVad, type Vad, type VadEvent, type VadSettings } from "./vad.ts";
import type { Speaker, TranscriptSegment } from "./segment.ts";

export interface UtteranceTranscriberOptions {
  engine: SttEngine;
  speaker: Speaker;
  /** Expected language; defaults to the engine's. */
  language?: string;
  /** Transcript time of this speaker's first sample (a participant joining late starts later). */
  offsetMs?: number;
  vad?: VadSettings;
  /** Every new version of a segment: interim ones while the utterance is decoded, then its final one. */
  onSegment(segment: TranscriptSegment): void;
  /** Each utterance's outcome as soon as it is known: decoded (final, words or not), or lost to an engine failure. */
  onUtterance?(outcome: { ok: true } | { ok: false; error: Error }): void;
}

interface UtteranceState {
  index: number;
  startMs: number;
  finals: SttResult[];
  interim: SttResult | undefined;
  announced: boolean;
}

interface OpenUtterance {
  state: UtteranceState;
  stream: SttStream;
}

export class UtteranceTranscriber {
  #options: UtteranceTranscriberOptions;
  #vad: Vad;
  #open: OpenUtterance | undefined;
  #count = 0;
  #pending = new Set<Promise<void>>();
  #errors: Error[] = [];
  #samples = 0;

  constructor(options: UtteranceTranscriberOptions) {
    this.#options = options;
    this.#vad = createVad(options.vad);
  }

  /** Transcript time reached by the audio pushed so far. */
  get positionMs(): number {
    return (this.#options.offsetMs ?? 0) + (this.#samples * 1000) / STT_SAMPLE_RATE;
  }

  push(pcm: Int16Array): void {
    this.#samples += pcm.length;
    this.#handle(this.#vad.push(pcm));
  }

  /** Utterances whose audio is complete but whose final result is not in yet. */
  get pendingUtterances(): number {
    return this.#pending.size;
  }

  /**
   * Waits until fewer than `max` utterances are being decoded. A recording is read far faster than real
   * time, and without this every utterance of an hour-long file would get its engine stream at once.
   */
  async backpressure(max: number): Promise<void> {
    while (this.#pending.size >= Math.max(1, max)) await Promise.race(this.#pending);
  }

  /** End of this speaker's audio: waits for every utterance's final segment; rejects if an engine failed. */
  async finish(): Promise<void> {
    this.#handle(this.#vad.flush());
    await Promise.all(this.#pending);
    const [first] = this.#errors;
    if (first !== undefined) throw first;
  }

  /** Drops whatever is being decoded (the speaker left the call). */
  abort(): void {
    this.#open?.stream.abort();
    this.#open = undefined;
  }

  #handle(events: VadEvent[]): void {
    for (const event of events) {
      if (event.type === "speech-start") {
        this.#startUtterance(event.startMs);
        this.#open?.stream.write(event.pcm);
      } else if (event.type === "audio") {
        this.#open?.stream.write(event.pcm);
      } else {
        this.#endUtterance(event.endMs);
      }
    }
  }

  #startUtterance(vadStartMs: number): void {
    const utterance: UtteranceState = {
      index: this.#count++,
      startMs: (this.#options.offsetMs ?? 0) + vadStartMs,
      finals: [],
      interim: undefined,
      announced: false,
    };
    const stream = this.#options.engine.start({
      language: this.#options.language,
      onResult: (result) => {
        if (result.final) {
          utterance.finals.push(result);
          utterance.interim = undefined;
        } else {
          utterance.interim = result;
        }
        const segment = this.#segment(utterance, false, undefined);
        if (segment.text !== "") {
          utterance.announced = true;
          this.#options.onSegment(segment);
        }
      },
    });
    this.#open = { state: utterance, stream };
  }

  #endUtterance(vadEndMs: number): void {
    const open = this.#open;
    this.#open = undefined;
    if (open === undefined) return;
    const utterance = open.state;
    const endMs = (this.#options.offsetMs ?? 0) + vadEndMs;
    const done: Promise<void> = open.stream.end().then(
      () => {
        utterance.interim = undefined;
        const segment = this.#segment(utterance, true, endMs);
        // An utterance that gave no words is no segment, unless readers already saw it as interim.
        if (segment.text !== "" || utterance.announced) this.#options.onSegment(segment);
        this.#options.onUtterance?.({ ok: true });
      },
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        this.#errors.push(error);
        this.#options.onUtterance?.({ ok: false, error });
      },
    ).finally(() => this.#pending.delete(done));
    this.#pending.add(done);
  }

  #segment(utterance: UtteranceState, final: boolean, vadEndMs: number | undefined): TranscriptSegment {
    const results = utterance.interim === undefined ? utterance.finals : [...utterance.finals, utterance.interim];
    const base = utterance.startMs;
    const text = results
      .map((r) => r.text.trim())
      .filter((t) => t !== "")
      .join(" ");
    const words = results.flatMap((r) => r.words ?? []).map((w) => ({ ...w, startMs: base + w.startMs, endMs: base + w.endMs }));
    const first = results[0];
    const last = results.at(-1);
    let startMs = first === undefined ? base : base + first.startMs;
    let endMs = last === undefined ? (vadEndMs ?? base) : base + last.endMs;
    // Engines may report times slightly outside the audio they were given; cues must stay inside it.
    if (vadEndMs !== undefined) endMs = Math.min(endMs, vadEndMs);
    startMs = Math.max(base, Math.min(startMs, endMs));
    const segment: TranscriptSegment = {
      id: `${this.#options.speaker.id}#${utterance.index}`,
      speaker: this.#options.speaker,
      startMs,
      endMs,
      text,
      language: this.#options.language ?? this.#options.engine.language ?? "und",
      engine: this.#options.engine.name,
      final,
    };
    if (words.length > 0) segment.words = words;
    return segment;
  }
}
