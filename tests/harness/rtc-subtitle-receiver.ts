// A headless LiveKit participant that reads the room's live subtitles: each `lk.transcription` text
// stream becomes one JSON line on stdout with its attributes, text, sender and arrival time, and the
// participants this participant can see (a hidden one must not be among them).
//   rtc-subtitle-receiver.ts <url> <jwt>
import { Room, RoomEvent } from "@livekit/rtc-node";
import { SUBTITLE_TOPIC } from "../../config/wire-types.ts";
import { report, runScript, untilStopped } from "./json-line-script.ts";

const [url, jwt] = process.argv.slice(2);

async function main(): Promise<void> {
  if (!url || !jwt) throw new Error("usage: rtc-subtitle-receiver.ts <url> <jwt>");
  const room = new Room();
  const visible = (): string[] => [...room.remoteParticipants.values()].map((p) => p.identity);
  room.registerTextStreamHandler(SUBTITLE_TOPIC, (reader, sender) => {
    void reader.readAll().then(
      (text) =>
        report("transcription", {
          from: sender.identity,
          attributes: reader.info.attributes ?? {},
          text,
          receivedAt: Date.now(),
          participants: visible(),
        }),
      (err: unknown) => report("error", { message: `reading a transcription: ${String(err)}` }),
    );
  });
  room.on(RoomEvent.ParticipantConnected, (participant) => report("participant", { identity: participant.identity }));
  room.on(RoomEvent.Disconnected, (reason) => {
    report("disconnected", { reason, at: Date.now() });
    process.exit(0);
  });
  // Subtitles are data, not media: nothing to subscribe to.
  await room.connect(url, jwt, { autoSubscribe: false, dynacast: false });
  report("connected", { identity: room.localParticipant?.identity, participants: visible() });
  await untilStopped();
  await room.disconnect();
}

runScript(main);
