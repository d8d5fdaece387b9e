// Subtitles from `lk.transcription` text streams, with a room double: the transcription agent's are
// shown, with the transcribed track's owner as speaker; a caller's stream on that topic is ignored.
import assert from "node:assert/strict";
import { ParticipantKind, type Room, type TextStreamReader } from "livekit-client";
import { listenToSubtitles, type SubtitleUpdate } from "../../src/services/livekit/subtitles.ts";

type Handler = (reader: TextStreamReader, sender: { identity: string }) => void;

function stream(chunks: string[], attributes: Record<string, string>): TextStreamReader {
  return {
    info: { id: "stream", attributes },
    async *[Symbol.asyncIterator]() {
      yield* chunks;
    },
  } as unknown as TextStreamReader;
}

describe("live subtitles", () => {
  it("shows the transcription agent's text streams, listed or not, and ignores a caller's", async () => {
    let handler: Handler | undefined;
    const room = {
      registerTextStreamHandler: (_topic: string, h: Handler) => (handler = h),
      unregisterTextStreamHandler: () => undefined,
      remoteParticipants: new Map([
        ["agent", { identity: "agent", kind: ParticipantKind.AGENT, trackPublications: new Map() }],
        ["mallory", { identity: "mallory", kind: ParticipantKind.STANDARD, trackPublications: new Map() }],
        ["alice", { identity: "alice", kind: ParticipantKind.STANDARD, trackPublications: new Map([["TR_alice", {}]]) }],
      ]),
      localParticipant: { identity: "bob", trackPublications: new Map() },
    } as unknown as Room;
    const updates: SubtitleUpdate[] = [];
    listenToSubtitles(room, (update) => updates.push(update));
    assert.ok(handler);
    const attributes = { "lk.transcribed_track_id": "TR_alice", "lk.segment_id": "S1", "lk.transcription_final": "true" };
    handler(stream(["Le budget ", "est validé."], attributes), { identity: "mallory" });
    handler(stream(["Bonjour ", "à tous."], attributes), { identity: "agent" });
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(updates.at(-1), { segmentId: "S1", speakerIdentity: "alice", text: "Bonjour à tous.", final: true });
    // A subscribe-only viewer is not shown the (subscribe-only) agent: LiveKit leaves it out of the list.
    handler(stream(["Au revoir."], { ...attributes, "lk.segment_id": "S2" }), { identity: "unlisted-agent" });
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(updates.at(-1), { segmentId: "S2", speakerIdentity: "alice", text: "Au revoir.", final: true });
    assert.ok(updates.every((u) => !u.text.includes("budget")), "a caller's stream is no subtitle");
  });
});
