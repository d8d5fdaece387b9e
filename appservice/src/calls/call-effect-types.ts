// What call changes ask to be done once committed; stored as JSON in call_effects.
import type { CallNoticeContent } from "../../../wire-types.ts";

export interface NoticeEffect {
  kind: "notice";
  roomId: string;
  txnId: string;
  content: CallNoticeContent;
}

/**
 * Disconnect a user's LiveKit participants from the LiveKit rooms of a Matrix room: all of them
 * (removed from the room), one device's (its MatrixRTC membership ended), or one identity (joined
 * LiveKit while not a member).
 */
export interface RemoveFromLiveKitEffect {
  kind: "remove_from_livekit";
  roomId: string;
  userId: string;
  deviceId?: string;
  /** Only participants that joined LiveKit before this time (ms): a quick rejoin is left alone. */
  joinedBefore?: number;
  only?: { livekitRoom: string; identity: string };
  reason: "kicked" | "banned" | "left_room" | "left_call" | "not_joined";
}

/** Delete the LiveKit rooms of a call that emptied, unless somebody came back in the meantime. */
export interface CloseLiveKitRoomsEffect {
  kind: "close_livekit_rooms";
  roomId: string;
  callId: string;
  livekitRooms: string[];
}

export type CallEffect = NoticeEffect | RemoveFromLiveKitEffect | CloseLiveKitRoomsEffect;
