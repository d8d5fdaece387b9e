// `npm run transcribe -- <recording> [options]`: a recording (WAV, Ogg/Opus, FLAC…) to <out>.vtt and
// <out>.md through the configured engine. Returns the exit status, so that tests can run it in-process.
import { writeFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { parseArgs } from "node:util";
import { AudioDecodeError, decodeAudioFile } from "../audio/decode-file.ts";
import { loadBridgeConfig, parseBridgeConfig, renderBridgeSampleConfig, type BridgeConfig } from "../../../config/bridge-schema.ts";
import { ConfigError } from "../../../config/load.ts";
import { ENGINE_NAMES } from "../../../config/transcription-fields.ts";
import { engineFromConfig } from "../stt/engine-from-config.ts";
import { checkSileroModel } from "../transcript/silero-vad.ts";
import { SttEngineNotReadyError } from "../stt/engine.ts";
import { transcriptTexts } from "../transcript/transcript-texts.ts";
import { toMarkdown } from "../transcript/markdown.ts";
import { toWebVtt } from "../transcript/webvtt.ts";
import { vadOptions } from "../vad-from-config.ts";
import { transcribeRecording } from "./transcribe-recording.ts";

export const EXIT = { ok: 0, failed: 1, usage: 2, engineNotReady: 3, badInput: 4 } as const;

export const USAGE = `usage: transcribe-file <recording> [options]
       transcribe-file --sample-config   (prints the commented sample of the --config file)
  --out <path>         output prefix: writes <path>.vtt and <path>.md (default: the recording's name)
  --engine <name>      ${ENGINE_NAMES.join(" | ")} (default: the config's stt.engine, else openai: Visio's Whisper server)
  --config <file>      bridge configuration (YAML): engine settings, VAD
  --model-dir <dir>    PocketSphinx model directory (overrides stt.pocketsphinx.model_dir)
  --speaker <name>     speaker name in the transcript (default: Speaker)
  --language <tag>     expected language (default: the engine's)
  --jobs <n>           utterances decoded at once (default: the number of CPUs)
exit status: 0 done, 1 transcription failed, 2 bad usage or config, 3 engine not ready, 4 unreadable recording`;

export interface TranscribeFileIo {
  /** Progress and errors, for people. */
  log(line: string): void;
  /** What the command prints as its result (the sample config). */
  print(text: string): void;
  cpus: number;
  now(): number;
}

export async function transcribeFileCommand(argv: string[], io: TranscribeFileIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: "string" },
        engine: { type: "string" },
        config: { type: "string" },
        "model-dir": { type: "string" },
        speaker: { type: "string", default: "Speaker" },
        language: { type: "string" },
        jobs: { type: "string" },
        help: { type: "boolean", short: "h" },
        "sample-config": { type: "boolean" },
      },
    });
  } catch (err) {
    io.log(`${(err as Error).message}\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    io.log(USAGE);
    return EXIT.ok;
  }
  if (values["sample-config"] === true) {
    io.print(renderBridgeSampleConfig());
    return EXIT.ok;
  }
  const [input, ...extra] = positionals;
  if (input === undefined || extra.length > 0) {
    io.log(USAGE);
    return EXIT.usage;
  }
  const jobs = values.jobs === undefined ? io.cpus : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) {
    io.log(`--jobs must be a positive integer\n${USAGE}`);
    return EXIT.usage;
  }

  let config: BridgeConfig;
  try {
    config = values.config === undefined ? parseBridgeConfig({}) : await loadBridgeConfig(values.config);
    // Flags override the file; going through the schema again validates them the same way.
    config = parseBridgeConfig({
      ...config,
      stt: {
        ...config.stt,
        ...(values.engine === undefined ? {} : { engine: values.engine }),
        pocketsphinx: {
          ...config.stt.pocketsphinx,
          ...(values["model-dir"] === undefined ? {} : { model_dir: values["model-dir"] }),
        },
        // Nobody watches a recording's subtitles appear: finals only.
        openai: { ...config.stt.openai, interim_interval_ms: 0 },
      },
    });
    checkSileroModel(config.vad.silero_model);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.log(err.message);
    return EXIT.usage;
  }

  const engine = engineFromConfig(config.stt);
  let model: string;
  try {
    await engine.checkReady();
    model = engine.modelFor(values.language ?? engine.language ?? "und");
  } catch (err) {
    io.log(`${engine.name} is not ready: ${(err as Error).message}`);
    return err instanceof SttEngineNotReadyError ? EXIT.engineNotReady : EXIT.failed;
  }

  const out = values.out ?? basename(input, extname(input));
  const started = io.now();
  let transcript;
  try {
    transcript = await transcribeRecording(decodeAudioFile(input), {
      engine,
      speaker: { id: "speaker-1", name: values.speaker },
      language: values.language,
      vad: vadOptions(config.vad),
      concurrency: jobs,
    });
  } catch (err) {
    io.log((err as Error).message);
    return err instanceof AudioDecodeError ? EXIT.badInput : EXIT.failed;
  }
  const elapsedMs = io.now() - started;

  const languages = [...new Set(transcript.segments.map((s) => s.language))];
  const language = languages.length > 0 ? languages.join(", ") : (values.language ?? engine.language ?? "und");
  const texts = transcriptTexts(values.language ?? engine.language ?? "und");
  await writeFile(`${out}.vtt`, toWebVtt(transcript.segments));
  await writeFile(
    `${out}.md`,
    toMarkdown(transcript.segments, {
      title: texts.recordingTitle(basename(input)),
      details: [texts.duration(transcript.durationMs / 1000), texts.engine(engine.name), texts.model(model), texts.language(language), texts.machineTranscription],
      noSpeech: texts.noSpeech,
    }),
  );
  const rtf = transcript.durationMs > 0 ? elapsedMs / transcript.durationMs : 0;
  io.log(
    `${out}.vtt, ${out}.md: ${transcript.segments.length} utterances, ${(transcript.durationMs / 1000).toFixed(1)} s of audio ` +
      `in ${(elapsedMs / 1000).toFixed(1)} s (real-time factor ${rtf.toFixed(2)} with ${jobs} jobs)`,
  );
  return EXIT.ok;
}
