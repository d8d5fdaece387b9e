// Voice activity detection with Silero VAD v5, a small neural model (ONNX, MIT), run by sherpa-onnx-node
// (already the bridge's native speech toolkit), over 32 ms frames (the model's 512-sample window); the
// utterance timing is frame-vad.ts's, as for the energy VAD. Unlike an energy threshold it tells speech
// from steady noise (a fan, a hum): 10 dB under white noise it finds 28 of 30 recorded phrases where
// the energy VAD finds 2 (`scripts/bench/vad-comparison.ts`). The operator gives the model file
// (`vad.silero_model`); the toolchain fetches npm's copy for the demo and the tests.
import { existsSync } from "node:fs";
import { ConfigError } from "../../../config/load.ts";
import { createRequire } from "node:module";
import { STT_SAMPLE_RATE } from "../stt/engine.ts";
import { DEFAULT_UTTERANCE_TIMING, FrameVad, type FrameVadOptions } from "./frame-vad.ts";

/**
 * How much later than the speech Silero's decisions say it ended: its probability falls over a few
 * windows (measured on 20 recorded phrases: a median 100 ms after the energy VAD's end).
 */
const RELEASE_MS = 100;
/** Longest stretch sherpa-onnx keeps as one segment (see the constructor). */
const SEGMENT_SECONDS = 5;
/** The model's window at 16 kHz. */
const WINDOW_SAMPLES = 512;
const FRAME_MS = (WINDOW_SAMPLES * 1000) / STT_SAMPLE_RATE;
/**
 * Below this energy a window is not speech whatever the model says (the energy VAD's speech floor is
 * -50 dBFS): once the model has let go of the last utterance, such windows are not run through it. A
 * quiet microphone (noise suppression on, nobody talking) then costs next to nothing, and the model
 * runs only where there is sound to judge.
 */
const QUIET_DB = -60;
/** QUIET_DB as a sum of squared samples over one window. */
const QUIET_ENERGY = WINDOW_SAMPLES * 32768 * 32768 * 10 ** (QUIET_DB / 10);

/** The subset of sherpa-onnx-node's Vad used here (the package ships JavaScript without types). */
interface SherpaVad {
  acceptWaveform(samples: Float32Array): void;
  isDetected(): boolean;
  isEmpty(): boolean;
  pop(): void;
  reset(): void;
}
interface SherpaVadModule {
  Vad: new (config: unknown, bufferSeconds: number) => SherpaVad;
}

const require = createRequire(import.meta.url);

export interface SileroVadOptions extends Omit<FrameVadOptions, "frameMs"> {
  /** Path of the Silero VAD v5 ONNX model. */
  model: string;
  /** Speech probability above which a window is speech (Silero's usual 0.5). */
  threshold: number;
}

/** Throws a clear error, naming the key, when the model is not where the config says (checked at start). */
export function checkSileroModel(model: string | undefined): void {
  if (model !== undefined && !existsSync(model)) {
    throw new ConfigError(`vad.silero_model: no file at ${model} (scripts/toolchain.sh installs one; or leave the key out for the energy VAD)`);
  }
}

export class SileroVad extends FrameVad {
  #vad: SherpaVad;
  /** The window as the model takes it, reused: no allocation per window. */
  #window = new Float32Array(WINDOW_SAMPLES);
  #detected = false;
  /** Quiet windows were left out since the model last ran. */
  #skipped = false;

  constructor(options: Partial<Omit<SileroVadOptions, "model">> & Pick<SileroVadOptions, "model">) {
    const timing = { ...DEFAULT_UTTERANCE_TIMING, ...options, frameMs: FRAME_MS };
    // Counted from Silero's decisions, the silence starts RELEASE_MS late: shortened by that much, an
    // utterance ends as long after the speech as `endSilenceMs` says, as with the energy VAD.
    super({ ...timing, endSilenceMs: Math.max(2 * FRAME_MS, timing.endSilenceMs - RELEASE_MS) });
    const sherpa = require("sherpa-onnx-node") as SherpaVadModule;
    // sherpa-onnx's own segmenting is set to follow each window closely (its minimum speech and
    // silence are one and two windows): the utterance timing is frame-vad.ts's. It keeps the audio of
    // the segment under way, which this class does not read: segments are cut every few seconds and
    // dropped after every window, so that a long stretch of speech does not grow it.
    this.#vad = new sherpa.Vad(
      {
        sileroVad: {
          model: options.model,
          threshold: options.threshold ?? 0.5,
          minSpeechDuration: FRAME_MS / 1000,
          minSilenceDuration: (2 * FRAME_MS) / 1000,
          windowSize: WINDOW_SAMPLES,
          maxSpeechDuration: SEGMENT_SECONDS,
        },
        sampleRate: STT_SAMPLE_RATE,
        numThreads: 1,
        debug: false,
      },
      4 * SEGMENT_SECONDS,
    );
  }

  protected isSpeech(frame: Int16Array): boolean {
    const window = this.#window;
    let energy = 0;
    for (let i = 0; i < frame.length; i++) {
      const sample = frame[i]!;
      energy += sample * sample;
      window[i] = sample / 32768;
    }
    // Quiet after the model has seen the end of speech: not speech, as the model would say.
    if (!this.#detected && energy < QUIET_ENERGY) {
      this.#skipped = true;
      return false;
    }
    // After a quiet stretch the model starts afresh, as its state would be after hearing that silence.
    if (this.#skipped) this.#vad.reset();
    this.#skipped = false;
    this.#vad.acceptWaveform(window);
    while (!this.#vad.isEmpty()) this.#vad.pop();
    this.#detected = this.#vad.isDetected();
    return this.#detected;
  }
}
