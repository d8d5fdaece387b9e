// Streams at once into Visio's Whisper server, without the test bed (no root): N speakers read the
// Festival sentences in real time (10 ms frames, starts spread over a second) through the worker's own
// path after rtc-node (VAD, utterance transcriber, OpenAI-compatible client with interim re-decoding
// every 400 ms), into a local Whisper server pinned to one core (the last: benches that pin a process take the first). What each stream costs the server, and
// under overload what is kept: final lines (counted), their delay, and interim subtitles per second.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { decodeAudioFile } from "../../bridge/src/audio/decode-file.ts";
import { OpenAiCompatibleEngine } from "../../bridge/src/stt/openai-compatible.ts";
import { UtteranceTranscriber } from "../../bridge/src/transcript/utterance-transcriber.ts";
import { startWhisperServer } from "../../bridge/whisper-server/whisper-server.ts";
import { MEETING_SENTENCES, synthesizeRecording } from "../../tests/harness/speech/festival-speech.ts";

const run = promisify(execFile);
const FRAME = 160;

export interface WhisperStreamsRun {
  streams: number;
  audioSecondsPerStream: number;
  serverCpuSeconds: number;
  finalsExpected: number;
  finals: number;
  interimsPerStreamSecond: number;
  /** Word end of each utterance's last word as heard → its final result (the VAD's end wait included). */
  finalLagMs: number[];
}

function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function pcmOf(path: string): Promise<Int16Array> {
  const chunks: Int16Array[] = [];
  for await (const chunk of decodeAudioFile(path)) chunks.push(chunk);
  const pcm = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    pcm.set(c, at);
    at += c.length;
  }
  return pcm;
}

export async function benchWhisperStreams(streamCounts: readonly number[], { core = String(availableParallelism() - 1) } = {}): Promise<WhisperStreamsRun[]> {
  const dir = await mkdtemp(join(tmpdir(), "visio-bench-streams-"));
  const server = await startWhisperServer(1);
  try {
    await run("taskset", ["-a", "-p", "-c", core, String(server.pid)]);
    const recording = await synthesizeRecording(dir, MEETING_SENTENCES);
    const pcm = await pcmOf(recording.wavPath);
    const runs: WhisperStreamsRun[] = [];
    for (const streams of streamCounts) {
      const engine = new OpenAiCompatibleEngine({ url: server.url, models: [server.model], language: "en", timeoutMs: 300_000, interimIntervalMs: 400 });
      await engine.checkReady();
      const started = performance.now();
      const offsets = Array.from({ length: streams }, (_, i) => Math.round((i * 100) / streams) * 10);
      let finals = 0;
      let interims = 0;
      const finalLagMs: number[] = [];
      const transcribers = offsets.map(
        (offsetMs) =>
          new UtteranceTranscriber({
            engine,
            speaker: { id: `s${offsetMs}`, name: "Bench" },
            language: "en",
            onSegment: (segment) => {
              if (!segment.final) {
                interims += 1;
                return;
              }
              finals += 1;
              finalLagMs.push(performance.now() - started - offsetMs - segment.endMs);
            },
          }),
      );
      const cpuBefore = cpuSecondsOf(server.pid);
      const frames = Math.ceil(pcm.length / FRAME);
      // Real time: every 10 ms, each stream whose start has come gets its next frame.
      for (let tick = 0; tick < frames + 100; tick++) {
        const due = started + tick * 10;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        transcribers.forEach((t, i) => {
          const frame = tick - (offsets[i] ?? 0) / 10;
          if (frame >= 0 && frame < frames) t.push(pcm.subarray(frame * FRAME, (frame + 1) * FRAME));
        });
      }
      await Promise.all(transcribers.map((t) => t.finish()));
      runs.push({
        streams,
        audioSecondsPerStream: pcm.length / 16_000,
        serverCpuSeconds: cpuSecondsOf(server.pid) - cpuBefore,
        finalsExpected: streams * MEETING_SENTENCES.length,
        finals,
        interimsPerStreamSecond: interims / (streams * (pcm.length / 16_000)),
        finalLagMs,
      });
    }
    return runs;
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const percentile = (xs: readonly number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;

export function whisperStreamsReport(runs: readonly WhisperStreamsRun[]): string {
  const lines = ["Whisper server tiny.en pinned to one core, streams of the Festival sentences in real time through the worker's VAD and Whisper client (no test bed):"];
  for (const r of runs) {
    lines.push(
      `  ${r.streams} streams: server ${r.serverCpuSeconds.toFixed(1)} CPU s for ${(r.streams * r.audioSecondsPerStream).toFixed(1)} s of audio (${((r.streams * r.audioSecondsPerStream) / r.serverCpuSeconds).toFixed(2)} streams per server core); ` +
        `finals ${r.finals} for ${r.finalsExpected} sentences, last word -> final p50 ${percentile(r.finalLagMs, 0.5).toFixed(0)} ms, p95 ${percentile(r.finalLagMs, 0.95).toFixed(0)} ms; interim subtitles ${r.interimsPerStreamSecond.toFixed(2)} per stream per second`,
    );
  }
  return `${lines.join("\n")}\n`;
}
