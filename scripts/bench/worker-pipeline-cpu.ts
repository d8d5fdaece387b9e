// The transcription worker's own CPU per second of audio, everything but the engine: the live path a
// speaker's audio takes after rtc-node has decoded and resampled it (16 kHz mono frames of the size the
// room listener asks for), through the speaker pipeline, the VAD (Silero v5, the default, and the
// energy VAD) and the utterance logic, into the Whisper client (OpenAI-compatible engine, interim
// re-decoding as configured by default) whose server is a fake answering at once. No LiveKit there:
// rtc-node's own part (Opus decoding, its resampler) is measured apart, with a LiveKit server
// (rtc-receive-cpu.ts). The speech is recorded French phrases (Debian tuxpaint-stamps-default) with
// pauses, several speakers at once.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { AUDIO_FRAME_MS, SpeakerPipelines } from "../../bridge/src/live/speaker-pipelines.ts";
import { OpenAiCompatibleEngine } from "../../bridge/src/stt/openai-compatible.ts";
import type { VadSettings } from "../../bridge/src/transcript/vad.ts";
import { listFrenchClips } from "../../tests/harness/speech/french-speech.ts";
import { benchRtcReceive } from "./rtc-receive-cpu.ts";

const run = promisify(execFile);
const SAMPLE_RATE = 16_000;
const PAUSE_SAMPLES = 1.2 * SAMPLE_RATE;

