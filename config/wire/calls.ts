// Calls on the wire: MatrixRTC memberships as Element Call publishes them, the focus service's token
// API, and the appservice bot's call notices.
import type { OpenIdToken } from "./matrix.ts";

/** Event types of MatrixRTC call membership, as Element Call and matrix-js-sdk publish them. */
export const CALL_MEMBER_EVENT_TYPES = ["org.matrix.msc3401.call.member", "m.call.member"] as const;

/** Body of the focus service's `POST /get_token` (MSC4195 as lk-jwt-service and Element Call speak it). */
export interface FocusGetTokenRequest extends FocusDelayedLeaveFields {
  room_id: string;
  slot_id: string;
  openid_token: OpenIdToken;
  member: { id: string; claimed_user_id: string; claimed_device_id: string };
}

/** Body of the focus service's legacy `POST /sfu/get` (pre-slot Element Call). */
export interface FocusLegacySfuRequest extends FocusDelayedLeaveFields {
  room: string;
  openid_token: OpenIdToken;
  device_id: string;
}

/**
 * A client's delayed leave event (MSC4140) handed to the focus with a token request, as Element Call
 * does: the focus has the homeserver send it once the client's LiveKit connection is gone. Both or
 * neither. `delay_cs_api_url` is accepted and never used: the focus calls only its own homeserver.
 */
export interface FocusDelayedLeaveFields {
  delay_id?: string;
  /** How long the homeserver waits (ms) before it sends the event by itself unless restarted. */
  delay_timeout?: number;
  delay_cs_api_url?: string;
}

/** Body of the focus service's `POST /delegate_delayed_leave`: a get_token body with the delay fields required. */
export type FocusDelegateDelayedLeaveRequest = FocusGetTokenRequest & Required<Pick<FocusDelayedLeaveFields, "delay_id" | "delay_timeout">>;

/** Answer of both focus endpoints: where to connect and the LiveKit token to connect with. */
export interface FocusTokenResponse {
  url: string;
  jwt: string;
}

/**
 * Content of a MatrixRTC call membership (`org.matrix.msc3401.call.member` / `m.call.member`) as
 * Element Call and matrix-js-sdk publish it; the state key is `[_]<user id>_<device id>[_<suffix>]`.
 * Empty content (`{}`) means the device left the call, whether the client sent it or the homeserver
 * did as the client's MSC4140 delayed leave event.
 */
export interface CallMemberContent {
  application?: string;
  call_id?: string;
  device_id?: string;
  scope?: string;
  focus_active?: { type: string; focus_selection?: string };
  foci_preferred?: { type: string; livekit_service_url?: string; livekit_alias?: string }[];
  /** Milliseconds after `created_ts` (or the event's origin_server_ts) when the membership lapses. */
  expires?: number;
  created_ts?: number;
}

/**
 * A MatrixRTC membership in Element Call's `matrix_2_0` mode: a sticky timeline event (MSC4354) of
 * this type, one per session, keyed by `msc4354_sticky_key` (the member ID), its LiveKit identity the
 * hash of `[member.user_id, member.device_id, member.id]`. A leave (the client's, or its MSC4140
 * delayed leave) is the same key without `member`.
 */
export const RTC_MEMBER_EVENT_TYPE = "org.matrix.msc4143.rtc.member";

export interface RtcMemberContent {
  slot_id?: string;
  member?: { user_id?: string; device_id?: string; id?: string };
  application?: { type?: string };
  transports?: { published?: { type: string; livekit_service_url?: string }[]; can_subscribe?: string[] };
  msc4354_sticky_key?: string;
}

/** Key of CallNoticeFields on the appservice bot's call notices. */
export const CALL_NOTICE_KEY = "org.visio.call";

/** Machine-readable part of the appservice bot's call notices, under `org.visio.call`. */
export interface CallNoticeFields {
  call_id: string;
  state: "started" | "ended";
  /** Milliseconds since the epoch. */
  started_at: number;
  /** Set once ended. */
  ended_at?: number;
  duration_ms?: number;
  /** Distinct Matrix users who were in the call. */
  participants?: number;
  /** Matrix IDs of those users, in order of first join. */
  participant_ids?: string[];
}

/** The `m.notice` the appservice bot posts when a call starts and when it ends. */
export interface CallNoticeContent {
  msgtype: "m.notice";
  body: string;
  [CALL_NOTICE_KEY]: CallNoticeFields;
}
