#!/usr/bin/env node
// `node bridge/src/live/listen.ts --config live.yaml --room <livekit room>`: transcribes one LiveKit room
// as live subtitles (and, with a `matrix` config section, as a thread in the Matrix room) until SIGTERM/SIGINT. Reports one JSON object per line on stdout (see ListenerEvent).
// Exit status: 0 stopped, 1 failed, 2 bad usage or config, 3 engine not ready.
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { ConfigError } from "../../../config/load.ts";
import { engineFromConfig } from "../stt/engine-from-config.ts";
import { SttEngineNotReadyError } from "../stt/engine.ts";
import { mintBridgeToken } from "./bridge-token.ts";
import { vadOptions } from "../config.ts";
import { loadLiveBridgeConfig } from "./live-config.ts";
import { MatrixSender } from "../matrix/matrix-sender.ts";
import { TranscriptPoster } from "../matrix/transcript-poster.ts";
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
  const matrix = config.matrix;
  const stt = config.stt;
  // OpenAI-compatible servers detect the language when none is configured: "und" says so.
  const language = stt.engine === "pocketsphinx" ? stt.pocketsphinx.language : (stt.openai?.language ?? "und");
  const poster =
    matrix === undefined
      ? undefined
      : new TranscriptPoster({
          sender: new MatrixSender({ homeserverUrl: matrix.homeserver_url, accessToken: matrix.access_token }),
          roomId: matrix.room_id,
          // Fresh per run: a restarted bridge must not have its txnIds deduplicated against the last run's.
          sessionId: randomUUID(),
          session: { language, engine: stt.engine },
          onError: (err) => report({ event: "error", message: `transcript message not sent: ${err.message}` }),
          onPosted: (eventId, segment) => report({ event: "posted", eventId, final: segment.final, text: segment.text }),
        });
  // The thread root goes first, so that the first utterance does not wait for it.
  await poster?.start();
  const listener = new RoomListener({
    engine,
    vad: vadOptions(config.vad),
    now: () => performance.now(),
    report,
    onSegment: poster === undefined ? undefined : (trackSid, segment) => void poster.post(trackSid, segment),
  });
  const stopped = new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await listener.connect(config.livekit.url, token);
  await stopped;
  await listener.close();
  await poster?.flush();
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
