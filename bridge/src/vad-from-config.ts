// The configured voice activity detector's settings, as the VADs take them (Silero when a model is given).
import type { BridgeConfig } from "../../config/bridge-schema.ts";
import type { VadSettings } from "./transcript/vad.ts";

export function vadOptions(vad: BridgeConfig["vad"]): VadSettings {
  return {
    minSpeechDb: vad.min_speech_db,
    marginDb: vad.margin_db,
    endSilenceMs: vad.end_silence_ms,
    preRollMs: vad.pre_roll_ms,
    maxUtteranceMs: vad.max_utterance_ms,
    ...(vad.silero_model !== undefined ? { sileroModel: vad.silero_model, sileroThreshold: vad.silero_threshold } : {}),
  };
}
