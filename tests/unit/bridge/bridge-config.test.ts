import { strict as assert } from "node:assert";
import { readFile } from "node:fs/promises";
import yaml from "js-yaml";
import { ConfigError, parseConfig } from "../../../config/load.ts";
import { parseBridgeConfig, renderBridgeSampleConfig } from "../../../config/bridge-schema.ts";
import { ENGINE_NAMES } from "../../../config/transcription-fields.ts";
import { engineFromConfig } from "../../../bridge/src/stt/engine-from-config.ts";
import { DEFAULT_VAD_OPTIONS } from "../../../bridge/src/transcript/energy-vad.ts";
import { vadOptions } from "../../../bridge/src/vad-from-config.ts";

// The smallest valid appservice config: the appservice's schema takes the same languages and engines.
const APPSERVICE = {
  homeserver: { server_name: "a.test", url: "http://127.0.0.1:8008" },
  appservice: { url: "http://127.0.0.1:9000", as_token: "a".repeat(32), hs_token: "h".repeat(32) },
  federation: { allowlist: ["a.test"] },
};

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

  it("gives the VAD the settings it has by default when the config has none", function () {
    const { minSpeechDb, marginDb, endSilenceMs, preRollMs, maxUtteranceMs } = DEFAULT_VAD_OPTIONS;
    assert.deepEqual(vadOptions(parseBridgeConfig({}).vad), { minSpeechDb, marginDb, endSilenceMs, preRollMs, maxUtteranceMs });
  });

  it("takes a language as the appservice does: a BCP 47 tag or und, at most 35 characters", function () {
    for (const language of ["fr", "fr-FR", "und", "zh-Hant-TW"]) {
      assert.equal(parseBridgeConfig({ stt: { openai: { language } } }).stt.openai.language, language);
      assert.equal(parseConfig({ ...APPSERVICE, transcription: { language } }).transcription.language, language);
    }
    for (const language of ["french", "fr_FR", "", `en-${"x".repeat(8)}-${"y".repeat(8)}-${"z".repeat(8)}-${"w".repeat(8)}`]) {
      assert.throws(() => parseBridgeConfig({ stt: { openai: { language } } }), /stt\.openai\.language: must be a BCP 47 language tag such as en or fr-FR, or und/);
    }
  });

  it("knows the engines the appservice may name, and no other", function () {
    for (const engine of ENGINE_NAMES) assert.equal(parseConfig({ ...APPSERVICE, transcription: { engine } }).transcription.engine, engine);
    assert.throws(() => parseConfig({ ...APPSERVICE, transcription: { engine: "whisper" } }), /transcription\.engine: /);
  });

  it("keeps config/bridge.sample.yaml in step with the schema, and the sample is valid", async function () {
    const committed = await readFile(new URL("../../../config/bridge.sample.yaml", import.meta.url), "utf8");
    assert.equal(committed, renderBridgeSampleConfig(), "regenerate with: npm run transcribe -- --sample-config > config/bridge.sample.yaml");
    assert.equal(parseBridgeConfig(yaml.load(committed)).stt.engine, "openai");
  });
});
