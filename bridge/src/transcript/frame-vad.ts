// The utterance state machine every voice activity detector of the bridge shares, over 16 kHz mono
// frames: cuts one speaker's audio into utterances, each of which gets its own engine stream. What
// makes a frame speech is the detector's own (energy-vad.ts, silero-vad.ts).
//
// Speech starts after `startMs` of consecutive speech frames (a click is not an utterance) and ends
// after `endSilenceMs` of consecutive non-speech frames (the pause inside a sentence is shorter). Each
// utterance starts `preRollMs` early, since detection is late on soft onsets such as "f" or "s", and is
// cut at `maxUtteranceMs` so that a monologue still gives regular final results.
import { STT_SAMPLE_RATE } from "../stt/engine.ts";

export interface FrameVadOptions {
  frameMs: number;
  startMs: number;
  endSilenceMs: number;
  preRollMs: number;
  maxUtteranceMs: number;
}

/** The utterance timing both detectors use by default (each has its own frame length). */
export const DEFAULT_UTTERANCE_TIMING: Omit<FrameVadOptions, "frameMs"> = {
  startMs: 60,
  endSilenceMs: 600,
  preRollMs: 300,
  maxUtteranceMs: 15_000,
};

export type VadEvent =
  /** `startMs` is where `pcm` (pre-roll included) begins, in ms since the first sample pushed. */
  | { type: "speech-start"; startMs: number; pcm: Int16Array }
  | { type: "audio"; pcm: Int16Array }
  /** `endMs`: end of the audio handed out for this utterance; `speechEndMs`: end of its last speech frame. */
  | { type: "speech-end"; endMs: number; speechEndMs: number };

/** What the transcription pipeline needs of a voice activity detector. */
export interface Vad {
  /** Whether an utterance is open (between speech-start and speech-end). */
  readonly speaking: boolean;
  push(pcm: Int16Array): VadEvent[];
  /** End of input: closes an open utterance, with whatever partial frame is left. */
  flush(): VadEvent[];
}

export abstract class FrameVad implements Vad {
  readonly #timing: FrameVadOptions;
  #frameSamples: number;
  #partial: Int16Array = new Int16Array(0);
  /** Frames seen so far; frame i covers [i * frameMs, (i + 1) * frameMs). */
  #frameIndex = 0;
  #speaking = false;
  #run = 0;
  #utteranceStartFrame = 0;
  #lastSpeechFrame = 0;
  /** Recent frames before speech: pre-roll plus the onset frames not yet confirmed as speech. */
  #recent: Int16Array[] = [];

  constructor(timing: FrameVadOptions) {
    this.#timing = timing;
    this.#frameSamples = Math.round((STT_SAMPLE_RATE * timing.frameMs) / 1000);
  }

  /** Whether this frame (frameMs of audio) is speech. Called once per frame, in order. */
  protected abstract isSpeech(frame: Int16Array): boolean;

  get speaking(): boolean {
    return this.#speaking;
  }

  push(pcm: Int16Array): VadEvent[] {
    const events: VadEvent[] = [];
    let samples = pcm;
    if (this.#partial.length > 0) {
      samples = new Int16Array(this.#partial.length + pcm.length);
      samples.set(this.#partial);
      samples.set(pcm, this.#partial.length);
    }
    let offset = 0;
    for (; offset + this.#frameSamples <= samples.length; offset += this.#frameSamples) {
      this.#frame(samples.slice(offset, offset + this.#frameSamples), events);
    }
    this.#partial = samples.slice(offset);
    return events;
  }

  flush(): VadEvent[] {
    const events: VadEvent[] = [];
    if (this.#speaking) {
      if (this.#partial.length > 0) events.push({ type: "audio", pcm: this.#partial });
      const endMs = this.#frameToMs(this.#frameIndex) + (this.#partial.length * 1000) / STT_SAMPLE_RATE;
      events.push({ type: "speech-end", endMs, speechEndMs: this.#frameToMs(this.#lastSpeechFrame + 1) });
      this.#speaking = false;
    }
    this.#partial = new Int16Array(0);
    this.#recent = [];
    this.#run = 0;
    return events;
  }

  #frameToMs(frame: number): number {
    return frame * this.#timing.frameMs;
  }

  #framesFor(ms: number): number {
    return Math.max(1, Math.round(ms / this.#timing.frameMs));
  }

  #frame(frame: Int16Array, events: VadEvent[]): void {
    const index = this.#frameIndex++;
    const isSpeech = this.isSpeech(frame);

    if (!this.#speaking) {
      this.#recent.push(frame);
      const keep = this.#framesFor(this.#timing.preRollMs) + this.#framesFor(this.#timing.startMs);
      if (this.#recent.length > keep) this.#recent.shift();
      this.#run = isSpeech ? this.#run + 1 : 0;
      if (this.#run >= this.#framesFor(this.#timing.startMs)) this.#open(index, events);
      return;
    }

    events.push({ type: "audio", pcm: frame });
    if (isSpeech) {
      this.#run = 0;
      this.#lastSpeechFrame = index;
    } else {
      this.#run++;
    }
    const tooLong = index + 1 - this.#utteranceStartFrame >= this.#framesFor(this.#timing.maxUtteranceMs);
    if (this.#run >= this.#framesFor(this.#timing.endSilenceMs) || tooLong) {
      events.push({
        type: "speech-end",
        endMs: this.#frameToMs(index + 1),
        speechEndMs: this.#frameToMs(this.#lastSpeechFrame + 1),
      });
      this.#speaking = false;
      this.#run = 0;
      this.#recent = [];
    }
  }

  #open(index: number, events: VadEvent[]): void {
    const frames = this.#recent;
    const firstFrame = index + 1 - frames.length;
    const pcm = new Int16Array(frames.length * this.#frameSamples);
    frames.forEach((f, i) => pcm.set(f, i * this.#frameSamples));
    events.push({ type: "speech-start", startMs: this.#frameToMs(firstFrame), pcm });
    this.#speaking = true;
    this.#utteranceStartFrame = firstFrame;
    this.#lastSpeechFrame = index;
    this.#run = 0;
    this.#recent = [];
  }
}
