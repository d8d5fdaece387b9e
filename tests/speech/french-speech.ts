// Recorded French test speech: the descriptions of Tux Paint's stamps, spoken by a person (Debian
// tuxpaint-stamps-default, GPL-2: /usr/share/tuxpaint/stamps/<category>/.../<stamp>_desc_fr.ogg, Ogg
// Vorbis, 44.1 kHz stereo), whose written text is the `fr.utf8=` line of the stamp's <stamp>.txt. Chosen
// clips are decoded to 16 kHz mono and joined by pauses into one meeting-length recording, in the
// shape of festival-speech.ts's, the reference against which French transcripts are measured.
import { execFile } from "node:child_process";
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { promisify } from "node:util";
import { normaliseWords } from "../../bridge/src/transcript/word-error-rate.ts";
import type { PlacedSentence, SpeechRecording } from "./festival-speech.ts";

const run = promisify(execFile);

export const TUXPAINT_STAMPS_DIR = "/usr/share/tuxpaint/stamps";
export const TUXPAINT_STAMPS_PACKAGE = "tuxpaint-stamps-default";
const CLIP_SUFFIX = "_desc_fr.ogg";

export interface FrenchClip {
  oggPath: string;
  /** What the speaker says, as the stamp's description file writes it. */
  text: string;
  /** The stamp's top-level folder: animals, food, symbols, town, vehicles… */
  category: string;
}

export interface TimedFrenchClip extends FrenchClip {
  durationMs: number;
}

async function need(command: string, debianPackage: string): Promise<void> {
  try {
    await run("sh", ["-c", 'command -v "$0"', command]);
  } catch {
    throw new Error(`${command} is missing: install the Debian package ${debianPackage} (scripts/toolchain.sh does)`);
  }
}

/**
 * The French text of a stamp description file: its `fr.utf8=` line (every stamp of Debian 12's package
 * has exactly one), else a plain `fr=` line; undefined when there is none or it is empty.
 */
export function frenchTextOf(description: string): string | undefined {
  const lines = description.split(/\r?\n/);
  for (const key of ["fr.utf8=", "fr="]) {
    const line = lines.find((l) => l.startsWith(key));
    const text = line?.slice(key.length).trim();
    if (text !== undefined && text !== "") return text;
  }
  return undefined;
}

/** Every French description clip with its text, sorted by path; clips whose text is missing are left out. */
export async function listFrenchClips(stampsDir = TUXPAINT_STAMPS_DIR): Promise<FrenchClip[]> {
  const isDir = await stat(stampsDir).then((s) => s.isDirectory(), () => false);
  if (!isDir) {
    throw new Error(`${stampsDir} is missing: install the Debian package ${TUXPAINT_STAMPS_PACKAGE} (scripts/toolchain.sh does)`);
  }
  const paths = (await readdir(stampsDir, { recursive: true }))
    .filter((p) => p.endsWith(CLIP_SUFFIX))
    .map((p) => join(stampsDir, p))
    .sort();
  const clips: FrenchClip[] = [];
  for (const oggPath of paths) {
    const description = await readFile(`${oggPath.slice(0, -CLIP_SUFFIX.length)}.txt`, "utf8").catch(() => undefined);
    const text = description === undefined ? undefined : frenchTextOf(description);
    if (text === undefined) continue;
    const category = relative(stampsDir, dirname(oggPath)).split("/")[0] ?? "";
    clips.push({ oggPath, text, category });
  }
  if (clips.length === 0) throw new Error(`no French description clip under ${stampsDir} (Debian package ${TUXPAINT_STAMPS_PACKAGE})`);
  return clips;
}

