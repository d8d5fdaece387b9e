// The transcription worker's configuration file: the bridge's engine and VAD settings, the LiveKit
// server it registers with as an agent worker, and its Matrix identity (an appservice user). One schema
// gives the type, the defaults, validation at load and the generated sample (config/worker.sample.yaml).
import { z } from "zod";
import { bridgeConfigSchema } from "./bridge-schema.ts";
import { CURRENT_MATRIX_USER_ID } from "./wire-types.ts";
import { parseWithSchema, readYamlFile } from "./load.ts";
import { renderSchemaSample } from "./sample.ts";

const liveKitSchema = z.strictObject({
  url: z.url({ protocol: /^wss?$/, error: "must be a ws:// or wss:// URL" }).meta({
    description: "LiveKit server the calls run on; the worker registers at <url>/agent.",
    examples: ["ws://livekit:7880"],
  }),
  api_key: z.string().min(1).meta({ description: "LiveKit API key (one of the LiveKit server's keys).", examples: ["visio"] }),
  api_secret: z.string().min(32, "must be at least 32 characters, as LiveKit wants").meta({ description: "Its secret.", examples: ["change-me-to-at-least-32-characters-of-secret"] }),
});

const userIdSchema = z.string().regex(CURRENT_MATRIX_USER_ID, "must be a Matrix user ID (@localpart:server)");

const matrixSchema = z.strictObject({
  homeserver_url: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).meta({
    description: "Client-Server API base URL of the ministry's homeserver.",
    examples: ["http://synapse:8008"],
  }),
  as_token: z.string().min(1).meta({
    description:
      "The worker's own appservice token: `worker.ts --registration` turns it into the homeserver registration of user_id alone (never the Visio appservice's as_token, which can act as the meeting bot).",
    examples: ["CHANGE_ME_worker_token_at_least_32_characters"],
  }),
  user_id: userIdSchema.meta({
    description: "The bridge's Matrix user (the appservice's transcription.bridge_localpart); registered at start if it does not exist.",
    examples: ["@visio-transcriber:ministry.example"],
  }),
});

const workerSchema = z
  .strictObject({
    max_jobs: z.number().int().min(1).max(200).default(8).meta({
      description: "Calls one worker process transcribes at once; LiveKit offers further jobs to other workers.",
    }),
    identity_prefix: z.string().min(1).regex(/^[a-zA-Z0-9._-]+$/, "letters, digits, '.', '_' and '-' only").default("visio-transcriber").meta({
      description: "The job participant's LiveKit identity is <prefix>-<job id> (hidden from callers).",
    }),
    name: z.string().min(1).default("Transcription").meta({ description: "The job participant's LiveKit name." }),
    recording_concurrency: z.number().int().min(1).max(16).default(2).meta({
      description: "Utterances of a posted recording decoded at the same time (a recording job counts as one of max_jobs).",
    }),
  })
  .prefault({});

export const workerConfigSchema = bridgeConfigSchema.extend({
  livekit: liveKitSchema,
  matrix: matrixSchema,
  worker: workerSchema,
});

export type WorkerConfig = z.output<typeof workerConfigSchema>;
export type WorkerConfigInput = z.input<typeof workerConfigSchema>;

export function parseWorkerConfig(raw: unknown): WorkerConfig {
  return parseWithSchema(workerConfigSchema, raw);
}

export async function loadWorkerConfig(path: string): Promise<WorkerConfig> {
  return parseWorkerConfig(await readYamlFile(path));
}

/** The sample worker config (config/worker.sample.yaml), rendered from the schema so it cannot drift. */
export function renderWorkerSampleConfig(): string {
  return renderSchemaSample(workerConfigSchema, [
    "# Visio transcription worker configuration (sample; generated from config/worker-schema.ts).",
    "# Regenerate: npm run transcription-worker -- --sample-config > config/worker.sample.yaml",
  ]);
}
