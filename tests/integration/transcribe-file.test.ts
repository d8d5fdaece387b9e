// The recording CLI end to end with the real engines: Festival speaks known sentences at known offsets,
// `transcribe-file` writes WebVTT and Markdown with the default engine (Whisper, through Visio's
// Whisper server) and with the PocketSphinx fallback, and we check the files against what was said
// and when.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startWhisperServer, type WhisperServer } from "../../bridge/whisper-server/whisper-server.ts";
import { parseWebVtt, type WebVttCue } from "../../bridge/src/transcript/webvtt.ts";
import { wordErrorRate } from "../../bridge/src/transcript/word-error-rate.ts";
import { MEETING_SENTENCES, synthesizeRecording, type SpeechRecording } from "../harness/speech/festival-speech.ts";

const run = promisify(execFile);
const CLI = join(import.meta.dirname, "../../bridge/src/transcribe-file.ts");

// Measured on the five sentences (43 words): 1 error (WER 0.023) from the WAV and from its Ogg/Opus, in every
// run so far (sox runs in repeatable mode, so the audio is the same each time). The bound leaves room for
// three more errors, e.g. a model update, without letting a broken pipeline through.
const MAX_WER = 0.1;
// The VAD starts an utterance 300 ms early and PocketSphinx reports word times to 10 ms; Festival pads each
// sentence with a little silence, so cues sit inside the sentence give or take this much.
const CUE_SLACK_MS = 300;

interface CliResult {
  code: number;
  stderr: string;
}

async function transcribe(args: string[]): Promise<CliResult> {
  try {
    const { stderr } = await run(process.execPath, [CLI, ...args]);
    return { code: 0, stderr };
  } catch (err) {
    const failure = err as { code?: number; stderr?: string };
    return { code: failure.code ?? -1, stderr: failure.stderr ?? String(err) };
  }
}

function checkCues(cues: WebVttCue[], recording: SpeechRecording): void {
  assert.equal(cues.length, recording.sentences.length, "one cue per sentence");
  let previousStart = 0;
  for (const cue of cues) {
    assert.ok(cue.startMs >= previousStart, `cue start times never decrease (${cue.startMs} after ${previousStart})`);
    assert.ok(cue.endMs <= recording.durationMs, `cue ends (${cue.endMs}) within the audio (${recording.durationMs})`);
    assert.equal(cue.voice, "Agent", "the speaker is the cue's voice");
    previousStart = cue.startMs;
  }
  recording.sentences.forEach((sentence, i) => {
    const cue = cues[i];
    assert.ok(cue !== undefined);
    const where = `sentence ${i} at ${sentence.startMs}–${sentence.endMs} ms, cue at ${cue.startMs}–${cue.endMs} ms`;
    assert.ok(cue.startMs >= sentence.startMs - CUE_SLACK_MS && cue.endMs <= sentence.endMs + CUE_SLACK_MS, `cue inside its sentence: ${where}`);
    const overlap = Math.min(cue.endMs, sentence.endMs) - Math.max(cue.startMs, sentence.startMs);
    assert.ok(overlap >= 0.6 * (sentence.endMs - sentence.startMs), `cue covers most of its sentence: ${where}`);
  });
}

describe("transcribe-file CLI (Whisper by default, PocketSphinx, Festival speech)", function () {
  let dir: string;
  let recording: SpeechRecording;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), "visio-transcribe-"));
    recording = await synthesizeRecording(dir, MEETING_SENTENCES);
  });

  after(async function () {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function checkTranscript(name: string, speech: SpeechRecording, engine = "pocketsphinx"): Promise<void> {
    const cues = parseWebVtt(await readFile(join(dir, `${name}.vtt`), "utf8"));
    checkCues(cues, speech);
    const reference = speech.sentences.map((s) => s.text).join(" ");
    const hypothesis = cues.map((c) => c.text).join(" ");
    const { wer, substitutions, deletions, insertions, referenceWords } = wordErrorRate(reference, hypothesis);
    // Printed so that every run shows the figure the bound is about.
    process.stderr.write(`      ${name}: WER ${wer.toFixed(3)} (S ${substitutions}, D ${deletions}, I ${insertions}, N ${referenceWords})\n`);
    assert.ok(wer <= MAX_WER, `${name}: WER ${wer.toFixed(3)} above ${MAX_WER}: "${hypothesis}"`);
    const markdown = await readFile(join(dir, `${name}.md`), "utf8");
    assert.match(markdown, /^# Transcript of recording\.(wav|opus)\n/);
    assert.match(markdown, new RegExp(`- Engine: ${engine}\\n`));
    assert.match(markdown, /\*\*Agent\*\* \(00:0[01]\): the meeting will start/i);
  }

  it("with the default engine (Whisper tiny.en through Visio's Whisper server): WebVTT in time with the speech, and Markdown", async function () {
    this.timeout(300_000);
    let whisper: WhisperServer | undefined;
    try {
      whisper = await startWhisperServer(1);
      const config = join(dir, "whisper.yaml");
      await writeFile(config, `stt:\n  openai:\n    url: ${whisper.url}\n`);
      const result = await transcribe([recording.wavPath, "--out", join(dir, "whisper"), "--speaker", "Agent", "--config", config]);
      assert.equal(result.code, 0, result.stderr);
      await checkTranscript("whisper", recording, "openai");
    } finally {
      await whisper?.stop();
    }
  });

  it("says how to start the Whisper server when it is not running", async function () {
    const config = join(dir, "nowhere.yaml");
    await writeFile(config, "stt:\n  openai:\n    url: http://127.0.0.1:9\n");
    const result = await transcribe([recording.wavPath, "--out", join(dir, "nowhere"), "--config", config]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /127\.0\.0\.1:9 unreachable/);
  });

  it("writes a WebVTT file that parses and is in time with the speech, and Markdown, from WAV (PocketSphinx)", async function () {
    const result = await transcribe([recording.wavPath, "--out", join(dir, "wav"), "--speaker", "Agent", "--engine", "pocketsphinx"]);
    assert.equal(result.code, 0, result.stderr);
    await checkTranscript("wav", recording);
  });

  it("reads Ogg/Opus recordings the same way", async function () {
    // Two sentences are enough to show that the Opus path decodes, resamples and keeps the timing.
    const shortDir = join(dir, "short");
    await mkdir(shortDir);
    const short = await synthesizeRecording(shortDir, MEETING_SENTENCES.slice(0, 2));
    const opusPath = join(shortDir, "recording.opus");
    await run("opusenc", ["--quiet", short.wavPath, opusPath]).catch((err: unknown) => {
      throw new Error(`opusenc failed (Debian package opus-tools): ${String(err)}`);
    });
    const result = await transcribe([opusPath, "--out", join(dir, "opus"), "--speaker", "Agent", "--engine", "pocketsphinx"]);
    assert.equal(result.code, 0, result.stderr);
    await checkTranscript("opus", short);
  });

  it("refuses to start with a missing model, naming the path and the Debian package", async function () {
    const missing = join(dir, "no-such-model");
    const result = await transcribe([recording.wavPath, "--out", join(dir, "never"), "--engine", "pocketsphinx", "--model-dir", missing]);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, new RegExp(`${missing}/en-us is missing`));
    assert.match(result.stderr, /pocketsphinx-en-us/);
    await assert.rejects(readFile(join(dir, "never.vtt")), "no transcript is written");
  });

  it("says so when the recording cannot be decoded", async function () {
    const result = await transcribe([join(dir, "sentence-0.txt"), "--out", join(dir, "bad"), "--engine", "pocketsphinx"]);
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /cannot decode/);
  });
});
