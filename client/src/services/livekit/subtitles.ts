// Live subtitles from the transcription bridge: LiveKit text streams on topic `lk.transcription`,
// one stream per version of a segment (interim ones, then the final one), its attributes naming the
// transcribed track. Chunks within a stream are deltas; a later stream of the same segment replaces
// the text. A version is final when its attribute says so, or, without the attribute, when it closes.
// A caller's stream there would put words under someone else's name: the focus gives callers no data
// publishing, so the SFU drops theirs, and here a stream from a listed participant that is not an agent
// (one whose focus grants more) is ignored. The bridge is not always listed: LiveKit does not show a
// participant who cannot publish to a viewer who cannot either (a subscribe-only connection to another
// ministry's SFU), so an unlisted sender is the agent.
import { ParticipantKind, type Room, type TextStreamReader } from "livekit-client";
import { SUBTITLE_ATTRIBUTES, SUBTITLE_TOPIC } from "../../../../config/wire-types.ts";

export interface SubtitleUpdate {
  segmentId: string;
  /** Identity of the LiveKit participant whose track was transcribed, when found. */
  speakerIdentity: string | null;
  text: string;
  final: boolean;
}

export function speakerOfTrack(room: Room, trackSid: string | undefined): string | null {
  if (trackSid === undefined) return null;
  for (const participant of room.remoteParticipants.values()) {
    if (participant.trackPublications.has(trackSid)) return participant.identity;
  }
  return room.localParticipant.trackPublications.has(trackSid) ? room.localParticipant.identity : null;
}

export function listenToSubtitles(room: Room, onUpdate: (update: SubtitleUpdate) => void): () => void {
  room.registerTextStreamHandler(SUBTITLE_TOPIC, (reader: TextStreamReader, sender: { identity: string }) => {
    const participant = room.remoteParticipants.get(sender.identity);
    if (participant !== undefined && participant.kind !== ParticipantKind.AGENT) return;
    const attributes = reader.info.attributes ?? {};
    const segmentId = attributes[SUBTITLE_ATTRIBUTES.segmentId] ?? reader.info.id;
    const speakerIdentity = speakerOfTrack(room, attributes[SUBTITLE_ATTRIBUTES.trackId]);
    const finalWhenClosed = attributes[SUBTITLE_ATTRIBUTES.final] !== "false";
    void (async () => {
      let text = "";
      try {
        for await (const chunk of reader) {
          text += chunk;
          onUpdate({ segmentId, speakerIdentity, text, final: false });
        }
      } finally {
        onUpdate({ segmentId, speakerIdentity, text, final: finalWhenClosed });
      }
    })();
  });
  return () => room.unregisterTextStreamHandler(SUBTITLE_TOPIC);
}
