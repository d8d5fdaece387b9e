// Bench helper: subscribes to every microphone track of a room as the transcription worker does
// (rtc-node's AudioStream, 16 kHz mono, AUDIO_FRAME_MS frames) and reads every frame, doing nothing
// else; once `count` tracks flow, prints its own CPU seconds per second of audio received over
// `seconds` as one JSON line, and leaves.   rtc-receiver.ts <url> <api key> <secret> <room> <count> <seconds>
import { AudioStream, Room, RoomEvent, TrackKind } from "@livekit/rtc-node";
import { AccessToken } from "livekit-server-sdk";
import { AUDIO_FRAME_MS } from "../../bridge/src/live/speaker-pipelines.ts";

const [url, apiKey, secret, roomName, count, seconds] = process.argv.slice(2);
if (!url || !apiKey || !secret || !roomName || !count || !seconds) throw new Error("usage: rtc-receiver.ts <url> <api key> <secret> <room> <count> <seconds>");
const token = new AccessToken(apiKey, secret, { identity: "receiver" });
token.addGrant({ roomJoin: true, room: roomName, canPublish: false, canSubscribe: true });
const room = new Room();
let tracks = 0;
let samples = 0;
room.on(RoomEvent.TrackSubscribed, (track) => {
  if (track.kind !== TrackKind.KIND_AUDIO) return;
  tracks++;
  const reader = new AudioStream(track, { sampleRate: 16_000, numChannels: 1, frameSizeMs: AUDIO_FRAME_MS }).getReader();
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      samples += value.data.length;
    }
  })();
});
await room.connect(url, await token.toJwt(), { autoSubscribe: true, dynacast: false });
const deadline = Date.now() + 30_000;
while (tracks < Number(count)) {
  if (Date.now() > deadline) throw new Error(`${tracks} of ${count} tracks after 30 s`);
  await new Promise((resolve) => setTimeout(resolve, 100));
}
await new Promise((resolve) => setTimeout(resolve, 2000));
const cpu = process.cpuUsage();
const before = samples;
await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
const used = process.cpuUsage(cpu);
const audioSeconds = (samples - before) / 16_000;
process.stdout.write(`${JSON.stringify({ tracks, audioSeconds, cpuPerAudioSecond: (used.user + used.system) / 1e6 / audioSeconds })}\n`);
await room.disconnect();
process.exit(0);
