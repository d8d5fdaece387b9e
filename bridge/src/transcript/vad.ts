// The voice activity detector of a speaker's audio, as the config says: Silero when a model is given
// (better under noise, see silero-vad.ts), the energy VAD otherwise.
import { EnergyVad, type EnergyVadOptions } from "./energy-vad.ts";
import type { Vad } from "./frame-vad.ts";
import { SileroVad } from "./silero-vad.ts";

export type { Vad, VadEvent } from "./frame-vad.ts";

export type VadSettings = Partial<EnergyVadOptions> & {
  /** Path of a Silero VAD v5 ONNX model: when set, the detector is Silero. */
  sileroModel?: string;
  sileroThreshold?: number;
};

export function createVad(settings: VadSettings = {}): Vad {
  const { sileroModel, sileroThreshold, ...timing } = settings;
  if (sileroModel === undefined) return new EnergyVad(timing);
  return new SileroVad({ ...timing, model: sileroModel, ...(sileroThreshold !== undefined ? { threshold: sileroThreshold } : {}) });
}
