// Energy-based voice activity detection over 16 kHz mono frames: cuts one speaker's audio into
// utterances, each of which gets its own engine stream.
//
// A 20 ms frame is speech when its energy is above both an absolute floor (`minSpeechDb`) and the
// tracked background noise plus `marginDb`. The noise level follows quiet frames down at once and
// creeps up slowly outside speech, so a steady hum raises it but a word onset does not. Speech starts
// after `startMs` of consecutive speech frames (a click is not an utterance) and ends after `endSilenceMs`
// of consecutive non-speech frames (the pause inside a sentence is shorter). Each utterance starts
// `preRollMs` early, since energy detection is late on soft onsets such as "f" or "s", and is cut at
// `maxUtteranceMs` so that a monologue still gives regular final results.
import { STT_SAMPLE_RATE } from "../stt/engine.ts";

export interface EnergyVadOptions {
  frameMs: number;
  minSpeechDb: number;
  marginDb: number;
  startMs: number;
  endSilenceMs: number;
  preRollMs: number;
  maxUtteranceMs: number;
}

export const DEFAULT_VAD_OPTIONS: EnergyVadOptions = {
  frameMs: 20,
  minSpeechDb: -50,
  marginDb: 12,
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

const FLOOR_DB = -100;
const NOISE_RISE_PER_FRAME = 0.02;

/** Energy of a frame in dB relative to full scale (a full-scale square wave is 0 dB). */
export function frameEnergyDb(frame: Int16Array): number {
  let sum = 0;
  for (const sample of frame) sum += sample * sample;
  const meanSquare = sum / Math.max(1, frame.length) / (32768 * 32768);
  return meanSquare > 0 ? Math.max(FLOOR_DB, 10 * Math.log10(meanSquare)) : FLOOR_DB;
}

export class EnergyVad {
  readonly options: EnergyVadOptions;
  #frameSamples: number;
  #partial: Int16Array = new Int16Array(0);
  /** Frames seen so far; frame i covers [i * frameMs, (i + 1) * frameMs). */
  #frameIndex = 0;
  #noiseDb: number | undefined;
  #speaking = false;
  #run = 0;
  #utteranceStartFrame = 0;
  #lastSpeechFrame = 0;
  /** Recent frames before speech: pre-roll plus the onset frames not yet confirmed as speech. */
  #recent: Int16Array[] = [];

  constructor(options: Partial<EnergyVadOptions> = {}) {
    this.options = { ...DEFAULT_VAD_OPTIONS, ...options };
    this.#frameSamples = Math.round((STT_SAMPLE_RATE * this.options.frameMs) / 1000);
  }

  /** Whether an utterance is open (between speech-start and speech-end). */
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

  /** End of input: closes an open utterance, with whatever partial frame is left. */
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
    return frame * this.options.frameMs;
  }

  #framesFor(ms: number): number {
    return Math.max(1, Math.round(ms / this.options.frameMs));
  }

  #frame(frame: Int16Array, events: VadEvent[]): void {
    const index = this.#frameIndex++;
    const energy = frameEnergyDb(frame);
    const noise = this.#noiseDb ?? energy;
    const isSpeech = energy > Math.max(this.options.minSpeechDb, noise + this.options.marginDb);
    if (energy < noise) this.#noiseDb = energy;
    else if (!this.#speaking && !isSpeech) this.#noiseDb = noise + (energy - noise) * NOISE_RISE_PER_FRAME;
    else this.#noiseDb = noise;

    if (!this.#speaking) {
      this.#recent.push(frame);
      const keep = this.#framesFor(this.options.preRollMs) + this.#framesFor(this.options.startMs);
      if (this.#recent.length > keep) this.#recent.shift();
      this.#run = isSpeech ? this.#run + 1 : 0;
      if (this.#run >= this.#framesFor(this.options.startMs)) this.#open(index, events);
      return;
    }

    events.push({ type: "audio", pcm: frame });
    if (isSpeech) {
      this.#run = 0;
      this.#lastSpeechFrame = index;
    } else {
      this.#run++;
    }
    const tooLong = index + 1 - this.#utteranceStartFrame >= this.#framesFor(this.options.maxUtteranceMs);
    if (this.#run >= this.#framesFor(this.options.endSilenceMs) || tooLong) {
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
