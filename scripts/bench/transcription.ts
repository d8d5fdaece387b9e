// Transcription figures: word error rate on the Festival sentences and the real-time factor of one
// stream (decoding CPU time over audio time), for each engine that runs on this machine.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeAudioFile } from "../../bridge/src/audio/decode-file.ts";
import { transcribeRecording } from "../../bridge/src/recordings/transcribe-recording.ts";
import type { SttEngine } from "../../bridge/src/stt/engine.ts";
import { wordErrorRate, type WordErrorCounts } from "../../bridge/src/transcript/word-error-rate.ts";
import { MEETING_SENTENCES, synthesizeRecording } from "../../tests/speech/festival-speech.ts";

export interface TranscriptionBenchRun {
  engine: string;
  audioSeconds: number;
  wallSeconds: number;
  /** CPU seconds of this process and of the engine processes it ran. */
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

/** One stream at a time (concurrency 1), so that the CPU time is what one speaker costs. */
export async function benchTranscription(engine: SttEngine, runs: number): Promise<TranscriptionBenchRun[]> {
  await engine.checkReady();
  const dir = await mkdtemp(join(tmpdir(), "visio-bench-stt-"));
  try {
    const recording = await synthesizeRecording(dir, MEETING_SENTENCES);
    const reference = MEETING_SENTENCES.join(" ");
    const results: TranscriptionBenchRun[] = [];
    for (let i = 0; i < runs; i++) {
      const cpuBefore = cpuSecondsSoFar();
      const started = performance.now();
      const transcript = await transcribeRecording(decodeAudioFile(recording.wavPath), {
        engine,
        speaker: { id: "bench", name: "Bench" },
        concurrency: 1,
      });
      const hypothesis = transcript.segments.map((s) => s.text).join(" ");
      results.push({
        engine: engine.name,
        audioSeconds: transcript.durationMs / 1000,
        wallSeconds: (performance.now() - started) / 1000,
        cpuSeconds: cpuSecondsSoFar() - cpuBefore,
        errors: wordErrorRate(reference, hypothesis),
        hypothesis,
      });
    }
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
