// Why our call ended when the SFU disconnected us: a moderator removed us, or ended the call, and the
// user is told so rather than that the connection was lost.
import { DisconnectReason } from "livekit-client";
import { ERRCODE, VisioError } from "../errors.ts";

export const REMOVED_BY_MODERATOR = "ORG.VISIO.REMOVED_BY_MODERATOR";
export const ENDED_BY_MODERATOR = "ORG.VISIO.CALL_ENDED_BY_MODERATOR";

/** Whether the call was taken from us by a moderator (then it did not merely break). */
export const byModerator = (error: VisioError): boolean => error.errcode === REMOVED_BY_MODERATOR || error.errcode === ENDED_BY_MODERATOR;

export function callLostError(reason?: DisconnectReason): VisioError {
  if (reason === DisconnectReason.PARTICIPANT_REMOVED) return new VisioError(REMOVED_BY_MODERATOR, "call.removedByModerator");
  if (reason === DisconnectReason.ROOM_DELETED) return new VisioError(ENDED_BY_MODERATOR, "call.endedByModerator");
  return new VisioError(ERRCODE.serverDown, "call.quality.lost", { retryable: true });
}
