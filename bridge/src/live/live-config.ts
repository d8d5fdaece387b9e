// The live bridge's configuration file: the offline bridge's settings (engine, VAD) plus the LiveKit
// server it runs beside, whose API key lets it mint its own hidden participant's token.
import { z } from "zod";
import { parseWithSchema, readYamlFile } from "../../../config/load.ts";
import { bridgeConfigSchema } from "../config.ts";

const liveKitSchema = z.strictObject({
  url: z.url({ protocol: /^wss?$/, error: "must be a ws:// or wss:// URL" }).meta({ description: "LiveKit server the calls run on." }),
  api_key: z.string().min(1).meta({ description: "LiveKit API key (the one in the LiveKit server's keys)." }),
  api_secret: z.string().min(32, "must be at least 32 characters, as LiveKit wants").meta({ description: "Its secret." }),
});

// Where the transcript goes as thread messages; without it the bridge only sends subtitles.
const matrixSchema = z.strictObject({
  homeserver_url: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).meta({ description: "Client-Server API base URL." }),
  access_token: z.string().min(1).meta({ description: "Access token of the account the bridge posts as." }),
  // No ":server" required: room version 12 IDs have none.
  room_id: z.string().regex(/^!./, "must be a Matrix room ID (!…)").meta({ description: "The room whose call is transcribed." }),
});

export const liveBridgeConfigSchema = bridgeConfigSchema.extend({
  livekit: liveKitSchema,
  identity: z.string().min(1).default("visio-transcriber").meta({ description: "The bridge's LiveKit identity (hidden from callers)." }),
  name: z.string().min(1).default("Transcription").meta({ description: "The bridge's LiveKit participant name." }),
  matrix: matrixSchema.optional().meta({ description: "Post the transcript as thread messages in this Matrix room." }),
});

export type LiveBridgeConfig = z.output<typeof liveBridgeConfigSchema>;

export function parseLiveBridgeConfig(raw: unknown): LiveBridgeConfig {
  return parseWithSchema(liveBridgeConfigSchema, raw);
}

export async function loadLiveBridgeConfig(path: string): Promise<LiveBridgeConfig> {
  return parseLiveBridgeConfig(await readYamlFile(path));
}
