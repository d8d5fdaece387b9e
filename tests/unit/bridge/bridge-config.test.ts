import { strict as assert } from "node:assert";
import { ConfigError } from "../../../config/load.ts";
import { parseBridgeConfig } from "../../../bridge/src/config.ts";
import { engineFromConfig } from "../../../bridge/src/stt/engine-from-config.ts";

describe("bridge configuration", function () {
  it("defaults to PocketSphinx with Debian's model and the default VAD", function () {
    const config = parseBridgeConfig({});
    assert.equal(config.stt.engine, "pocketsphinx");
    assert.equal(config.stt.pocketsphinx.model_dir, "/usr/share/pocketsphinx/model/en-us");
    assert.equal(config.vad.end_silence_ms, 600);
    const engine = engineFromConfig(config.stt);
    assert.equal(engine.name, "pocketsphinx");
    assert.equal(engine.language, "en");
  });

  it("builds the OpenAI-compatible engine from its section", function () {
    const config = parseBridgeConfig({ stt: { engine: "openai", openai: { url: "http://127.0.0.1:8000", model: "small", language: "fr" } } });
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
    assert.throws(() => parseBridgeConfig({ stt: { engine: "openai" } }), /stt\.openai: is required when engine is openai/);
    assert.throws(() => parseBridgeConfig({ stt: { engine: "whisper" } }), /stt\.engine: /);
  });
});
