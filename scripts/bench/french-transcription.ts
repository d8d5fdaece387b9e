// French transcription figures: word error rate on recorded French speech (Tux Paint's spoken stamp
// descriptions, tests/harness/speech/french-speech.ts) and the CPU real-time factor of the Whisper server (its
// CPU seconds over the audio's seconds), for each model the local server serves that covers French.
// Models that cannot (tiny.en, English only) are reported as such, never as a number.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeAudioFile } from "../../bridge/src/audio/decode-file.ts";
import { transcribeRecording } from "../../bridge/src/recordings/transcribe-recording.ts";
import { OpenAiCompatibleEngine } from "../../bridge/src/stt/openai-compatible.ts";
import type { TranscriptSegment } from "../../bridge/src/transcript/segment.ts";
import { wordErrorRate, type WordErrorCounts } from "../../bridge/src/transcript/word-error-rate.ts";
import type { SpeechRecording } from "../../tests/harness/speech/festival-speech.ts";
import { chooseFrenchClips, type TimedFrenchClip } from "../../tests/harness/speech/french-speech.ts";
import { recordMeeting } from "../../tests/harness/speech/recorded-speech.ts";
import { startWhisperServer, type WhisperServer } from "../../bridge/whisper-server/whisper-server.ts";

export interface FrenchBenchRun {
  audioSeconds: number;
  wallSeconds: number;
  /** User + system CPU seconds of the Whisper server process during the run. */
  serverCpuSeconds: number;
  errors: WordErrorCounts;
}

export interface FrenchModelBench {
  model: string;
  runs: FrenchBenchRun[];
  /** WER of the first run per clip category (animals, symbols, town…), each clip's text against what was heard during it. */
  perCategory: { category: string; clips: number; errors: WordErrorCounts }[];
  /** A few clips of the first run, reference and transcript, to see what the errors are. */
  samples: { reference: string; hypothesis: string }[];
}

export type FrenchBench =
  | { unavailable: string }
  | { clips: number; audioSeconds: number; speechSeconds: number; models: FrenchModelBench[]; notFrench: { model: string; languages: string[] }[] };

/** User + system CPU seconds of a process (all its threads), from /proc (clock ticks, 100 per second). */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function modelLanguages(url: string): Promise<{ id: string; languages: string[] }[]> {
  const response = await fetch(`${url}/v1/models`);
  const body = (await response.json()) as { data?: { id?: unknown; languages?: unknown }[] };
  return (body.data ?? []).flatMap((m) =>
    typeof m.id === "string" && Array.isArray(m.languages) ? [{ id: m.id, languages: m.languages.filter((l): l is string => typeof l === "string") }] : [],
  );
}

/** Each sentence's transcript: the segments whose middle is nearest to it (within it, or in a pause beside it). */
function perSentence(recording: SpeechRecording, segments: TranscriptSegment[]): string[] {
  const heard: string[][] = recording.sentences.map(() => []);
  for (const segment of segments) {
    const middle = (segment.startMs + segment.endMs) / 2;
    const distances = recording.sentences.map((s) => Math.max(s.startMs - middle, middle - s.endMs, 0));
    heard[distances.indexOf(Math.min(...distances))]!.push(segment.text);
  }
  return heard.map((texts) => texts.join(" "));
}

async function benchModel(server: WhisperServer, model: string, recording: SpeechRecording, clips: TimedFrenchClip[], runs: number): Promise<FrenchModelBench> {
  const engine = new OpenAiCompatibleEngine({ url: server.url, models: [model], language: "fr", timeoutMs: 300_000 });
  await engine.checkReady();
  const reference = recording.sentences.map((s) => s.text).join(" ");
  const results: FrenchBenchRun[] = [];
  let first: TranscriptSegment[] = [];
  for (let i = 0; i < runs; i++) {
    const cpuBefore = cpuSecondsOf(server.pid);
    const started = performance.now();
    const transcript = await transcribeRecording(decodeAudioFile(recording.wavPath), {
      engine,
      speaker: { id: "bench", name: "Bench" },
      language: "fr",
      concurrency: 1,
    });
    results.push({
      audioSeconds: transcript.durationMs / 1000,
      wallSeconds: (performance.now() - started) / 1000,
      serverCpuSeconds: cpuSecondsOf(server.pid) - cpuBefore,
      errors: wordErrorRate(reference, transcript.segments.map((s) => s.text).join(" ")),
    });
    if (i === 0) first = transcript.segments;
  }
  const heard = perSentence(recording, first);
  const categories = [...new Set(clips.map((c) => c.category))].sort();
  const perCategory = categories.map((category) => {
    const indices = clips.flatMap((c, i) => (c.category === category ? [i] : []));
    return {
      category,
      clips: indices.length,
      errors: wordErrorRate(indices.map((i) => clips[i]!.text).join(" "), indices.map((i) => heard[i]!).join(" ")),
    };
  });
  const samples = [0, 1, 2].map((k) => Math.floor((k * clips.length) / 3)).map((i) => ({ reference: clips[i]!.text, hypothesis: heard[i]! }));
  return { model, runs: results, perCategory, samples };
}

