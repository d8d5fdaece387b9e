// What in a room event changes call state: MatrixRTC call memberships (join / leave, including the
// homeserver's MSC4140 delayed leave events; call.member state events and matrix_2_0's sticky
// m.rtc.member events), users leaving or being removed from the room, and the
// room's transcription state (written by the hosting ministry's bot; every ministry whose SFU carries
// part of the call transcribes that part).
import {
  CALL_MEMBER_EVENT_TYPES,
  RTC_MEMBER_EVENT_TYPE,
  TRANSCRIPTION_STATE_EVENT,
  type CallMemberContent,
  type RoomEvent,
  type RtcMemberContent,
  type TranscriptionStateContent,
} from "../../../config/wire-types.ts";
import { CALL_SLOT } from "../focus/livekit-names.ts";

export interface RtcJoin {
  kind: "rtc-join";
  roomId: string;
  userId: string;
  deviceId: string;
  /** The call.member state key: one membership per key, replaced by later events with that key. */
  stateKey: string;
  at: number;
  expiresAt: number | null;
}

export interface RtcLeave {
  kind: "rtc-leave";
  roomId: string;
  userId: string;
  stateKey: string;
  /** The device named by the state key (the content is empty); null for an m.rtc.member leave, whose key names none. */
  keyDevice: string | null;
  at: number;
}

/** A user whose room membership ended (left, kicked or banned): not allowed in the call any more. */
export interface RoomDeparture {
  kind: "room-departure";
  roomId: string;
  userId: string;
  /** leave by someone else (kick) or ban; a user leaving on their own is not. */
  removed: boolean;
  isBan: boolean;
  at: number;
}

/** The room's transcription state changed (started or stopped). */
export interface TranscriptionStateChange {
  kind: "transcription-state";
  roomId: string;
  sender: string;
  active: boolean;
  startedAt: number | undefined;
  at: number;
}

export type CallInput = RtcJoin | RtcLeave | RoomDeparture | TranscriptionStateChange;

const MEMBER_TYPES: ReadonlySet<string> = new Set(CALL_MEMBER_EVENT_TYPES);

/** The device part of a state key `[_]<user id>_<device id>[_<application>]`, or null if not the sender's. */
function deviceOfStateKey(stateKey: string, sender: string): string | null {
  const own = stateKey.startsWith("_") ? stateKey.slice(1) : stateKey;
  if (!own.startsWith(`${sender}_`)) return null;
  const device = own.slice(sender.length + 1);
  return device === "" ? null : device;
}

function callMemberInput(event: RoomEvent & { state_key: string }): RtcJoin | RtcLeave | null {
  // MatrixRTC memberships are owned by their sender: someone else's key is not a membership of theirs.
  const keyDevice = deviceOfStateKey(event.state_key, event.sender);
  if (keyDevice === null) return null;
  const at = event.origin_server_ts ?? Date.now();
  const base = { roomId: event.room_id, userId: event.sender, stateKey: event.state_key, at };
  const content = event.content as CallMemberContent;
  if (Object.keys(content).length === 0) return { kind: "rtc-leave", ...base, keyDevice };
  // Other MatrixRTC applications (and the pre-2024 per-user format) are not calls we track.
  if (content.application !== "m.call") return null;
  const created = typeof content.created_ts === "number" ? content.created_ts : at;
  return {
    kind: "rtc-join",
    ...base,
    deviceId: typeof content.device_id === "string" && content.device_id !== "" ? content.device_id : keyDevice,
    expiresAt: typeof content.expires === "number" && content.expires > 0 ? created + content.expires : null,
  };
}

/** How long a sticky event counts when it does not say (MSC4354's longest, what matrix-js-sdk uses). */
const STICKY_DEFAULT_MS = 60 * 60 * 1000;

/**
 * A matrix_2_0 membership (sticky m.rtc.member event) as the same join / leave as a call.member state
 * event. Its presence key is the sender's own (`rtc <sender> <sticky key>`): another user's event with
 * the same sticky key cannot end it.
 */
function rtcMemberInput(event: RoomEvent): RtcJoin | RtcLeave | null {
  const content = event.content as RtcMemberContent;
  const stickyKey = content.msc4354_sticky_key;
  if (typeof stickyKey !== "string" || stickyKey === "") return null;
  const at = event.origin_server_ts ?? Date.now();
  const base = { roomId: event.room_id, userId: event.sender, stateKey: `rtc ${event.sender} ${stickyKey}`, at };
  const member = content.member;
  if (member === undefined) return { kind: "rtc-leave", ...base, keyDevice: null };
  // Only the room's call, and only the sender's own membership.
  if (content.slot_id !== CALL_SLOT || content.application?.type !== "m.call") return null;
  if (member.user_id !== event.sender || typeof member.device_id !== "string" || member.device_id === "") return null;
  const duration = event.msc4354_sticky?.duration_ms;
  return {
    kind: "rtc-join",
    ...base,
    deviceId: member.device_id,
    expiresAt: at + (typeof duration === "number" && duration > 0 ? Math.min(duration, STICKY_DEFAULT_MS) : STICKY_DEFAULT_MS),
  };
}

function departureInput(event: RoomEvent & { state_key: string }): RoomDeparture | null {
  const { membership } = event.content;
  if (membership !== "leave" && membership !== "ban") return null;
  return {
    kind: "room-departure",
    roomId: event.room_id,
    userId: event.state_key,
    removed: membership === "ban" || event.sender !== event.state_key,
    isBan: membership === "ban",
    at: event.origin_server_ts ?? Date.now(),
  };
}

function transcriptionStateInput(event: RoomEvent & { state_key: string }): TranscriptionStateChange | null {
  if (event.state_key !== "") return null;
  const content = event.content as Partial<TranscriptionStateContent>;
  if (typeof content.active !== "boolean") return null;
  return {
    kind: "transcription-state",
    roomId: event.room_id,
    sender: event.sender,
    active: content.active,
    startedAt: typeof content.started_at === "number" ? content.started_at : undefined,
    at: event.origin_server_ts ?? Date.now(),
  };
}

/** The call-relevant changes of a transaction's events, in event order. */
export function callInputs(events: readonly RoomEvent[]): CallInput[] {
  const inputs: CallInput[] = [];
  for (const event of events) {
    if (event.type === RTC_MEMBER_EVENT_TYPE && event.state_key === undefined) {
      const input = rtcMemberInput(event);
      if (input) inputs.push(input);
      continue;
    }
    if (event.state_key === undefined) continue;
    const stateEvent = event as RoomEvent & { state_key: string };
    const input = MEMBER_TYPES.has(event.type)
      ? callMemberInput(stateEvent)
      : event.type === "m.room.member"
        ? departureInput(stateEvent)
        : event.type === TRANSCRIPTION_STATE_EVENT
          ? transcriptionStateInput(stateEvent)
          : null;
    if (input) inputs.push(input);
  }
  return inputs;
}