async function decode(ogg: string): Promise<Int16Array> {
  const { stdout } = await run("sox", [ogg, "-t", "raw", "-r", String(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer", "-"], {
    encoding: "buffer",
    maxBuffer: 1 << 28,
  });
  return new Int16Array(stdout.buffer, stdout.byteOffset, stdout.length / 2);
}

/** About a minute of one speaker: recorded phrases with pauses between them. */
export async function speechMaterial(phrases = 20): Promise<Int16Array> {
  const clips = (await listFrenchClips()).sort((a, b) => a.audioPath.localeCompare(b.audioPath)).slice(0, phrases);
  const decoded = await Promise.all(clips.map((c) => decode(c.audioPath)));
  const pcm = new Int16Array(decoded.reduce((sum, p) => sum + p.length + PAUSE_SAMPLES, PAUSE_SAMPLES));
  let at = PAUSE_SAMPLES;
  for (const phrase of decoded) {
    pcm.set(phrase, at);
    at += phrase.length + PAUSE_SAMPLES;
  }
  return pcm;
}

/** A Whisper server that answers every request at once with a few words (no decoding). */
const fakeWhisper: typeof fetch = async (_url, init) => {
  const form = init?.body as FormData | undefined;
  const file = form?.get("file");
  const bytes = file instanceof Blob ? file.size : 0;
  const seconds = Math.max(0, (bytes - 44) / 2 / SAMPLE_RATE);
  const body = url(_url).endsWith("/v1/models")
    ? { data: [{ id: "base", languages: ["fr", "en"] }] }
    : { text: "bonjour à tous", segments: [{ start: 0, end: seconds }], words: [{ word: "bonjour", start: 0, end: seconds / 2 }, { word: "à", start: seconds / 2, end: seconds / 2 }, { word: "tous", start: seconds / 2, end: seconds }] };
  return new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
};
const url = (input: Parameters<typeof fetch>[0]): string => (typeof input === "string" ? input : input instanceof URL ? input.href : input.url);

export interface PipelineCpuRun {
  /** CPU seconds of this process per second of audio (all streams together). */
  cpuPerAudioSecond: number;
  segments: number;
}

/**
 * Feeds `streams` speakers' audio (the same recording, each offset) in frames of AUDIO_FRAME_MS, frame
 * by frame in turn as the room listener receives them, and measures process.cpuUsage around it. The
 * fake server's answers are awaited at the end, so their handling is counted.
 */
export async function benchPipelineCpu(pcm: Int16Array, vad: VadSettings, streams = 4): Promise<PipelineCpuRun> {
  const engine = new OpenAiCompatibleEngine({ url: "http://whisper.invalid", models: ["base"], language: "fr", timeoutMs: 30_000, interimIntervalMs: 400, fetch: fakeWhisper });
  await engine.checkReady();
  let segments = 0;
  const pipelines = new SpeakerPipelines({
    engine,
    language: "fr",
    vad,
    nowMs: () => 0,
    onSegment: () => {
      segments++;
    },
    onError: (_sid, err) => {
      throw err;
    },
  });
  for (let s = 0; s < streams; s++) pipelines.open(`TR_${s}`, { id: `@speaker${s}:a.test`, name: `Speaker ${s}` });
  const frame = (AUDIO_FRAME_MS * SAMPLE_RATE) / 1000;
  const start = process.cpuUsage();
  for (let at = 0; at + frame <= pcm.length; at += frame) {
    for (let s = 0; s < streams; s++) {
      // rtc-node hands each frame over in its own new buffer.
      const offset = (at + s * 7 * SAMPLE_RATE) % (pcm.length - frame);
      pipelines.push(`TR_${s}`, pcm.slice(offset, offset + frame));
    }
    // Let the fake server's answers in, as a live worker's event loop does between frames.
    if ((at / frame) % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await pipelines.closeAll();
  const used = process.cpuUsage(start);
  const audioSeconds = (streams * Math.floor(pcm.length / frame) * frame) / SAMPLE_RATE;
  return { cpuPerAudioSecond: (used.user + used.system) / 1e6 / audioSeconds, segments };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export interface PipelineCpuReport {
  silero: number[];
  energy: number[];
  /** rtc-node receiving 4 tracks, CPU s per audio s; absent without a LiveKit binary. */
  rtcReceive?: number[];
}

export async function benchWorkerPipeline(runs = 5, livekitBinary?: string): Promise<PipelineCpuReport> {
  const model = process.env.VISIO_SILERO_VAD_MODEL;
  if (model === undefined || model === "") throw new Error("VISIO_SILERO_VAD_MODEL is not set: run `npm run bench`, which installs the Silero VAD model");
  const pcm = await speechMaterial();
  await benchPipelineCpu(pcm.subarray(0, 10 * SAMPLE_RATE), { sileroModel: model }, 1); // warm-up
  const report: PipelineCpuReport = { silero: [], energy: [] };
  for (let i = 0; i < runs; i++) {
    report.silero.push((await benchPipelineCpu(pcm, { sileroModel: model })).cpuPerAudioSecond);
    report.energy.push((await benchPipelineCpu(pcm, {})).cpuPerAudioSecond);
  }
  if (livekitBinary !== undefined) report.rtcReceive = await benchRtcReceive(livekitBinary, 3);
  return report;
}

export function workerPipelineReport(report: PipelineCpuReport): string {
  const line = (label: string, xs: number[]): string =>
    `  ${label}: median ${median(xs).toFixed(4)} CPU s per audio s = ${(1 / median(xs)).toFixed(0)} streams per core (runs: ${xs.map((x) => x.toFixed(4)).join(", ")})`;
  const rtc = report.rtcReceive;
  const total = rtc === undefined ? undefined : median(rtc) + median(report.silero);
  return [
    `transcription worker without the engine (${AUDIO_FRAME_MS} ms frames of 16 kHz from rtc-node, 4 speakers at once, recorded French speech, VAD, utterances, Whisper client with a fake server; ${report.silero.length} runs):`,
    line("Silero VAD (default)", report.silero),
    line("energy VAD          ", report.energy),
    ...(rtc === undefined || total === undefined
      ? []
      : [
          line("rtc-node receiving the 4 tracks from a LiveKit server (Opus decoding, resampling, frames to JavaScript)", rtc),
          `  together with Silero: ${total.toFixed(4)} CPU s per audio s = ${(1 / total).toFixed(0)} streams per core for the worker's part`,
        ]),
    "  target: <= 0.05 CPU s per audio s",
    "",
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(workerPipelineReport(await benchWorkerPipeline(Number(process.argv[2] ?? 3), process.env.VISIO_LIVEKIT_BIN)));
}
