// Test speech: sentences spoken by Festival's HTS voice (Debian festival + festvox-us-slt-hts), joined
// by pauses into one 16 kHz mono recording whose sentence offsets we know, the reference against which
// transcripts and word error rates are measured. (espeak-ng speech is not recognisable by PocketSphinx.)
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { need, wavDurationMs } from "./recorded-speech.ts";

const run = promisify(execFile);

export const FESTIVAL_VOICE = "voice_cmu_us_slt_arctic_hts";

/** Meeting-like sentences; the integration test and the benchmark share them. */
export const MEETING_SENTENCES = [
  "The meeting will start at ten o'clock this morning.",
  "Please send the report to the whole team before Friday.",
  "We need a decision on the budget for next year.",
  "The minister will visit the regional office in June.",
  "Can everyone hear me clearly?",
] as const;

export interface PlacedSentence {
  text: string;
  startMs: number;
  endMs: number;
}

export interface SpeechRecording {
  wavPath: string;
  durationMs: number;
  sentences: PlacedSentence[];
}

/**
 * Speaks each sentence with Festival, then joins them as `leadMs` of quiet, sentence, `gapMs` of quiet, …,
 * `leadMs` of quiet, with a faint noise bed (-60 dBFS) under everything, as in a real room recording.
 * sox runs in repeatable mode, so the same sentences give the same file.
 */
export async function synthesizeRecording(
  dir: string,
  sentences: readonly string[],
  { leadMs = 1000, gapMs = 1500 }: { leadMs?: number; gapMs?: number } = {},
): Promise<SpeechRecording> {
  await need("text2wave", "festival (with festvox-us-slt-hts)");
  await need("sox", "sox");
  const parts = await Promise.all(
    sentences.map(async (text, i) => {
      const textPath = join(dir, `sentence-${i}.txt`);
      const rawPath = join(dir, `sentence-${i}-festival.wav`);
      const wavPath = join(dir, `sentence-${i}.wav`);
      await writeFile(textPath, `${text}\n`);
      await run("text2wave", ["-eval", `(${FESTIVAL_VOICE})`, textPath, "-o", rawPath]);
      await run("sox", ["-R", rawPath, "-r", "16000", "-c", "1", "-b", "16", wavPath]);
      return { text, wavPath, durationMs: await wavDurationMs(wavPath) };
    }),
  );
  const placed: PlacedSentence[] = [];
  const soxInputs: string[] = [];
  let at = 0;
  parts.forEach((part, i) => {
    const pause = i === 0 ? leadMs : gapMs;
    const silencePath = join(dir, `pause-${i}.wav`);
    soxInputs.push(silencePath, part.wavPath);
    at += pause;
    placed.push({ text: part.text, startMs: at, endMs: at + part.durationMs });
    at += part.durationMs;
  });
  await Promise.all(
    parts.map((_, i) =>
      run("sox", ["-R", "-n", "-r", "16000", "-c", "1", "-b", "16", join(dir, `pause-${i}.wav`), "trim", "0", String((i === 0 ? leadMs : gapMs) / 1000)]),
    ),
  );
  const tailPath = join(dir, "pause-tail.wav");
  await run("sox", ["-R", "-n", "-r", "16000", "-c", "1", "-b", "16", tailPath, "trim", "0", String(leadMs / 1000)]);
  const speechPath = join(dir, "speech.wav");
  await run("sox", ["-R", ...soxInputs, tailPath, speechPath]);
  const total = await wavDurationMs(speechPath);
  const noisePath = join(dir, "noise.wav");
  await run("sox", ["-R", "-n", "-r", "16000", "-c", "1", "-b", "16", noisePath, "synth", String(total / 1000), "whitenoise", "vol", "0.002"]);
  const wavPath = join(dir, "recording.wav");
  await run("sox", ["-R", "-m", speechPath, noisePath, "-b", "16", wavPath]);
  return { wavPath, durationMs: await wavDurationMs(wavPath), sentences: placed };
}
