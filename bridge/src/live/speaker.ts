// Who speaks on a track. LiveKit identities minted by our focus are pseudonyms; every token the focus
// issues carries the verified Matrix user as the participant attribute MATRIX_USER_ATTRIBUTE, so the
// speaker is that user, named by their display name in the room where known. A participant without
// the attribute (a token minted elsewhere) is named after its LiveKit name, else its identity.
import { MATRIX_USER_ATTRIBUTE, MATRIX_USER_ID } from "../../../config/wire-types.ts";
import type { Speaker } from "../transcript/segment.ts";

export interface ParticipantInfo {
  identity: string;
  name: string | undefined;
  attributes: Readonly<Record<string, string>>;
}

export type SpeakerResolver = (participant: ParticipantInfo) => Speaker;

/** Matrix user IDs are `@localpart:server`; anything else in the attribute is not trusted as one. */

/** The Matrix user behind a participant, from its focus-issued attribute. */
export function matrixUserOf(participant: ParticipantInfo): string | undefined {
  const userId = participant.attributes[MATRIX_USER_ATTRIBUTE];
  return userId !== undefined && MATRIX_USER_ID.test(userId) ? userId : undefined;
}

/** A resolver naming Matrix users through displayNameOf (undefined: not known, the user ID is shown). */
export function speakerResolver(displayNameOf: (userId: string) => string | undefined = () => undefined): SpeakerResolver {
  return (participant) => {
    const userId = matrixUserOf(participant);
    if (userId !== undefined) return { id: userId, name: displayNameOf(userId) ?? userId };
    const name = participant.name !== undefined && participant.name !== "" ? participant.name : participant.identity;
    return { id: participant.identity, name };
  };
}