/**
 * `clipCount` of the eligible French clips (at least 1.5 s, a phrase of three words or more, no figures;
 * 197 in Debian 12's package), spread over them, as one recording with 1.5 s pauses, transcribed `runs`
 * times by each French-capable model of the local server (--threads 1, one utterance at a time, through
 * the bridge's VAD and OpenAI-compatible engine).
 */
export async function benchFrenchTranscription(runs: number, clipCount = 100): Promise<FrenchBench> {
  let clips: TimedFrenchClip[];
  try {
    clips = await chooseFrenchClips({ count: clipCount });
  } catch (err) {
    return { unavailable: (err as Error).message };
  }
  let server: WhisperServer;
  try {
    server = await startWhisperServer(1);
  } catch (err) {
    return { unavailable: (err as Error).message };
  }
  const dir = await mkdtemp(join(tmpdir(), "visio-bench-fr-"));
  try {
    const recording = await recordMeeting(dir, clips);
    const served = await modelLanguages(server.url);
    const models: FrenchModelBench[] = [];
    for (const m of served.filter((s) => s.languages.includes("fr"))) models.push(await benchModel(server, m.id, recording, clips, runs));
    return {
      clips: clips.length,
      audioSeconds: recording.durationMs / 1000,
      speechSeconds: clips.reduce((sum, c) => sum + c.durationMs, 0) / 1000,
      models,
      notFrench: served.filter((s) => !s.languages.includes("fr")).map((s) => ({ model: s.id, languages: s.languages })),
    };
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const werText = (e: WordErrorCounts): string => `${e.wer.toFixed(3)} (S ${e.substitutions}, D ${e.deletions}, I ${e.insertions}, N ${e.referenceWords})`;

/** The bench's lines for the French figures. */
export function frenchTranscriptionReport(bench: FrenchBench): string {
  if ("unavailable" in bench) return `French transcription: not available: ${bench.unavailable}\n`;
  const lines = [
    `French transcription (Whisper server with --threads 1; ${bench.clips} recorded Tux Paint stamp descriptions, ${(bench.speechSeconds / 60).toFixed(1)} min of speech, ` +
      `one ${(bench.audioSeconds / 60).toFixed(1)} min recording with pauses; language fr; one utterance at a time):`,
  ];
  for (const m of bench.models) {
    const [first] = m.runs;
    if (first === undefined) continue;
    const rtf = m.runs.map((r) => r.serverCpuSeconds / r.audioSeconds);
    const perSpeech = median(m.runs.map((r) => r.serverCpuSeconds)) / bench.speechSeconds;
    lines.push(
      `  ${m.model}: WER ${werText(first.errors)}${m.runs.every((r) => r.errors.wer === first.errors.wer) ? " in every run" : ` (runs: ${m.runs.map((r) => r.errors.wer.toFixed(3)).join(", ")})`}`,
      `    server CPU real-time factor: ${median(rtf).toFixed(3)} (median of ${m.runs.length} runs: ${rtf.map((x) => x.toFixed(3)).join(", ")}), ${perSpeech.toFixed(3)} per second of speech; wall clock: ${median(m.runs.map((r) => r.wallSeconds / r.audioSeconds)).toFixed(3)}`,
      `    WER per clip set: ${m.perCategory.map((c) => `${c.category} ${c.errors.wer.toFixed(3)} (${c.clips})`).join(", ")}`,
      ...m.samples.map((s) => `    "${s.reference}" -> "${s.hypothesis}"`),
    );
  }
  if (bench.models.length === 0) lines.push("  no served model covers French: install.sh installs base beside tiny.en");
  for (const m of bench.notFrench) lines.push(`  ${m.model}: cannot transcribe French (it does: ${m.languages.join(", ")})`);
  return `${lines.join("\n")}\n`;
}
