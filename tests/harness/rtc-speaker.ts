// A headless LiveKit participant that says a recording: publishes the samples of an audio file (decoded
// to 16 kHz mono by sox) as its microphone track in real time, stays a few seconds so that the last
// words are heard out, then leaves. Run inside a ministry's namespace; reports JSON lines on stdout:
//   {"event":"published","trackSid":…,"identity":…}  {"event":"playing","startedAt":<epoch ms>}  {"event":"done"}
//   rtc-speaker.ts <url> <jwt> <audio file>
import { AudioFrame, AudioSource, LocalAudioTrack, Room, TrackPublishOptions, TrackSource } from "@livekit/rtc-node";
import { decodeAudioFile } from "../../bridge/src/audio/decode-file.ts";
import { report, runScript } from "./json-line-script.ts";

const [url, jwt, file] = process.argv.slice(2);

const SAMPLE_RATE = 16_000;
const FRAME_SAMPLES = SAMPLE_RATE / 100;
const LINGER_MS = 3000;

async function readAll(path: string): Promise<Int16Array> {
  const chunks: Int16Array[] = [];
  for await (const chunk of decodeAudioFile(path)) chunks.push(chunk);
  const all = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.length;
  }
  return all;
}

async function main(): Promise<void> {
  if (!url || !jwt || !file) throw new Error("usage: rtc-speaker.ts <url> <jwt> <audio file>");
  const samples = await readAll(file);
  const room = new Room();
  await room.connect(url, jwt, { autoSubscribe: false, dynacast: false });
  const source = new AudioSource(SAMPLE_RATE, 1);
  const track = LocalAudioTrack.createAudioTrack("microphone", source);
  const options = new TrackPublishOptions();
  options.source = TrackSource.SOURCE_MICROPHONE;
  const publication = await room.localParticipant?.publishTrack(track, options);
  report("published", { trackSid: publication?.sid, identity: room.localParticipant?.identity });
  // Give subscribers a moment to set up their receivers: the first words must not be lost.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  // captureFrame waits while the source's queue is full, which paces the frames at real time.
  report("playing", { startedAt: Date.now(), samples: samples.length });
  for (let at = 0; at + FRAME_SAMPLES <= samples.length; at += FRAME_SAMPLES) {
    await source.captureFrame(new AudioFrame(samples.slice(at, at + FRAME_SAMPLES), SAMPLE_RATE, 1, FRAME_SAMPLES));
  }
  await source.waitForPlayout();
  report("played", { endedAt: Date.now() });
  await new Promise((resolve) => setTimeout(resolve, LINGER_MS));
  await room.disconnect();
  report("done");
}

runScript(main);
