// The sherpa-onnx engine with the real native addon (sherpa-onnx-node). No package on npm or PyPI ships
// a streaming transducer model, so the streaming path runs with a synthetic one
// (bridge/src/stt/testing/synthetic-transducer: icefall's LSTM transducer layout, which "recognises"
// each onset of sound as the next of two words): sherpa-onnx's own recognizer loads it, extracts the
// features, runs the encoder, decoder and joiner and the greedy search. Also: the model directory and
// file checks, and a broken model refused at checkReady() without taking this process down
// (onnxruntime aborts on it). Recognition accuracy is not tested: that needs a real model.
import { strict as assert } from "node:assert";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SttEngineNotReadyError, type SttResult } from "../../../bridge/src/stt/engine.ts";
import {
  loadSherpaOnnx,
  recognizerConfig,
  resolveModelFiles,
  SherpaOnnxEngine,
  wordsFromTokens,
  type SherpaOnnxOptions,
} from "../../../bridge/src/stt/sherpa-onnx.ts";

const SYNTHETIC_MODEL = new URL("../../../bridge/src/stt/testing/synthetic-transducer/", import.meta.url).pathname;

/** 16 kHz audio: silence with 440 Hz tone bursts at the given [start, end) milliseconds. */
function bursts(totalMs: number, spans: [number, number][]): Int16Array {
  const pcm = new Int16Array(totalMs * 16);
  for (const [start, end] of spans) {
    for (let i = start * 16; i < end * 16; i++) pcm[i] = Math.round(0.3 * 32767 * Math.sin((2 * Math.PI * 440 * i) / 16_000));
  }
  return pcm;
}

function options(modelDir: string, overrides: Partial<SherpaOnnxOptions> = {}): SherpaOnnxOptions {
  return { modelDir, preferInt8: false, language: "fr", numThreads: 1, decodingMethod: "greedy_search", ...overrides };
}

