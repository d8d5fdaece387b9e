// Transcription on the wire, Matrix side: the room state saying a meeting is transcribed, the
// appservice's API to start and stop it (and to transcribe a recording), the transcript thread's
// messages and the notices in it.
import type { OpenIdToken } from "./matrix.ts";

/** Key of TranscriptSessionFields on the "Transcription started" notice. */
export const TRANSCRIPT_SESSION_KEY = "org.visio.transcript.session";

/** Under `org.visio.transcript.session` on the "Transcription started" notice (the thread root). */
export interface TranscriptSessionFields {
  /** BCP 47 tag of the engine's model, or "und" when the engine detects it. */
  language: string;
  /** The engine's configured name ("pocketsphinx"). */
  engine: string;
}

/** Key of TranscriptFields on each utterance's thread message. */
export const TRANSCRIPT_KEY = "org.visio.transcript";

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

/** Where a meeting's transcription is started and stopped, on the appservice hosting it. */
export const TRANSCRIPTION_API_PATH = "/_visio/v1/transcription";

/** Where a recording posted in a meeting is sent to be transcribed, on the appservice hosting it. */
export const RECORDING_API_PATH = "/_visio/v1/transcription/recording";

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
