// One transcription pipeline per microphone track: its own VAD and utterance transcriber, so that
// speakers talking over each other are decoded separately and attributed by their track.
import type { SttEngine } from "../stt/engine.ts";
import type { EnergyVadOptions } from "../transcript/energy-vad.ts";
import type { Speaker, TranscriptSegment } from "../transcript/segment.ts";
import { UtteranceTranscriber } from "../transcript/utterance-transcriber.ts";

/**
 * Length of the frames rtc-node hands over per track, already decoded and resampled to 16 kHz mono in
 * its native code. Longer frames save little (rtc-node's own CPU for 4 tracks measured 0.015-0.019 CPU
 * s per audio s with 10 ms frames, 0.014-0.017 with 40 ms: within the noise) and would delay each
 * utterance's end by up to a frame.
 */
export const AUDIO_FRAME_MS = 10;

export interface SpeakerPipelinesOptions {
  engine: SttEngine;
  language?: string;
  vad?: Partial<EnergyVadOptions>;
  /** Transcript time now, in milliseconds since transcription started: where a late joiner's audio begins. */
  nowMs(): number;
  onSegment(trackSid: string, segment: TranscriptSegment): void;
  /** The engine failed on some utterance of this track (reported when the track's pipeline closes). */
  onError(trackSid: string, err: Error): void;
  /** Each utterance's outcome at once: decoded, or lost to an engine failure. */
  onUtterance?(trackSid: string, outcome: { ok: true } | { ok: false; error: Error }): void;
}

export class SpeakerPipelines {
  #options: SpeakerPipelinesOptions;
  #open = new Map<string, UtteranceTranscriber>();

  constructor(options: SpeakerPipelinesOptions) {
    this.#options = options;
  }

  get trackSids(): string[] {
    return [...this.#open.keys()];
  }

  /** Starts the track's pipeline; a track already open keeps its pipeline (a repeated subscription event). */
  open(trackSid: string, speaker: Speaker): void {
    if (this.#open.has(trackSid)) return;
    const transcriber = new UtteranceTranscriber({
      engine: this.#options.engine,
      speaker,
      language: this.#options.language,
      offsetMs: this.#options.nowMs(),
      vad: this.#options.vad,
      onSegment: (segment) => this.#options.onSegment(trackSid, segment),
      onUtterance: (outcome) => this.#options.onUtterance?.(trackSid, outcome),
    });
    this.#open.set(trackSid, transcriber);
  }

  /** 16 kHz mono samples of the track; audio of a closed or unknown track is dropped. */
  push(trackSid: string, pcm: Int16Array): void {
    this.#open.get(trackSid)?.push(pcm);
  }

  /**
   * The track ended or its participant left: the utterance in progress still gets its final segment,
   * since what was said before leaving belongs in the transcript.
   */
  async close(trackSid: string): Promise<void> {
    const transcriber = this.#open.get(trackSid);
    if (transcriber === undefined) return;
    this.#open.delete(trackSid);
    try {
      await transcriber.finish();
    } catch (err) {
      this.#options.onError(trackSid, err instanceof Error ? err : new Error(String(err)));
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.trackSids.map((sid) => this.close(sid)));
  }
}
