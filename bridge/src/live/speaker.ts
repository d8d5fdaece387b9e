// Who speaks on a track. LiveKit identities minted by our focus are pseudonyms; the Matrix user behind
// one is in the appservice's identity table, which the bridge does not read (yet): until a lookup is
// wired in, the default names the speaker after the participant's LiveKit name, else its identity.
import type { Speaker } from "../transcript/segment.ts";

export interface ParticipantInfo {
  identity: string;
  name: string | undefined;
}

export interface ResolvedSpeaker {
  /** The Matrix user ID, once known; undefined while only the LiveKit participant is known. */
  userId?: string;
  displayName: string;
}

export type SpeakerResolver = (participantIdentity: string, participant: ParticipantInfo) => ResolvedSpeaker;

export const speakerFromParticipant: SpeakerResolver = (identity, participant) => ({
  displayName: participant.name !== undefined && participant.name !== "" ? participant.name : identity,
});

/** The transcript's speaker: keyed by Matrix user where known, else by the LiveKit identity. */
export function transcriptSpeaker(identity: string, resolved: ResolvedSpeaker): Speaker {
  return { id: resolved.userId ?? identity, name: resolved.displayName };
}
