// Wire types shared by the client, the appservice and the bridge: HTTP bodies and event contents.
// One definition per shape; every process imports it from here.

/** Matrix-style error body, as every Visio HTTP API answers on failure. */
export interface MatrixErrorBody {
  errcode: string;
  error: string;
  retry_after_ms?: number;
}

/** A client-format room event as homeservers deliver it to appservices. */
export interface RoomEvent {
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
  /** Set on a sticky event (MSC4354): how long it stays part of the room's current state of affairs. */
  msc4354_sticky?: { duration_ms?: number };
}

/** Body of `PUT /_matrix/app/v1/transactions/{txnId}`. */
export interface AppserviceTransaction {
  events: RoomEvent[];
  ephemeral?: Record<string, unknown>[];
}

/** `m.room.server_acl` content: the federation allowlist, as room state. */
export interface ServerAclContent {
  allow: string[];
  deny: string[];
  allow_ip_literals: boolean;
}

export type JoinRule = "public" | "knock" | "invite";

/** A Matrix user ID, `@localpart:server`: group 1 the localpart, group 2 the server name (with its port). */
export const MATRIX_USER_ID = /^@([^:\s]+):(\S+)$/;

/**
 * Key set to true in a bot's own `m.room.member` content (the appservice's bot and the transcription
 * bridge's user, of every ministry), written when it joins: clients leave such members out of the
 * people they list and count. In the event rather than a list of names, so that another ministry's
 * bots are known too.
 */
export const BOT_MEMBER_KEY = "org.visio.bot";

/** Event types of MatrixRTC call membership, as Element Call and matrix-js-sdk publish them. */
export const CALL_MEMBER_EVENT_TYPES = ["org.matrix.msc3401.call.member", "m.call.member"] as const;

/** The OpenID token a client got from `/_matrix/client/v3/user/{userId}/openid/request_token`. */
export interface OpenIdToken {
  access_token: string;
  token_type: string;
  matrix_server_name: string;
  expires_in: number;
}

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

/** Answer of `GET /_matrix/federation/v1/openid/userinfo`. */
export interface OpenIdUserInfo {
  sub: string;
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
  "org.visio.call": CallNoticeFields;
}

/** Key of TranscriptSessionFields on the "Transcription started" notice. */
export const TRANSCRIPT_SESSION_KEY = "org.visio.transcript.session";

/** Under `org.visio.transcript.session` on the "Transcription started" notice (the thread root). */
export interface TranscriptSessionFields {
  /** BCP 47 tag of the engine's model, or "und" when the engine detects it. */
  language: string;
  /** The engine's configured name ("pocketsphinx"). */
  engine: string;
}

/**
 * Under `org.visio.transcript` on each utterance's thread message (and in `m.new_content` of its edits):
 * a proposal, since no Matrix spec or MSC defines captions yet.
 */
export interface TranscriptFields {
  /** The speaker's Matrix user ID where known, else the LiveKit participant identity. */
  speaker: string;
  /** What the body names the speaker as. */
  speaker_name: string;
  /** Milliseconds since transcription started. */
  start_ms: number;
  end_ms: number;
  language: string;
  engine: string;
  /** false while the engine may still revise the text: a later edit replaces it. */
  final: boolean;
}

/**
 * LiveKit participant attribute that the focus service puts in every token it issues: the verified
 * Matrix user behind the participant (identities are hashes, so this is how the bridge names speakers).
 */
export const MATRIX_USER_ATTRIBUTE = "org.visio.matrix_user_id";

/** Room state (state key "") saying whether the room is transcribed; written by the appservice bot only. */
export const TRANSCRIPTION_STATE_EVENT = "org.visio.transcription";

export interface TranscriptionStateContent {
  active: boolean;
  /** Matrix user who asked for the last start or stop. */
  requested_by: string;
  /** BCP 47 tag, or "und" when the engine detects it. */
  language: string;
  /** The bridge engine's configured name ("pocketsphinx"). */
  engine: string;
  /** Milliseconds since the epoch. */
  started_at?: number;
  stopped_at?: number;
  /** Event ID of the "Transcription started" notice that the transcript is threaded under. */
  thread_root?: string;
}

/** `POST /_visio/v1/transcription` on the appservice: start or stop a room's transcription. */
export interface TranscriptionControlRequest {
  room_id: string;
  action: "start" | "stop";
  /** For "start"; the bridge's configured language when absent. */
  language?: string;
  /** From the requester's own homeserver, verified like the focus service's. */
  openid_token: OpenIdToken;
}

export interface TranscriptionControlResponse {
  state: TranscriptionStateContent;
}

/**
 * `POST /_visio/v1/transcription/recording` on the appservice: transcribe an audio recording posted in
 * the meeting (an `m.audio` message, or an `m.file` of an audio type). The transcript files come in a
 * thread under the recording. The chat command is `!transcribe [language]` as a reply to it.
 */
/** Where a user of the ministry creates a meeting on its appservice. */
export const MEETINGS_API_PATH = "/_visio/v1/meetings";

/** `POST /_visio/v1/meetings`: a new meeting, with the title its creator gives it. */
export interface MeetingCreationRequest {
  /** As the creator writes it, in their language: 1 to 100 characters. */
  title: string;
  openid_token: OpenIdToken;
}

/** Answer to a MeetingCreationRequest: the room, already inviting its creator, who moderates it. */
export interface MeetingCreationResponse {
  room_id: string;
  /** #<prefix><slug>:<server>: the slug comes from the title, with a random tail. */
  room_alias: string;
  name: string;
}

/** Where a moderator starts and ends a meeting's breakout groups, on the appservice hosting it. */
export const BREAKOUTS_API_PATH = "/_visio/v1/breakouts";

