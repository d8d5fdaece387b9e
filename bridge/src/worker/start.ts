// Wiring of the transcription worker process, the one place its parts are built: the engine (checked
// ready), the bridge's Matrix user (registered through the worker's own appservice registration if
// new), the LiveKit agent connection and room API, and what each job gets (its room listener, its
// recording room, its thread poster).
import { Room } from "@livekit/rtc-node";
import { RoomServiceClient } from "livekit-server-sdk";
import type { FetchLike } from "../../../config/matrix/matrix-http-client.ts";
import type { WorkerConfig } from "../../../config/worker-schema.ts";
import { TRANSCRIBER_AGENT_NAME } from "../../../config/wire-types.ts";
import { AgentConnection } from "../agent/agent-connection.ts";
import { RoomListener } from "../live/room-listener.ts";
import { MatrixClient } from "../matrix/matrix-client.ts";
import { TranscriptPoster } from "../matrix/transcript-poster.ts";
import { engineFromConfig } from "../stt/engine-from-config.ts";
import { checkSileroModel } from "../transcript/silero-vad.ts";
import { CpuLoad } from "./cpu-load.ts";
import { TranscriptionWorker, type WorkerEvent } from "./worker.ts";

export interface StartDeps {
  report(event: WorkerEvent): void;
  fetch?: FetchLike;
}

const WORKER_VERSION = "1";

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
  const { url, api_key: apiKey, api_secret: apiSecret } = config.livekit;
  const connection = new AgentConnection({
    url,
    apiKey,
    apiSecret,
    agentName: TRANSCRIBER_AGENT_NAME,
    // Hidden: no tile and no entry in callers' participant lists. No media: it only listens and sends
    // subtitles as data.
    permissions: { canSubscribe: true, canPublish: false, canPublishData: true, hidden: true },
    version: WORKER_VERSION,
  });
  const cpu = new CpuLoad();
  const worker = new TranscriptionWorker(config, {
    connection,
    rooms: new RoomServiceClient(url.replace(/^ws/, "http"), apiKey, apiSecret, { requestTimeout: 10 }),
    engine,
    matrix,
    listener: () => new RoomListener(new Room()),
    recordingRoom: () => new Room(),
    poster: (options) => new TranscriptPoster(options),
    report: deps.report,
    load: () => cpu.sample(),
  });
  worker.start();
  return worker;
}
