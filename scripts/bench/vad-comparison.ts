// Voice activity detection on noisy recorded speech: the bridge's two detectors, the energy VAD and
// Silero VAD v5 (a neural model, run by sherpa-onnx-node), with the pipeline's utterance timing. The
// speech is 30 recorded French phrases of a person (Debian tuxpaint-stamps-default) with 1.5 s pauses,
// clean, then mixed with white noise (a fan, a hum) and with babble (other phrases of the same set,
// several at once) at 20, 10 and 5 dB below the speech. The reference speech of each phrase is where
// the clean studio recording is above -45 dBFS. Reported per detector: how much of the reference
// speech it finds, how many phrases it finds at 80 % or more, how many it splits, how much of the
// pauses it takes for speech, and its CPU time. The Silero model ships in npm's @ricky0123/vad-web
// (ISC; Silero's MIT weights); scripts/toolchain.sh fetches it once into the user cache and checks its
// SHA-256.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { EnergyVad } from "../../bridge/src/transcript/energy-vad.ts";
import type { Vad } from "../../bridge/src/transcript/frame-vad.ts";
import { SileroVad } from "../../bridge/src/transcript/silero-vad.ts";
import { listFrenchClips } from "../../tests/harness/speech/french-speech.ts";

const run = promisify(execFile);
const SAMPLE_RATE = 16_000;
const PAUSE_SAMPLES = 1.5 * SAMPLE_RATE;

/** The Silero VAD v5 model scripts/toolchain.sh installed (`npm run bench` sets it). */
function sileroModel(): string {
  const model = process.env.VISIO_SILERO_VAD_MODEL;
  if (model === undefined || model === "") throw new Error("VISIO_SILERO_VAD_MODEL is not set: run `npm run bench`, which installs the Silero VAD model");
  return model;
}