async function notReady(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (err: Error) => {
    assert.ok(err instanceof SttEngineNotReadyError, `${err.name}: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe("sherpa-onnx engine", function () {
  this.timeout(30_000);
  let dir: string;

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), "visio-sherpa-"));
  });

  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  async function files(names: string[], content = "x"): Promise<void> {
    for (const name of names) await writeFile(join(dir, name), content);
  }

  it("names a missing model directory and each missing file of the transducer", async function () {
    await notReady(new SherpaOnnxEngine(options(join(dir, "absent"))).checkReady(), /sherpa-onnx model directory .*absent is missing \(set stt\.sherpa_onnx\.model_dir\)/);
    await files(["encoder-epoch-99-avg-1.onnx", "decoder-epoch-99-avg-1.onnx", "tokens.txt"]);
    await notReady(new SherpaOnnxEngine(options(dir)).checkReady(), /has no joiner file \(joiner\*\.onnx\)/);
    await notReady(
      new SherpaOnnxEngine(options(dir, { joiner: "joiner-epoch-99-avg-1.onnx" })).checkReady(),
      new RegExp(`sherpa-onnx joiner file ${join(dir, "joiner-epoch-99-avg-1.onnx").replace(/[.]/g, "\\.")} is missing`),
    );
    await files(["joiner-epoch-99-avg-1.onnx"], "");
    await notReady(new SherpaOnnxEngine(options(dir)).checkReady(), /joiner file .*joiner-epoch-99-avg-1\.onnx is empty/);
  });

  it("finds the files by prefix, takes the int8 ones when asked, and asks which one when it cannot tell", async function () {
    const roles = ["encoder", "decoder", "joiner"];
    await files([...roles.map((r) => `${r}-epoch-99-avg-1.onnx`), ...roles.map((r) => `${r}-epoch-99-avg-1.int8.onnx`), "tokens.txt"]);
    const plain = await resolveModelFiles(options(dir));
    assert.deepEqual(plain, {
      encoder: join(dir, "encoder-epoch-99-avg-1.onnx"),
      decoder: join(dir, "decoder-epoch-99-avg-1.onnx"),
      joiner: join(dir, "joiner-epoch-99-avg-1.onnx"),
      tokens: join(dir, "tokens.txt"),
    });
    assert.equal((await resolveModelFiles(options(dir, { preferInt8: true }))).encoder, join(dir, "encoder-epoch-99-avg-1.int8.onnx"));
    await files(["encoder-epoch-30-avg-10.onnx"]);
    await notReady(resolveModelFiles(options(dir)), /several encoder files \(encoder-epoch-30-avg-10\.onnx, encoder-epoch-99-avg-1\.onnx\): set stt\.sherpa_onnx\.encoder/);
    assert.equal((await resolveModelFiles(options(dir, { encoder: "encoder-epoch-30-avg-10.onnx" }))).encoder, join(dir, "encoder-epoch-30-avg-10.onnx"));
  });

  it("loads the native addon, whose own config check refuses a missing file with an exception", function () {
    const sherpa = loadSherpaOnnx();
    assert.equal(typeof sherpa.OnlineRecognizer, "function");
    const config = recognizerConfig(
      { encoder: join(dir, "e.onnx"), decoder: join(dir, "d.onnx"), joiner: join(dir, "j.onnx"), tokens: join(dir, "tokens.txt") },
      { numThreads: 1, decodingMethod: "greedy_search" },
    );
    assert.throws(() => new sherpa.OnlineRecognizer(config), /Please check your config/);
  });

  it("streams through sherpa-onnx's recognizer: interim results as words come, one final with word times", async function () {
    const engine = new SherpaOnnxEngine(options(SYNTHETIC_MODEL));
    await engine.checkReady();
    const spans: [number, number][] = [[500, 1000], [1600, 2200]];
    const results: SttResult[] = [];
    const stream = engine.start({ onResult: (r) => results.push(r) });
    const pcm = bursts(3000, spans);
    for (let at = 0; at < pcm.length; at += 320) stream.write(pcm.subarray(at, at + 320));
    // Interim results come while the audio is written, before end().
    assert.deepEqual(results.map((r) => [r.text, r.final]), [["BONJOUR", false], ["BONJOUR MADAME", false]]);
    await stream.end();
    const final = results.at(-1);
    assert.equal(final?.final, true);
    assert.equal(final.text, "BONJOUR MADAME");
    const words = final.words ?? [];
    assert.equal(words.length, 2);
    // The encoder works on 40 ms groups of 10 ms feature frames (25 ms windows): within 80 ms.
    words.forEach((word, i) => assert.ok(Math.abs(word.startMs - spans[i]![0]) <= 80, `${word.text} at ${word.startMs} ms, sound at ${spans[i]![0]} ms`));
    assert.ok(final.endMs <= 3000);
  });

  it("keeps streams of one recognizer apart, and gives nothing for silence or after abort", async function () {
    const engine = new SherpaOnnxEngine(options(SYNTHETIC_MODEL));
    const a: SttResult[] = [];
    const b: SttResult[] = [];
    const first = engine.start({ onResult: (r) => a.push(r) });
    const second = engine.start({ onResult: (r) => b.push(r) });
    first.write(bursts(1000, [[200, 600]]));
    second.write(new Int16Array(16_000));
    first.write(bursts(1000, [[200, 600]]));
    await Promise.all([first.end(), second.end()]);
    assert.equal(a.at(-1)?.text, "BONJOUR MADAME");
    assert.deepEqual(b, []);

    const c: SttResult[] = [];
    const aborted = engine.start({ onResult: (r) => c.push(r) });
    aborted.abort();
    aborted.write(bursts(1000, [[200, 600]]));
    await aborted.end();
    assert.deepEqual(c, []);
  });

  it("refuses a broken model at checkReady() with onnxruntime's reason naming the file, and this process lives on", async function () {
    await cp(SYNTHETIC_MODEL, dir, { recursive: true });
    await writeFile(join(dir, "decoder.onnx"), "not an onnx file");
    const engine = new SherpaOnnxEngine(options(dir));
    await notReady(engine.checkReady(), /sherpa-onnx cannot load the model: .*Load model from .*\/decoder\.onnx failed:.*Protobuf parsing failed/);
    // A stream of an engine that is not ready fails at its end, with the same reason, and gives no result.
    const results: unknown[] = [];
    const stream = engine.start({ onResult: (r) => results.push(r) });
    stream.write(new Int16Array(1600));
    await notReady(stream.end(), /Protobuf parsing failed/);
    assert.deepEqual(results, []);
  });

  it("turns SentencePiece tokens and their start times into words", function () {
    const words = wordsFromTokens(
      { text: "BONJOUR À TOUS", tokens: ["▁BON", "JOUR", "▁À", "▁TOUS"], timestamps: [0.32, 0.48, 0.8, 1.04] },
      1500,
    );
    assert.deepEqual(words, [
      { text: "BONJOUR", startMs: 320, endMs: 720 },
      { text: "À", startMs: 800, endMs: 1040 },
      { text: "TOUS", startMs: 1040, endMs: 1280 },
    ]);
    // The last word never ends after the audio.
    assert.equal(wordsFromTokens({ text: "OUI", tokens: ["▁OUI"], timestamps: [0.9] }, 1000)[0]?.endMs, 1000);
  });
});