/**
 * State event (key "") of a meeting room, written by its bot only: the meeting's breakout groups. Each
 * group is a meeting room of its own (its call, its transcript), a child of the meeting (m.space.child
 * here, m.space.parent there, as MSC3985 sketches). Clients move their user into their group's call
 * while `active` and `ends_at` is not past, and back to the meeting's call after.
 */
export const BREAKOUTS_STATE_EVENT = "org.visio.breakouts";

export interface BreakoutGroup {
  room_id: string;
  name: string;
  /** Matrix user IDs, each in one group only. */
  members: string[];
}

export interface BreakoutsContent {
  active: boolean;
  groups: BreakoutGroup[];
  /** The moderator who started them, who is invited into every group. */
  started_by: string;
  started_at: number;
  /** When they end by themselves (ms since the epoch); absent: when a moderator ends them. */
  ends_at?: number;
  ended_at?: number;
}

/** `POST /_visio/v1/breakouts`: start (with the groups) or end a meeting's breakout groups. */
export interface BreakoutsRequest {
  room_id: string;
  action: "start" | "end";
  /** start only: the members of each group (2 to 20 groups, joined members of the meeting). */
  groups?: string[][];
  /** start only: 1 to 240; absent, until a moderator ends them. */
  duration_minutes?: number;
  openid_token: OpenIdToken;
}

/** Where a moderator acts on the participants of a meeting's call, on each ministry's appservice. */
export const MODERATION_API_PATH = "/_visio/v1/moderation";

/**
 * `POST /_visio/v1/moderation`: a moderator (power level 50) mutes a participant's microphone or
 * everyone's, removes a participant, or ends the call, on the SFU of the ministry receiving it (in
 * multi_sfu each member publishes on their own ministry's: ask the target's ministry, or every one).
 */
export interface ModerationRequest {
  room_id: string;
  action: "mute" | "mute_all" | "remove" | "end";
  /** mute and remove only: the participant's LiveKit identity or Matrix user ID. */
  target?: string;
  openid_token: OpenIdToken;
}

/** How many participants of this ministry's SFU the action reached. */
export interface ModerationResponse {
  affected: number;
}

export interface RecordingTranscriptionRequest {
  room_id: string;
  /** The recording's message. */
  event_id: string;
  /** The server's default language when absent. */
  language?: string;
  openid_token: OpenIdToken;
}

/** 202: queued; the transcript files come in the recording's thread. */
export interface RecordingTranscriptionResponse {
  event_id: string;
  filename: string;
  language: string;
}

/** LiveKit agent name the bridge workers register under; the appservice dispatches jobs to it. */
export const TRANSCRIBER_AGENT_NAME = "visio-transcriber";

/**
 * Metadata of a LiveKit agent dispatch asking a bridge worker to transcribe one call, or, with
 * `recording`, one recording posted in the room (then `thread_root` is the recording's event).
 */
export interface TranscriptionJobMetadata {
  room_id: string;
  language: string;
  engine: string;
  started_at: number;
  thread_root: string;
  recording?: RecordingJobFields;
}

/** Recordings larger than this are refused (about three hours of Opus speech at 64 kbit/s). */
export const MAX_RECORDING_BYTES = 100 * 1024 * 1024;

export interface RecordingJobFields {
  /** mxc:// URI of the recording (unencrypted media). */
  url: string;
  filename: string;
  /** The recording's size as its message gives it, when it does. */
  size?: number;
}

/**
 * Field of the notices in a transcript thread about the transcriber itself. The appservice's: "waiting"
 * when no worker took the call within a bound (nothing is transcribed), "running" once one did. The
 * bridge's: "refused" when its worker has no model for the meeting's language; the appservice then
 * stops the transcription.
 */
export const TRANSCRIBER_NOTICE_KEY = "org.visio.transcription.worker";

export interface TranscriberNoticeFields {
  state: "waiting" | "running" | "refused";
  /** The ministry whose workers are awaited (the SFU's), or whose worker refused. */
  server_name: string;
  /** waiting / running: true when the job is a recording posted in the room, not the call. */
  recording?: boolean;
  /** For "refused": the language asked for, and why no model covers it. */
  language?: string;
  reason?: string;
}

/**
 * The bridge's notice in a transcript thread when its speech-to-text engine fails ("interrupted", once
 * per outage) and when it is back ("resumed", with the utterances lost meanwhile).
 */
export const TRANSCRIPT_OUTAGE_KEY = "org.visio.transcript.outage";

export interface TranscriptOutageFields {
  state: "interrupted" | "resumed";
  /** The engine's configured name. */
  engine: string;
  /** resumed: utterances not transcribed during the outage. */
  lost_utterances?: number;
}

/** The bridge's notice in a transcript thread when transcript messages could not be posted there. */
export const TRANSCRIPT_LOST_MESSAGES_KEY = "org.visio.transcript.lost_messages";

export interface TranscriptLostMessagesFields {
  lost_messages: number;
  /** What the homeserver answered (for operators; not shown to people). */
  reason: string;
}

/** Data-packet topic on which the appservice tells the bridge in a call to finish (files, then leave). */
export const TRANSCRIPTION_CONTROL_TOPIC = "org.visio.transcription.control";

export interface TranscriptionControlMessage {
  action: "stop";
}

/**
 * Key in a homeserver's `.well-known/matrix/client`: where that ministry's appservice answers
 * (`{ "url": "https://…" }`), for the transcription control API of rooms it hosts.
 */
export const WELL_KNOWN_APPSERVICE_KEY = "org.visio.appservice";

export interface WellKnownAppservice {
  url: string;
}