async function decode(ogg: string): Promise<Int16Array> {
  const { stdout } = await run("sox", [ogg, "-t", "raw", "-r", String(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer", "-"], {
    encoding: "buffer",
    maxBuffer: 1 << 28,
  });
  return new Int16Array(stdout.buffer, stdout.byteOffset, stdout.length / 2);
}

/** A fixed pseudo-random sequence in [0, 1): the same phrases and noise on every run. */
function sequence(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

type Span = [startS: number, endS: number];

/** Where a clean clip is speech: from its first to its last 20 ms frame above -45 dBFS. */
function speechSpan(pcm: Int16Array): [number, number] {
  let first = -1;
  let last = -1;
  for (let i = 0; i + 320 <= pcm.length; i += 320) {
    let energy = 0;
    for (let j = i; j < i + 320; j++) energy += pcm[j]! * pcm[j]!;
    if (10 * Math.log10(energy / 320 / 2 ** 30 + 1e-12) > -45) {
      if (first < 0) first = i;
      last = i + 320;
    }
  }
  return [first, last];
}

interface Material {
  clean: Float32Array;
  reference: Span[];
  babble: Int16Array[];
}

async function material(): Promise<Material> {
  const clips = (await listFrenchClips()).sort((a, b) => a.audioPath.localeCompare(b.audioPath));
  const pick = sequence(7);
  const phrases = await Promise.all(clips.filter(() => pick() < 0.05).slice(0, 30).map((c) => decode(c.audioPath)));
  const babble = await Promise.all(clips.filter(() => pick() < 0.02).slice(0, 12).map((c) => decode(c.audioPath)));
  const length = PAUSE_SAMPLES + phrases.reduce((sum, p) => sum + p.length + PAUSE_SAMPLES, 0);
  const clean = new Float32Array(length);
  const reference: Span[] = [];
  let at = PAUSE_SAMPLES;
  for (const phrase of phrases) {
    const [first, last] = speechSpan(phrase);
    reference.push([(at + first) / SAMPLE_RATE, (at + last) / SAMPLE_RATE]);
    for (let i = 0; i < phrase.length; i++) clean[at + i] = phrase[i]! / 32768;
    at += phrase.length + PAUSE_SAMPLES;
  }
  return { clean, reference, babble };
}

/** The clean speech with noise of that kind, `snrDb` below the speech's power. */
function noisy(m: Material, kind: "white" | "babble", snrDb: number): Float32Array {
  const n = m.clean.length;
  const noise = new Float32Array(n);
  const random = sequence(11);
  if (kind === "white") {
    for (let i = 0; i < n; i++) noise[i] = random() * 2 - 1;
  } else {
    for (const source of m.babble) {
      const offset = Math.floor(random() * source.length);
      for (let i = 0; i < n; i++) noise[i]! += source[(i + offset) % source.length]! / 32768;
    }
  }
  let speech = 0;
  let samples = 0;
  for (const [a, b] of m.reference) {
    for (let i = Math.floor(a * SAMPLE_RATE); i < b * SAMPLE_RATE; i++) {
      speech += m.clean[i]! ** 2;
      samples++;
    }
  }
  const noisePower = noise.reduce((sum, v) => sum + v * v, 0) / n;
  const gain = Math.sqrt(speech / samples / 10 ** (snrDb / 10) / noisePower);
  return m.clean.map((v, i) => Math.max(-1, Math.min(1, v + gain * noise[i]!)));
}

/** Speech spans of a detector as the pipeline runs it: utterances from speech start to last speech frame. */
function spansOf(vad: Vad, audio: Float32Array): Span[] {
  const pcm = Int16Array.from(audio, (v) => Math.round(v * 32767));
  const spans: Span[] = [];
  let start = 0;
  for (const event of [...vad.push(pcm), ...vad.flush()]) {
    if (event.type === "speech-start") start = event.startMs / 1000;
    if (event.type === "speech-end") spans.push([start, event.speechEndMs / 1000]);
  }
  return spans;
}

export interface VadScore {
  /** Share of the reference speech inside detected speech. */
  recall: number;
  phrasesFound: number;
  phrasesSplit: number;
  /** Seconds of the pauses (beyond 300 ms before and 700 ms after each phrase) taken for speech. */
  falseSpeechSeconds: number;
  cpuMsPerAudioSecond: number;
}

function score(spans: Span[], reference: Span[], cpuMs: number, audioSeconds: number): VadScore {
  const overlap = (a: Span, b: Span): number => Math.max(0, Math.min(a[1], b[1]) - Math.max(a[0], b[0]));
  let found = 0;
  let total = 0;
  let phrasesFound = 0;
  let phrasesSplit = 0;
  for (const phrase of reference) {
    const length = phrase[1] - phrase[0];
    const inside = Math.min(length, spans.reduce((sum, s) => sum + overlap(s, phrase), 0));
    total += length;
    found += inside;
    if (inside >= 0.8 * length) phrasesFound++;
    if (spans.filter((s) => overlap(s, phrase) > 0).length > 1) phrasesSplit++;
  }
  const detected = spans.reduce((sum, s) => sum + (s[1] - s[0]), 0);
  const nearSpeech = spans.reduce((sum, s) => sum + reference.reduce((a, p) => a + overlap(s, [p[0] - 0.3, p[1] + 0.7]), 0), 0);
  return { recall: found / total, phrasesFound, phrasesSplit, falseSpeechSeconds: detected - nearSpeech, cpuMsPerAudioSecond: cpuMs / audioSeconds };
}

export interface VadCondition {
  condition: string;
  energy: VadScore;
  silero: VadScore;
}

export interface VadComparison {
  phrases: number;
  audioSeconds: number;
  pauseSeconds: number;
  conditions: VadCondition[];
}

export async function benchVadComparison(): Promise<VadComparison> {
  const model = sileroModel();
  const m = await material();
  const audioSeconds = m.clean.length / SAMPLE_RATE;
  const timed = (detect: () => Span[]): [Span[], number] => {
    const before = process.cpuUsage();
    const spans = detect();
    const used = process.cpuUsage(before);
    return [spans, (used.user + used.system) / 1000];
  };
  const conditions: VadCondition[] = [];
  const cases: [string, Float32Array][] = [["clean", m.clean]];
  for (const kind of ["white", "babble"] as const) {
    for (const snr of [20, 10, 5]) cases.push([`${kind} noise ${snr} dB`, noisy(m, kind, snr)]);
  }
  for (const [condition, audio] of cases) {
    // The bridge's own detectors, with the pipeline's timing (frame-vad.ts).
    const [energy, energyMs] = timed(() => spansOf(new EnergyVad(), audio));
    const [silero, sileroMs] = timed(() => spansOf(new SileroVad({ model }), audio));
    conditions.push({ condition, energy: score(energy, m.reference, energyMs, audioSeconds), silero: score(silero, m.reference, sileroMs, audioSeconds) });
  }
  const speechSeconds = m.reference.reduce((sum, [a, b]) => sum + (b - a), 0);
  return { phrases: m.reference.length, audioSeconds, pauseSeconds: audioSeconds - speechSeconds, conditions };
}

export function vadComparisonReport(c: VadComparison): string {
  const line = (name: string, s: VadScore): string =>
    `    ${name}: speech found ${(100 * s.recall).toFixed(1)} %, phrases found ${s.phrasesFound}/${c.phrases}, split ${s.phrasesSplit}, ` +
    `pauses taken for speech ${s.falseSpeechSeconds.toFixed(1)} s of ${c.pauseSeconds.toFixed(0)} s, CPU ${s.cpuMsPerAudioSecond.toFixed(2)} ms per audio second`;
  return [
    `voice activity detection, energy vs Silero v5 (sherpa-onnx), ${c.phrases} recorded French phrases, ${c.audioSeconds.toFixed(0)} s with pauses:`,
    ...c.conditions.flatMap((k) => [`  ${k.condition}:`, line("energy", k.energy), line("silero", k.silero)]),
    "",
  ].join("\n");
}
