// Energy-based voice activity detection over 16 kHz mono frames (the utterance timing is
// frame-vad.ts's).
//
// A 20 ms frame is speech when its energy is above both an absolute floor (`minSpeechDb`) and the
// tracked background noise plus `marginDb`. The noise level follows quiet frames down at once and
// creeps up slowly outside speech, so a steady hum raises it but a word onset does not. Steady noise
// within `marginDb` of the speech hides it (see silero-vad.ts, which does not have that weakness).
import { DEFAULT_UTTERANCE_TIMING, FrameVad, type FrameVadOptions } from "./frame-vad.ts";

export type { VadEvent } from "./frame-vad.ts";

export interface EnergyVadOptions extends FrameVadOptions {
  minSpeechDb: number;
  marginDb: number;
}

export const DEFAULT_VAD_OPTIONS: EnergyVadOptions = {
  ...DEFAULT_UTTERANCE_TIMING,
  frameMs: 20,
  minSpeechDb: -50,
  marginDb: 12,
};

const FLOOR_DB = -100;
const NOISE_RISE_PER_FRAME = 0.02;

/** Energy of a frame in dB relative to full scale (a full-scale square wave is 0 dB). */
export function frameEnergyDb(frame: Int16Array): number {
  let sum = 0;
  for (const sample of frame) sum += sample * sample;
  const meanSquare = sum / Math.max(1, frame.length) / (32768 * 32768);
  return meanSquare > 0 ? Math.max(FLOOR_DB, 10 * Math.log10(meanSquare)) : FLOOR_DB;
}

export class EnergyVad extends FrameVad {
  readonly options: EnergyVadOptions;
  #noiseDb: number | undefined;

  constructor(options: Partial<EnergyVadOptions> = {}) {
    const all = { ...DEFAULT_VAD_OPTIONS, ...options };
    super(all);
    this.options = all;
  }

  protected isSpeech(frame: Int16Array): boolean {
    const energy = frameEnergyDb(frame);
    const noise = this.#noiseDb ?? energy;
    const isSpeech = energy > Math.max(this.options.minSpeechDb, noise + this.options.marginDb);
    if (energy < noise) this.#noiseDb = energy;
    else if (!this.speaking && !isSpeech) this.#noiseDb = noise + (energy - noise) * NOISE_RISE_PER_FRAME;
    else this.#noiseDb = noise;
    return isSpeech;
  }
}
