// What call changes ask to be done once committed; stored as JSON in call_effects.
import type { CallNoticeContent, RecordingJobFields } from "../../../config/wire-types.ts";

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

/**
 * Make sure the room's transcription (if it is on) has a transcriber in the call: in one LiveKit room
 * (a first participant came, the transcriber left), or in every LiveKit room of the room's call
 * (transcription just started). `since`: dispatches made before it are not trusted.
 */
export interface TranscriptionDispatchEffect {
  kind: "transcription_dispatch";
  roomId: string;
  livekitRoom?: string;
  since: number;
}

/** Tell the transcribers of a stopped session (the one started at `startedAt`) to finish, then withdraw it. */
export interface TranscriptionStopEffect {
  kind: "transcription_stop";
  roomId: string;
  startedAt: number;
  requestedAt: number;
}

/** Get a worker to transcribe a recording posted in the room, in a thread under it. */
export interface RecordingTranscriptionEffect {
  kind: "recording_transcription";
  roomId: string;
  eventId: string;
  recording: RecordingJobFields;
  language: string;
  engine: string;
  requestedAt: number;
}

export type TranscriptionEffect = TranscriptionDispatchEffect | TranscriptionStopEffect | RecordingTranscriptionEffect;

/**
 * Have the user's homeserver send the delayed leave event (MSC4140) that their client handed to the
 * focus: their LiveKit connection is gone, so is their call membership.
 */
export interface SendDelayedLeaveEffect {
  kind: "send_delayed_leave";
  roomId: string;
  userId: string;
  /** The capability to send it: never logged. */
  delayId: string;
}

/** The effect that sends a delegated leave (taken from the store, so it is sent once). */
export function sendDelayedLeave(leave: { roomId: string; userId: string; delayId: string }): SendDelayedLeaveEffect {
  return { kind: "send_delayed_leave", roomId: leave.roomId, userId: leave.userId, delayId: leave.delayId };
}

export type CallEffect = NoticeEffect | RemoveFromLiveKitEffect | CloseLiveKitRoomsEffect | SendDelayedLeaveEffect | TranscriptionEffect;
