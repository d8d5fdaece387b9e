// The configured engine, built from the validated configuration.
import type { BridgeConfig } from "../../../config/bridge-schema.ts";
import type { SttEngine } from "./engine.ts";
import { KyutaiEngine } from "./kyutai.ts";
import { OpenAiCompatibleEngine } from "./openai-compatible.ts";
import { PocketSphinxEngine, pocketSphinxModelPaths } from "./pocketsphinx.ts";
import { SherpaOnnxEngine } from "./sherpa-onnx.ts";

export function engineFromConfig(stt: BridgeConfig["stt"]): SttEngine {
  switch (stt.engine) {
    case "pocketsphinx": {
      const ps = stt.pocketsphinx;
      const paths = pocketSphinxModelPaths(ps.model_dir);
      return new PocketSphinxEngine({
        binary: ps.binary,
        hmm: ps.hmm ?? paths.hmm,
        lm: ps.lm ?? paths.lm,
        dict: ps.dict ?? paths.dict,
        language: ps.language,
      });
    }
    case "openai": {
      const openai = stt.openai;
      return new OpenAiCompatibleEngine({
        url: openai.url,
        models: openai.models,
        apiKey: openai.api_key,
        language: openai.language,
        timeoutMs: openai.timeout_ms,
        interimIntervalMs: openai.interim_interval_ms,
      });
    }
    case "kyutai": {
      const kyutai = stt.kyutai;
      if (kyutai === undefined) throw new Error("stt.kyutai: is required when engine is kyutai");
      return new KyutaiEngine({
        url: kyutai.url,
        path: kyutai.path,
        ...(kyutai.api_key === undefined ? {} : { apiKey: kyutai.api_key }),
        ...(kyutai.language === undefined ? {} : { language: kyutai.language }),
        leadingSilenceMs: kyutai.leading_silence_ms,
        flushSilenceMs: kyutai.flush_silence_ms,
        endTimeoutMs: kyutai.end_timeout_ms,
        connectTimeoutMs: kyutai.connect_timeout_ms,
      });
    }
    case "sherpa-onnx": {
      const sherpa = stt.sherpa_onnx;
      if (sherpa === undefined) throw new Error("stt.sherpa_onnx: is required when engine is sherpa-onnx");
      return new SherpaOnnxEngine({
        modelDir: sherpa.model_dir,
        ...(sherpa.encoder === undefined ? {} : { encoder: sherpa.encoder }),
        ...(sherpa.decoder === undefined ? {} : { decoder: sherpa.decoder }),
        ...(sherpa.joiner === undefined ? {} : { joiner: sherpa.joiner }),
        ...(sherpa.tokens === undefined ? {} : { tokens: sherpa.tokens }),
        preferInt8: sherpa.prefer_int8,
        language: sherpa.language,
        numThreads: sherpa.num_threads,
        decodingMethod: sherpa.decoding_method,
      });
    }
  }
}
