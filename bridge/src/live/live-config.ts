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

export const liveBridgeConfigSchema = bridgeConfigSchema.extend({
  livekit: liveKitSchema,
  identity: z.string().min(1).default("visio-transcriber").meta({ description: "The bridge's LiveKit identity (hidden from callers)." }),
  name: z.string().min(1).default("Transcription").meta({ description: "The bridge's LiveKit participant name." }),
});

export type LiveBridgeConfig = z.output<typeof liveBridgeConfigSchema>;

export function parseLiveBridgeConfig(raw: unknown): LiveBridgeConfig {
  return parseWithSchema(liveBridgeConfigSchema, raw);
}

export async function loadLiveBridgeConfig(path: string): Promise<LiveBridgeConfig> {
  return parseLiveBridgeConfig(await readYamlFile(path));
}
