// Wiring of the transcription worker process: the engine (checked ready), the bridge's Matrix user
// (registered through the worker's own appservice registration if new), the worker and its LiveKit agent connection.
import { engineFromConfig } from "../stt/engine-from-config.ts";
import { checkSileroModel } from "../transcript/silero-vad.ts";
import { MatrixClient, type FetchLike } from "../matrix/matrix-client.ts";
import { TranscriptionWorker, type WorkerEvent } from "./worker.ts";
import type { WorkerConfig } from "../../../config/worker-schema.ts";

export interface StartDeps {
  report(event: WorkerEvent): void;
  fetch?: FetchLike;
}

export async function start(config: WorkerConfig, deps: StartDeps): Promise<TranscriptionWorker> {
  checkSileroModel(config.vad.silero_model);
  const engine = engineFromConfig(config.stt);
  await engine.checkReady();
  const matrix = new MatrixClient({
    homeserverUrl: config.matrix.homeserver_url,
    accessToken: config.matrix.as_token,
    userId: config.matrix.user_id,
    fetch: deps.fetch,
  });
  const localpart = config.matrix.user_id.slice(1, config.matrix.user_id.indexOf(":"));
  await matrix.ensureRegistered(localpart);
  const worker = new TranscriptionWorker(config, { engine, matrix, report: deps.report });
  worker.start();
  return worker;
}
