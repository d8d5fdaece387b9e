// Recordings of people speaking, joined into one meeting-length recording in the shape of
// festival-speech.ts's: the reference against which transcripts of real speech are measured.
// french-speech.ts and english-speech.ts choose the clips.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { PlacedSentence, SpeechRecording } from "./festival-speech.ts";

const run = promisify(execFile);

export interface RecordedClip {
  /** Any file sox reads (WAV, FLAC, Ogg Vorbis…). */
  audioPath: string;
  /** What the speaker says. */
  text: string;
  /** Only this part of the file, in ms from its start: a line of a longer reading. */
  fromMs?: number;
  toMs?: number;
}

export async function need(command: string, debianPackage: string): Promise<void> {
  try {
    await run("sh", ["-c", 'command -v "$0"', command]);
  } catch {
    throw new Error(`${command} is missing: install the Debian package ${debianPackage} (scripts/toolchain.sh does)`);
  }
}

/** A 16 kHz WAV file's duration, as soxi counts its samples. */
export async function wavDurationMs(wavPath: string): Promise<number> {
  const { stdout } = await run("soxi", ["-s", wavPath]);
  return Math.round((Number(stdout.trim()) * 1000) / 16_000);
}

/** Runs `task` on every item, `limit` at a time, keeping the order of the results. */
async function inPool<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Decodes each clip to 16 kHz mono 16-bit and joins them as `leadMs` of quiet, clip, `gapMs` of quiet,
 * …, `leadMs` of quiet, into `dir`/recording.wav. sox runs in repeatable mode, so the same clips give
 * the same file.
 */
export async function recordMeeting(
  dir: string,
  clips: readonly RecordedClip[],
  { leadMs = 1000, gapMs = 1500 }: { leadMs?: number; gapMs?: number } = {},
): Promise<SpeechRecording> {
  await need("sox", "sox");
  if (clips.length === 0) throw new Error("recordMeeting: no clip given");
  const silence = async (path: string, ms: number): Promise<void> => {
    await run("sox", ["-R", "-n", "-r", "16000", "-c", "1", "-b", "16", path, "trim", "0", String(ms / 1000)]);
  };
  const leadPath = join(dir, "pause-lead.wav");
  const gapPath = join(dir, "pause-gap.wav");
  await silence(leadPath, leadMs);
  await silence(gapPath, gapMs);
  const parts = await inPool(clips, 4, async (clip, i) => {
    const wavPath = join(dir, `clip-${i}.wav`);
    const trim = clip.fromMs === undefined ? [] : ["trim", String(clip.fromMs / 1000), ...(clip.toMs === undefined ? [] : [`=${clip.toMs / 1000}`])];
    await run("sox", ["-R", clip.audioPath, "-r", "16000", "-c", "1", "-b", "16", wavPath, ...trim]);
    return { text: clip.text, wavPath, durationMs: await wavDurationMs(wavPath) };
  });
  const placed: PlacedSentence[] = [];
  const soxInputs: string[] = [];
  let at = 0;
  parts.forEach((part, i) => {
    soxInputs.push(i === 0 ? leadPath : gapPath, part.wavPath);
    at += i === 0 ? leadMs : gapMs;
    placed.push({ text: part.text, startMs: at, endMs: at + part.durationMs });
    at += part.durationMs;
  });
  const wavPath = join(dir, "recording.wav");
  await run("sox", ["-R", ...soxInputs, leadPath, wavPath]);
  return { wavPath, durationMs: await wavDurationMs(wavPath), sentences: placed };
}
