// A headless LiveKit participant (@livekit/rtc-node), run as its own process inside a ministry's
// namespace: libwebrtc needs real interfaces, never loopback. It reports on stdout, one JSON per line.
//   publish  <url> <jwt> <seconds>   publishes a 440 Hz microphone track for that long
//   listen   <url> <jwt> <frames>    waits for that many non-silent audio frames from anyone
// Both report {"event":"disconnected","reason":…,"at":<epoch ms>} when the server disconnects them.
import { AudioFrame, AudioSource, AudioStream, LocalAudioTrack, Room, RoomEvent, TrackKind, TrackPublishOptions, TrackSource } from "@livekit/rtc-node";
import type { RemoteTrack } from "@livekit/rtc-node";
import { report, runScript } from "../harness/json-line-script.ts";

const [mode, url, jwt, amount] = process.argv.slice(2);

const SAMPLE_RATE = 48_000;
const FRAME_SAMPLES = SAMPLE_RATE / 100;

async function publish(room: Room, seconds: number): Promise<void> {
  const source = new AudioSource(SAMPLE_RATE, 1);
  const track = LocalAudioTrack.createAudioTrack("microphone", source);
  const options = new TrackPublishOptions();
  options.source = TrackSource.SOURCE_MICROPHONE;
  await room.localParticipant?.publishTrack(track, options);
  report("published", { identity: room.localParticipant?.identity });
  const frames = seconds * 100;
  for (let n = 0; n < frames && room.isConnected; n++) {
    const data = new Int16Array(FRAME_SAMPLES);
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      data[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (n * FRAME_SAMPLES + i)) / SAMPLE_RATE));
    }
    await source.captureFrame(new AudioFrame(data, SAMPLE_RATE, 1, FRAME_SAMPLES));
  }
  report("done");
}

async function listen(room: Room, wanted: number): Promise<void> {
  await new Promise<void>((resolve) => {
    room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, _publication, participant) => {
      if (track.kind !== TrackKind.KIND_AUDIO) return;
      report("subscribed", { from: participant.identity });
      void (async () => {
        let loud = 0;
        const reader = new AudioStream(track, SAMPLE_RATE, 1).getReader();
        for (;;) {
          const { done, value: frame } = await reader.read();
          if (done) return;
          const peak = frame.data.reduce((max: number, s: number) => Math.max(max, Math.abs(s)), 0);
          if (peak > 1000) loud++;
          if (loud >= wanted) {
            report("received", { from: participant.identity, frames: loud });
            resolve();
            return;
          }
        }
      })();
    });
  });
}

async function main(): Promise<void> {
  if (!url || !jwt || !amount || (mode !== "publish" && mode !== "listen")) {
    throw new Error("usage: rtc-participant.ts publish|listen <url> <jwt> <seconds|frames>");
  }
  const room = new Room();
  room.on(RoomEvent.Disconnected, (reason) => {
    report("disconnected", { reason, at: Date.now() });
    process.exit(0);
  });
  await room.connect(url, jwt, { autoSubscribe: true, dynacast: false });
  report("connected", { room: room.name, identity: room.localParticipant?.identity });
  if (mode === "publish") await publish(room, Number(amount));
  else await listen(room, Number(amount));
  await room.disconnect();
}

runScript(main);
