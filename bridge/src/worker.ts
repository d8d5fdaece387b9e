#!/usr/bin/env node
// `node bridge/src/worker.ts --config worker.yaml`: a transcription worker (`--sample-config` prints a
// sample config; `--registration --config worker.yaml` the homeserver registration of its own Matrix
// user, for Synapse's app_service_config_files). It registers with the
// ministry's LiveKit server as an agent worker and transcribes every call dispatched to it, until
// SIGTERM/SIGINT. Reports one JSON object per line on stdout (see WorkerEvent); no transcript text.
// Exit status: 0 stopped, 1 failed, 2 bad usage or config, 3 engine not ready.
import { parseArgs } from "node:util";
import { ConfigError } from "../../config/load.ts";
import { loadWorkerConfig, renderWorkerSampleConfig } from "../../config/worker-schema.ts";
import { SttEngineNotReadyError } from "./stt/engine.ts";
import { start } from "./worker/start.ts";
import { workerRegistrationYaml } from "./worker/worker-registration.ts";
import type { WorkerEvent } from "./worker/worker.ts";

const report = (event: WorkerEvent): void => {
  process.stdout.write(`${JSON.stringify({ ...event, at: Date.now() })}\n`);
};

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { config: { type: "string" }, "sample-config": { type: "boolean" }, registration: { type: "boolean" } } });
  if (values["sample-config"] === true) {
    process.stdout.write(renderWorkerSampleConfig());
    return 0;
  }
  if (values.config === undefined) {
    process.stderr.write("usage: worker.ts [--registration] --config <transcription worker YAML>\n");
    return 2;
  }
  const config = await loadWorkerConfig(values.config);
  if (values.registration === true) {
    process.stdout.write(workerRegistrationYaml(config.matrix));
    return 0;
  }
  const stopped = new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  const worker = await start(config, { report });
  await stopped;
  await worker.close();
  return 0;
}

process.exitCode = await main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  report({ event: "error", message });
  if (err instanceof ConfigError) return 2;
  if (err instanceof SttEngineNotReadyError) return 3;
  return 1;
});
// rtc-node's native handles keep the event loop alive after disconnecting.
process.exit();
