// The sherpa-onnx engine with the real native addon (sherpa-onnx-node): no package on npm or PyPI ships
// a streaming transducer model, so these tests cover what runs without one: the model directory and
// file checks, the addon loading, a broken model refused at checkReady() without taking this process
// down (onnxruntime aborts on it), and the word timing from tokens.
import { strict as assert } from "node:assert";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SttEngineNotReadyError } from "../../../bridge/src/stt/engine.ts";
import {
  loadSherpaOnnx,
  recognizerConfig,
  resolveModelFiles,
  SherpaOnnxEngine,
  wordsFromTokens,
  type SherpaOnnxOptions,
} from "../../../bridge/src/stt/sherpa-onnx.ts";

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

  it("refuses a broken model at checkReady() with onnxruntime's reason, and this process lives on", async function () {
    await files(["encoder.onnx", "decoder.onnx", "joiner.onnx"], "not an onnx file");
    await files(["tokens.txt"], "<blk> 0\n▁BONJOUR 1\n");
    const engine = new SherpaOnnxEngine(options(dir));
    await notReady(engine.checkReady(), /sherpa-onnx cannot load the model: .*Load model from .*\.onnx failed:.*Protobuf parsing failed/);
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
      { text: "BONJOUR", startMs: 320, endMs: 800 },
      { text: "À", startMs: 800, endMs: 1040 },
      { text: "TOUS", startMs: 1040, endMs: 1280 },
    ]);
    // The last word never ends after the audio.
    assert.equal(wordsFromTokens({ text: "OUI", tokens: ["▁OUI"], timestamps: [0.9] }, 1000)[0]?.endMs, 1000);
  });
});
