// The Kyutai and sherpa-onnx sections of the bridge config: defaults, the engine built from them, and
// the errors an operator gets for a missing section or a wrong value.
import { strict as assert } from "node:assert";
import { parseBridgeConfig } from "../../../config/bridge-schema.ts";
import { engineFromConfig } from "../../../bridge/src/stt/engine-from-config.ts";
import { SttEngineNotReadyError } from "../../../bridge/src/stt/engine.ts";

describe("engine configuration: kyutai and sherpa-onnx", function () {
  it("builds the Kyutai engine with moshi-server's path and the flush defaults", function () {
    const config = parseBridgeConfig({ stt: { engine: "kyutai", kyutai: { url: "ws://127.0.0.1:8080", api_key: "k", language: "fr" } } });
    assert.deepEqual(config.stt.kyutai, {
      url: "ws://127.0.0.1:8080",
      path: "/api/asr-streaming",
      api_key: "k",
      language: "fr",
      leading_silence_ms: 0,
      flush_silence_ms: 3000,
      end_timeout_ms: 15_000,
      connect_timeout_ms: 5000,
    });
    const engine = engineFromConfig(config.stt);
    assert.equal(engine.name, "kyutai");
    assert.equal(engine.language, "fr");
  });

  it("builds the sherpa-onnx engine, whose checkReady() names the missing model directory", async function () {
    const config = parseBridgeConfig({ stt: { engine: "sherpa-onnx", sherpa_onnx: { model_dir: "/nonexistent/zipformer-fr", language: "fr" } } });
    assert.equal(config.stt.sherpa_onnx?.decoding_method, "greedy_search");
    const engine = engineFromConfig(config.stt);
    assert.equal(engine.name, "sherpa-onnx");
    assert.equal(engine.language, "fr");
    await assert.rejects(engine.checkReady(), (err: Error) => err instanceof SttEngineNotReadyError && /\/nonexistent\/zipformer-fr is missing/.test(err.message));
  });

  it("names a missing section and wrong values", function () {
    assert.throws(() => parseBridgeConfig({ stt: { engine: "kyutai" } }), /stt\.kyutai: is required when engine is kyutai/);
    assert.throws(() => parseBridgeConfig({ stt: { engine: "sherpa-onnx" } }), /stt\.sherpa_onnx: is required when engine is sherpa-onnx/);
    assert.throws(
      () => parseBridgeConfig({ stt: { engine: "kyutai", kyutai: { url: "http://127.0.0.1:8080", path: "api" } } }),
      (err: Error) => /stt\.kyutai\.url: must be a ws:\/\/ or wss:\/\/ URL/.test(err.message) && /stt\.kyutai\.path: must start with \//.test(err.message),
    );
    assert.throws(
      () => parseBridgeConfig({ stt: { engine: "sherpa-onnx", sherpa_onnx: { model_dir: "/m", language: "fr", decoding_method: "beam", threads: 2 } } }),
      (err: Error) => /stt\.sherpa_onnx\.decoding_method: /.test(err.message) && /stt\.sherpa_onnx\.threads: unknown key/.test(err.message),
    );
  });
});
