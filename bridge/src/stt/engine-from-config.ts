// The configured engine, built from the validated configuration.
import type { BridgeConfig } from "../config.ts";
import type { SttEngine } from "./engine.ts";
import { OpenAiCompatibleEngine } from "./openai-compatible.ts";
import { PocketSphinxEngine, pocketSphinxModelPaths } from "./pocketsphinx.ts";

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
      // The schema refuses engine: openai without its section; this keeps the type checker sure of it.
      if (openai === undefined) throw new Error("stt.openai: is required when engine is openai");
      return new OpenAiCompatibleEngine({
        url: openai.url,
        model: openai.model,
        apiKey: openai.api_key,
        language: openai.language,
        timeoutMs: openai.timeout_ms,
      });
    }
  }
}
