// A stand-in for the transcription bridge inside a call, for the browser tests: a LiveKit participant
// of kind AGENT (as the bridge's dispatched workers are) that sends subtitles for one user's microphone
// through the bridge's own SubtitlePublisher (interim version, then final). Runs inside a namespace.
// JSON lines on stdout: connected, sent, error.
//   browser-subtitle-sender.ts <url> <jwt> <matrix user id> <interim text> <final text>
import { Room, TrackKind } from "@livekit/rtc-node";
import { MATRIX_USER_ATTRIBUTE } from "../../config/wire-types.ts";
import { SubtitlePublisher } from "../../bridge/src/live/subtitle-publisher.ts";
import { report, runScript, untilStopped } from "../harness/json-line-script.ts";

const [url, jwt, userId, interim, finalText] = process.argv.slice(2);

async function microphoneOf(room: Room, matrixUserId: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const participant of room.remoteParticipants.values()) {
      if (participant.attributes[MATRIX_USER_ATTRIBUTE] !== matrixUserId) continue;
      for (const publication of participant.trackPublications.values()) {
        if (publication.sid && publication.kind === TrackKind.KIND_AUDIO) return publication.sid;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no microphone of ${matrixUserId} in the room`);
}

async function main(): Promise<void> {
  if (!url || !jwt || !userId || !interim || !finalText) throw new Error("usage: browser-subtitle-sender.ts <url> <jwt> <user> <interim> <final>");
  const room = new Room();
  await room.connect(url, jwt, { autoSubscribe: false, dynacast: false });
  const local = room.localParticipant;
  if (local === undefined) throw new Error("no local participant after connect");
  report("connected", { identity: local.identity });
  const trackSid = await microphoneOf(room, userId, 30_000);
  const publisher = new SubtitlePublisher({
    sender: local,
    onError: (err) => report("error", { message: err.message }),
  });
  const segment = { id: "s1", speaker: { id: userId, name: userId }, startMs: 0, endMs: 1500, language: "fr", engine: "test", final: false, text: interim };
  await publisher.publish(trackSid, segment);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  await publisher.publish(trackSid, { ...segment, text: finalText, endMs: 2500, final: true });
  report("sent", { trackSid });
  await untilStopped();
  await room.disconnect();
}

runScript(main);