/** Each clip's duration, read by soxi (many files per call). */
export async function timeFrenchClips(clips: readonly FrenchClip[]): Promise<TimedFrenchClip[]> {
  await need("soxi", "sox");
  const timed: TimedFrenchClip[] = [];
  for (let i = 0; i < clips.length; i += 200) {
    const batch = clips.slice(i, i + 200);
    const { stdout } = await run("soxi", ["-D", ...batch.map((c) => c.oggPath)]);
    const seconds = stdout.trim().split("\n").map(Number);
    batch.forEach((clip, j) => timed.push({ ...clip, durationMs: Math.round((seconds[j] ?? NaN) * 1000) }));
  }
  return timed;
}

export interface FrenchSelection {
  /** How many clips; all eligible ones when absent or larger. */
  count?: number;
  /** Clips shorter than this are left out (many are a single word, under a second). */
  minMs?: number;
  maxMs?: number;
  /** Fewest words in the text: a phrase, not a name. */
  minWords?: number;
}

/**
 * Clips that make a fair French test: at least `minMs` long, a phrase of `minWords` words or more, and no
 * figures or currency signs in the text (whether "cent" comes back as "100" is a question of writing,
 * not of hearing). `count` of them spread evenly over the sorted list, so the same package always
 * gives the same clips.
 */
export async function chooseFrenchClips(
  { count, minMs = 1500, maxMs = 20_000, minWords = 3 }: FrenchSelection = {},
  stampsDir = TUXPAINT_STAMPS_DIR,
): Promise<TimedFrenchClip[]> {
  const phrases = (await listFrenchClips(stampsDir)).filter(
    (c) => normaliseWords(c.text).length >= minWords && !/[\p{N}$€£¥%]/u.test(c.text),
  );
  const eligible = (await timeFrenchClips(phrases)).filter((c) => c.durationMs >= minMs && c.durationMs <= maxMs);
  if (count === undefined || count >= eligible.length) return eligible;
  return Array.from({ length: count }, (_, i) => eligible[Math.floor((i * eligible.length) / count)]!);
}

/**
 * The clips a live French call plays (a caller's microphone in the browser tests): four phrases of 2.5 s
 * or more, 30 s with 2 s pauses, the last a long one (11.5 s) the VAD keeps as one utterance.
 */
export const FRENCH_CALL_CLIPS: FrenchSelection = { count: 4, minMs: 2500 };
/**
 * Their WER bound. Measured through the bridge's VAD and base, from the recording itself: 0.108 (8
 * errors in 74 words: "syrphide" heard as "surface", "Angleterre" as "angle terres"…) in each of three
 * runs; a call adds the browser's capture and Opus, hence the room.
 */
export const FRENCH_CALL_MAX_WER = 0.3;

async function wavDurationMs(wavPath: string): Promise<number> {
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
 * Decodes each clip (sox reads Ogg Vorbis) to 16 kHz mono 16-bit and joins them as `leadMs` of quiet,
 * clip, `gapMs` of quiet, …, `leadMs` of quiet, into `dir`/recording.wav. sox runs in repeatable mode,
 * so the same clips give the same file.
 */
export async function recordFrenchMeeting(
  dir: string,
  clips: readonly FrenchClip[],
  { leadMs = 1000, gapMs = 1500 }: { leadMs?: number; gapMs?: number } = {},
): Promise<SpeechRecording> {
  await need("sox", "sox");
  if (clips.length === 0) throw new Error("recordFrenchMeeting: no clip given");
  const silence = async (path: string, ms: number): Promise<void> => {
    await run("sox", ["-R", "-n", "-r", "16000", "-c", "1", "-b", "16", path, "trim", "0", String(ms / 1000)]);
  };
  const leadPath = join(dir, "pause-lead.wav");
  const gapPath = join(dir, "pause-gap.wav");
  await silence(leadPath, leadMs);
  await silence(gapPath, gapMs);
  const parts = await inPool(clips, 4, async (clip, i) => {
    const wavPath = join(dir, `clip-${i}.wav`);
    await run("sox", ["-R", clip.oggPath, "-r", "16000", "-c", "1", "-b", "16", wavPath]);
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
