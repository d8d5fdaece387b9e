import { strict as assert } from "node:assert";
import { ConfigError } from "../../../config/load.ts";
import { parseBridgeConfig } from "../../../config/bridge-schema.ts";
import { engineFromConfig } from "../../../bridge/src/stt/engine-from-config.ts";

describe("bridge configuration", function () {
  it("defaults to Whisper through Visio's Whisper server beside the worker, with interim re-decoding, and the default VAD", function () {
    const config = parseBridgeConfig({});
    assert.equal(config.stt.engine, "openai");
    assert.equal(config.stt.openai.url, "http://127.0.0.1:8090");
    assert.deepEqual(config.stt.openai.models, ["tiny.en", "base"]);
    assert.equal(config.stt.openai.interim_interval_ms, 400);
    assert.equal(config.vad.end_silence_ms, 600);
    const engine = engineFromConfig(config.stt);
    assert.equal(engine.name, "openai");
  });

  it("keeps PocketSphinx with Debian's model as the light fallback", function () {
    const config = parseBridgeConfig({ stt: { engine: "pocketsphinx" } });
    assert.equal(config.stt.pocketsphinx.model_dir, "/usr/share/pocketsphinx/model/en-us");
    const engine = engineFromConfig(config.stt);
    assert.equal(engine.name, "pocketsphinx");
    assert.equal(engine.language, "en");
  });

  it("builds the OpenAI-compatible engine from its section", function () {
    const config = parseBridgeConfig({ stt: { engine: "openai", openai: { url: "http://127.0.0.1:8000", models: ["small"], language: "fr" } } });
    const engine = engineFromConfig(config.stt);
    assert.equal(engine.name, "openai");
    assert.equal(engine.language, "fr");
  });

  it("names every wrong or unknown key", function () {
    assert.throws(
      () => parseBridgeConfig({ stt: { engine: "openai", colour: "blue" }, vad: { end_silence_ms: 5 } }),
      (err: unknown) =>
        err instanceof ConfigError &&
        /stt\.colour: unknown key/.test(err.message) &&
        /vad\.end_silence_ms: /.test(err.message),
    );
    assert.throws(() => parseBridgeConfig({ stt: { openai: { url: "ftp://x" } } }), /stt\.openai\.url: /);
    assert.throws(() => parseBridgeConfig({ stt: { engine: "whisper" } }), /stt\.engine: /);
  });
});
