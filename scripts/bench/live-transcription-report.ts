// The live transcription bench's lines (npm run bench, and a run of that bench alone).
import type { LiveTranscriptionBench, SimultaneousCalls } from "./live-transcription.ts";

const fmt = (n: number): string => n.toFixed(0);

function percentileOf(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN;
}

/** Streams one core sustains: seconds of audio over CPU seconds of the worker and its Whisper server. */
export function streamsPerCore(calls: SimultaneousCalls, audioSecondsPerStream: number): number {
  return (calls.streams * audioSecondsPerStream) / (calls.workerCpuSeconds + calls.engineCpuSeconds);
}

function simultaneousLines(calls: SimultaneousCalls, audioSecondsPerStream: number): string[] {
  const audioSeconds = calls.streams * audioSecondsPerStream;
  const perCore = streamsPerCore(calls, audioSecondsPerStream);
  return [
    `    worker ${calls.workerCpuSeconds.toFixed(1)} CPU s + Whisper server ${calls.engineCpuSeconds.toFixed(1)} CPU s for ${audioSeconds.toFixed(1)} s of audio = CPU real-time factor ${(1 / perCore).toFixed(2)} per stream (worker alone ${(calls.workerCpuSeconds / audioSeconds).toFixed(3)}), ${perCore.toFixed(2)} streams per core`,
    `    final lines: ${calls.finalsPosted} posted in the threads, ${calls.finalSubtitles} final subtitles at B, for ${calls.finalsExpected} sentences (${calls.errorReports} error reports); interim subtitles ${calls.interimsPerStreamSecond.toFixed(2)} per call per second of audio`,
    `    end of sentence -> final subtitle at B: p50 ${fmt(percentileOf(calls.subtitleLagMs, 0.5))} ms, p95 ${fmt(percentileOf(calls.subtitleLagMs, 0.95))} ms over ${calls.subtitleLagMs.length} sentences`,
  ];
}

export function liveTranscriptionLines(live: LiveTranscriptionBench): string[] {
  const language = live.language === "fr" ? "French" : "English";
  const lines = [
    `live transcription, ${language} meeting (default engine: Whisper ${live.engineModel} through the Whisper server; worker in A's namespace, caller of A speaking ${live.speech}, caller of B receiving; ${live.callsMeasured} calls measured, ${live.callsLeftOut} left out where a sentence got no final subtitle):`,
    `  start of sentence -> first (interim) subtitle at B's caller: p50 ${fmt(percentileOf(live.firstTextLagMs, 0.5))} ms, p95 ${fmt(percentileOf(live.firstTextLagMs, 0.95))} ms over ${live.firstTextLagMs.length} sentences (target p50 <= 1000)`,
    `  end of sentence -> final subtitle at B's caller: p50 ${fmt(percentileOf(live.subtitleLagMs, 0.5))} ms, p95 ${fmt(percentileOf(live.subtitleLagMs, 0.95))} ms (target p50 <= 1000)`,
    `  end of sentence -> final message accepted by Synapse A: p50 ${fmt(percentileOf(live.postedLagMs, 0.5))} ms, p95 ${fmt(percentileOf(live.postedLagMs, 0.95))} ms (target p50 < 2000)`,
    `  ${live.capacity.streams} calls spoken at once into one worker (pinned to one core), the Whisper server on any core (target >= 3 streams per core); worker RSS ${live.workerRssMiB.toFixed(0)} MiB:`,
    ...simultaneousLines(live.capacity, live.audioSecondsPerStream),
  ];
  if (live.overload !== undefined) {
    lines.push(
      `  overload: ${live.overload.streams} calls at once, the worker and the Whisper server together on one core (every sentence should still get its final line; interim subtitles thin out first):`,
      ...simultaneousLines(live.overload, live.audioSecondsPerStream),
    );
  }
  return [...lines, ""];
}
