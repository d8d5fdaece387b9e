// What Visio's parts tell each other through LiveKit: the participant attribute naming the Matrix
// user, the transcription agent's dispatches and control messages, and live subtitles as text streams.

/**
 * LiveKit participant attribute that the focus service puts in every token it issues: the verified
 * Matrix user behind the participant (identities are hashes, so this is how the bridge names speakers).
 */
export const MATRIX_USER_ATTRIBUTE = "org.visio.matrix_user_id";

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

/** Data-packet topic on which the appservice tells the bridge in a call to finish (files, then leave). */
export const TRANSCRIPTION_CONTROL_TOPIC = "org.visio.transcription.control";

export interface TranscriptionControlMessage {
  action: "stop";
}

/** LiveKit text-stream topic of live subtitles, as LiveKit's agents publish transcriptions. */
export const SUBTITLE_TOPIC = "lk.transcription";

/** The attributes of a subtitle stream, one stream per version of a segment (LiveKit's agents' names). */
export const SUBTITLE_ATTRIBUTES = {
  /** The transcribed track's SID: whose words these are. */
  trackId: "lk.transcribed_track_id",
  /** The same for every version of one utterance: a later stream replaces the text. */
  segmentId: "lk.segment_id",
  /** "true" on the last version, "false" on the interim ones. */
  final: "lk.transcription_final",
} as const;
