// A meeting's transcription state is the room state `org.visio.transcription` (state key ""), which
// only the appservice's bot may write (power level 100 in the rooms it creates). It is read back from
// the homeserver whenever a decision depends on it: the room is the one source of truth.
import {
  TRANSCRIBER_NOTICE_KEY,
  TRANSCRIPT_SESSION_KEY,
  TRANSCRIPTION_STATE_EVENT,
  type TranscriberNoticeFields,
  type TranscriptSessionFields,
  type TranscriptionStateContent,
} from "../../../config/wire-types.ts";
import type { HomeserverClient } from "../homeserver-client.ts";
import { transcriptionTexts } from "./transcription-texts.ts";

export interface TranscriptionStateReader {
  /** The room's transcription state, or null when it never had one (or it is not ours to read). */
  read(roomId: string): Promise<TranscriptionStateContent | null>;
}

const optionalNumber = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** Content as the room holds it, checked: a malformed event counts as "not transcribed". */
export function parseTranscriptionState(content: Record<string, unknown> | null): TranscriptionStateContent | null {
  if (content === null || typeof content.active !== "boolean") return null;
  const str = (v: unknown): string => (typeof v === "string" ? v : "");
  const state: TranscriptionStateContent = {
    active: content.active,
    requested_by: str(content.requested_by),
    language: str(content.language),
    engine: str(content.engine),
  };
  const startedAt = optionalNumber(content.started_at);
  const stoppedAt = optionalNumber(content.stopped_at);
  if (startedAt !== undefined) state.started_at = startedAt;
  if (stoppedAt !== undefined) state.stopped_at = stoppedAt;
  if (typeof content.thread_root === "string") state.thread_root = content.thread_root;
  return state;
}

export function createTranscriptionStateReader(homeserver: Pick<HomeserverClient, "getState">): TranscriptionStateReader {
  return {
    read: async (roomId) => parseTranscriptionState(await homeserver.getState(roomId, TRANSCRIPTION_STATE_EVENT, "")),
  };
}

/** The thread root of a session: what the bridge threads the transcript under. */
export function transcriptionStartedNotice(session: TranscriptSessionFields): Record<string, unknown> {
  return { msgtype: "m.notice", body: transcriptionTexts(session.language).started, [TRANSCRIPT_SESSION_KEY]: session };
}

/**
 * Closes a session in the timeline, with the state it ended in for clients that read it. `refusedBy`:
 * the ministry whose worker had no model for the meeting's language; the notice says so (its body,
 * and the refusal's fields, as the worker's own notice has them).
 */
export function transcriptionStoppedNotice(state: TranscriptionStateContent, refusedBy?: string): Record<string, unknown> {
  const texts = transcriptionTexts(state.language);
  if (refusedBy === undefined) return { msgtype: "m.notice", body: texts.stopped, [TRANSCRIPTION_STATE_EVENT]: state };
  const refusal: TranscriberNoticeFields = { state: "refused", server_name: refusedBy, language: state.language };
  return { msgtype: "m.notice", body: texts.refused(refusedBy), [TRANSCRIPTION_STATE_EVENT]: state, [TRANSCRIBER_NOTICE_KEY]: refusal };
}

/**
 * A bot notice in the thread under `root` (a session's root, or a recording), with a reply
 * fallback for clients without threads.
 */
export function threadNotice(root: string, body: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { msgtype: "m.notice", body, "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } }, ...fields };
}
