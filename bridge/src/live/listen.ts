#!/usr/bin/env node
// `node bridge/src/live/listen.ts --config live.yaml --room <livekit room>`: transcribes one LiveKit room
// as live subtitles until SIGTERM/SIGINT. Reports one JSON object per line on stdout (see ListenerEvent).
// Exit status: 0 stopped, 1 failed, 2 bad usage or config, 3 engine not ready.
import { parseArgs } from "node:util";
import { ConfigError } from "../../../config/load.ts";
import { engineFromConfig } from "../stt/engine-from-config.ts";
import { SttEngineNotReadyError } from "../stt/engine.ts";
import { mintBridgeToken } from "./bridge-token.ts";
import { loadLiveBridgeConfig } from "./live-config.ts";
import { RoomListener, type ListenerEvent } from "./room-listener.ts";

const report = (event: ListenerEvent): void => {
  process.stdout.write(`${JSON.stringify({ ...event, at: Date.now() })}\n`);
};

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { config: { type: "string" }, room: { type: "string" } } });
  if (values.config === undefined || values.room === undefined) {
    process.stderr.write("usage: listen.ts --config <live bridge YAML> --room <LiveKit room name>\n");
    return 2;
  }
  const config = await loadLiveBridgeConfig(values.config);
  const engine = engineFromConfig(config.stt);
  await engine.checkReady();
  const token = await mintBridgeToken({
    apiKey: config.livekit.api_key,
    apiSecret: config.livekit.api_secret,
    room: values.room,
    identity: config.identity,
    name: config.name,
  });
  const listener = new RoomListener({
    engine,
    vad: {
      minSpeechDb: config.vad.min_speech_db,
      marginDb: config.vad.margin_db,
      endSilenceMs: config.vad.end_silence_ms,
      preRollMs: config.vad.pre_roll_ms,
      maxUtteranceMs: config.vad.max_utterance_ms,
    },
    now: () => performance.now(),
    report,
  });
  const stopped = new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await listener.connect(config.livekit.url, token);
  await stopped;
  await listener.close();
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
