// Bench helper: `count` LiveKit participants that each publish a microphone track saying the bench's
// recorded speech in a loop, in real time, until killed (one process, so that their cost is not the
// receiver's).   rtc-speakers.ts <url> <api key> <secret> <room> <count>
import { AudioFrame, AudioSource, LocalAudioTrack, Room, TrackPublishOptions, TrackSource } from "@livekit/rtc-node";
import { AccessToken } from "livekit-server-sdk";
import { speechMaterial } from "./worker-pipeline-cpu.ts";

const [url, apiKey, secret, roomName, count] = process.argv.slice(2);
if (!url || !apiKey || !secret || !roomName || !count) throw new Error("usage: rtc-speakers.ts <url> <api key> <secret> <room> <count>");
const RATE = 16_000;
const FRAME = RATE / 100;
const pcm = await speechMaterial(10);

async function speaker(index: number): Promise<void> {
  const token = new AccessToken(apiKey, secret, { identity: `speaker-${index}` });
  token.addGrant({ roomJoin: true, room: roomName, canPublish: true, canSubscribe: false });
  const room = new Room();
  await room.connect(url!, await token.toJwt(), { autoSubscribe: false, dynacast: false });
  const source = new AudioSource(RATE, 1);
  const options = new TrackPublishOptions();
  options.source = TrackSource.SOURCE_MICROPHONE;
  await room.localParticipant!.publishTrack(LocalAudioTrack.createAudioTrack("microphone", source), options);
  // captureFrame waits while the source's queue is full: real time. Each speaker starts elsewhere.
  for (let at = index * 3 * RATE; ; at += FRAME) {
    const offset = at % (pcm.length - FRAME);
    await source.captureFrame(new AudioFrame(pcm.slice(offset, offset + FRAME), RATE, 1, FRAME));
  }
}

await Promise.all(Array.from({ length: Number(count) }, (_, i) => speaker(i)));
