// A ministry's transcription worker configuration, as the demo and the tests run it (and as
// config/docker/ does in production): its own LiveKit with the workers' key, its homeserver with the
// worker's own appservice token (for the bridge's user alone), the ministry's Whisper server as the
// engine (the default engine, spelled out) and Silero as the voice activity detector.
import type { WorkerConfigInput } from "../../config/worker-schema.ts";
import { toolsFromEnvironment } from "./testbed.ts";
import type { LiveKitServer } from "./livekit.ts";
import type { WhisperServerOnHost } from "./whisper.ts";

export interface WorkerWiring {
  livekit: Pick<LiveKitServer, "url" | "workerKey">;
  /** Client-Server API of the ministry's homeserver, reachable from where the worker runs. */
  homeserverUrl: string;
  /** The worker's own appservice token (TranscriberCredentials), never the appservice's as_token. */
  asToken: string;
  userId: string;
  whisper: Pick<WhisperServerOnHost, "url">;
  maxJobs?: number;
  /** The Whisper models the worker uses; the default ones (English and multilingual) when absent. */
  models?: string[];
}

export function workerConfig(wiring: WorkerWiring): WorkerConfigInput {
  return {
    livekit: { url: wiring.livekit.url, api_key: wiring.livekit.workerKey.apiKey, api_secret: wiring.livekit.workerKey.apiSecret },
    matrix: { homeserver_url: wiring.homeserverUrl, as_token: wiring.asToken, user_id: wiring.userId },
    stt: { engine: "openai", openai: { url: wiring.whisper.url, ...(wiring.models === undefined ? {} : { models: wiring.models }) } },
    ...(wiring.maxJobs === undefined ? {} : { worker: { max_jobs: wiring.maxJobs } }),
    // Silero, as in production (config/docker/transcription-worker.yaml): it tells speech from noise.
    vad: { silero_model: toolsFromEnvironment().sileroVadModel },
  };
}
