// Recorded French test speech: the descriptions of Tux Paint's stamps, spoken by a person (Debian
// tuxpaint-stamps-default, GPL-2: /usr/share/tuxpaint/stamps/<category>/.../<stamp>_desc_fr.ogg, Ogg
// Vorbis, 44.1 kHz stereo), whose written text is the `fr.utf8=` line of the stamp's <stamp>.txt.
// recorded-speech.ts joins chosen clips into one meeting-length recording.
import { execFile } from "node:child_process";
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { promisify } from "node:util";
import { normaliseWords } from "../../../bridge/src/transcript/word-error-rate.ts";
import { need, type RecordedClip } from "./recorded-speech.ts";

const run = promisify(execFile);

export const TUXPAINT_STAMPS_DIR = "/usr/share/tuxpaint/stamps";
export const TUXPAINT_STAMPS_PACKAGE = "tuxpaint-stamps-default";
const CLIP_SUFFIX = "_desc_fr.ogg";

export interface FrenchClip extends RecordedClip {
  /** The stamp's top-level folder: animals, food, symbols, town, vehicles… */
  category: string;
}

export interface TimedFrenchClip extends FrenchClip {
  durationMs: number;
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
  for (const audioPath of paths) {
    const description = await readFile(`${audioPath.slice(0, -CLIP_SUFFIX.length)}.txt`, "utf8").catch(() => undefined);
    const text = description === undefined ? undefined : frenchTextOf(description);
    if (text === undefined) continue;
    const category = relative(stampsDir, dirname(audioPath)).split("/")[0] ?? "";
    clips.push({ audioPath, text, category });
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
    const { stdout } = await run("soxi", ["-D", ...batch.map((c) => c.audioPath)]);
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
