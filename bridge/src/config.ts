// The transcription bridge's configuration: one schema gives the type, the defaults and validation at
// load; an error names every wrong or unknown key. (The live LiveKit/Matrix settings join it later.)
import { z } from "zod";
import { parseWithSchema, readYamlFile } from "../../config/load.ts";
import { DEFAULT_VAD_OPTIONS, type EnergyVadOptions } from "./transcript/energy-vad.ts";
import { DEBIAN_POCKETSPHINX_MODEL_DIR } from "./stt/pocketsphinx.ts";

export const ENGINE_NAMES = ["pocketsphinx", "openai"] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

const languageSchema = z.string().regex(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/, "must be a BCP 47 language tag such as en or fr-FR");

const pocketSphinxSchema = z
  .strictObject({
    binary: z.string().min(1).default("pocketsphinx_continuous").meta({
      description: "Decoder binary (Debian package pocketsphinx), a name in PATH or a path.",
    }),
    model_dir: z.string().min(1).default(DEBIAN_POCKETSPHINX_MODEL_DIR).meta({
      description: "Model directory laid out like Debian's pocketsphinx-en-us: en-us/ (acoustic), en-us.lm.bin, cmudict-en-us.dict.",
    }),
    hmm: z.string().min(1).optional().meta({ description: "Acoustic model directory; default: <model_dir>/en-us." }),
    lm: z.string().min(1).optional().meta({ description: "Language model; default: <model_dir>/en-us.lm.bin." }),
    dict: z.string().min(1).optional().meta({ description: "Pronunciation dictionary; default: <model_dir>/cmudict-en-us.dict." }),
    language: languageSchema.default("en").meta({ description: "Language of the model." }),
  })
  .prefault({});

const openAiSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).meta({
    description: "Base URL of an OpenAI-compatible server (faster-whisper-server, WhisperX, vLLM…); /v1/audio/transcriptions is appended.",
    examples: ["http://whisper.internal:8000"],
  }),
  model: z.string().min(1).meta({ description: "Model name the server expects.", examples: ["Systran/faster-whisper-small"] }),
  api_key: z.string().min(1).optional().meta({ description: "Bearer token, when the server wants one." }),
  language: languageSchema.optional().meta({ description: "Language sent with each request; default: let the server detect it." }),
  timeout_ms: z.number().int().min(100).max(600_000).default(30_000).meta({ description: "Timeout of each request (one per utterance)." }),
});

const vadSchema = z
  .strictObject({
    min_speech_db: z.number().max(0).default(DEFAULT_VAD_OPTIONS.minSpeechDb).meta({
      description: "Frames quieter than this (dB full scale) are never speech.",
    }),
    margin_db: z.number().min(0).default(DEFAULT_VAD_OPTIONS.marginDb).meta({
      description: "A frame is speech when this much louder than the tracked background noise.",
    }),
    end_silence_ms: z.number().int().min(100).max(5000).default(DEFAULT_VAD_OPTIONS.endSilenceMs).meta({
      description: "Silence that ends an utterance.",
    }),
    pre_roll_ms: z.number().int().min(0).max(2000).default(DEFAULT_VAD_OPTIONS.preRollMs).meta({
      description: "Audio kept before detected speech, for soft onsets.",
    }),
    max_utterance_ms: z.number().int().min(1000).max(120_000).default(DEFAULT_VAD_OPTIONS.maxUtteranceMs).meta({
      description: "Longest utterance before it is cut (regular final results during a monologue).",
    }),
  })
  .prefault({});

export const bridgeConfigSchema = z.strictObject({
  stt: z
    .strictObject({
      engine: z.enum(ENGINE_NAMES).default("pocketsphinx").meta({ description: "Speech-to-text engine." }),
      pocketsphinx: pocketSphinxSchema,
      openai: openAiSchema.optional().meta({ description: "OpenAI-compatible /v1/audio/transcriptions server (engine: openai)." }),
    })
    .refine((stt) => stt.engine !== "openai" || stt.openai !== undefined, {
      message: "is required when engine is openai",
      path: ["openai"],
    })
    .prefault({}),
  vad: vadSchema,
});

export type BridgeConfig = z.output<typeof bridgeConfigSchema>;
export type BridgeConfigInput = z.input<typeof bridgeConfigSchema>;

/** The VAD settings of a config, as the energy VAD takes them. */
export function vadOptions(vad: BridgeConfig["vad"]): Partial<EnergyVadOptions> {
  return {
    minSpeechDb: vad.min_speech_db,
    marginDb: vad.margin_db,
    endSilenceMs: vad.end_silence_ms,
    preRollMs: vad.pre_roll_ms,
    maxUtteranceMs: vad.max_utterance_ms,
  };
}

export function parseBridgeConfig(raw: unknown): BridgeConfig {
  return parseWithSchema(bridgeConfigSchema, raw);
}

export async function loadBridgeConfig(path: string): Promise<BridgeConfig> {
  return parseBridgeConfig(await readYamlFile(path));
}
