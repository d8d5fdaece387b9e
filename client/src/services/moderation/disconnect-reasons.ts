// Why our call ended when the SFU disconnected us: a moderator removed us, or ended the call, and the
// user is told so rather than that the connection was lost.
import { DisconnectReason } from "livekit-client";
import { ERRCODE, VisioError } from "../errors.ts";

export function callLostError(reason?: DisconnectReason): VisioError {
  if (reason === DisconnectReason.PARTICIPANT_REMOVED) return new VisioError("ORG.VISIO.REMOVED_BY_MODERATOR", "call.removedByModerator");
  if (reason === DisconnectReason.ROOM_DELETED) return new VisioError("ORG.VISIO.CALL_ENDED_BY_MODERATOR", "call.endedByModerator");
  return new VisioError(ERRCODE.serverDown, "call.quality.lost", { retryable: true });
}
