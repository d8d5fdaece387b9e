// What asks for a start or stop: the body of `POST /_visio/v1/transcription`, and the chat command
// `!transcribe start [language]` / `!transcribe stop`. Every field checked, each problem named:
// missing or mistyped fields are M_BAD_JSON, well-typed but invalid values M_INVALID_PARAM, unknown
// fields refused (as the focus endpoints do).
import type { RecordingTranscriptionRequest, TranscriptionControlRequest } from "../../../config/wire-types.ts";
import { LANGUAGE_TAG, LANGUAGE_TAG_PROBLEM, MAX_LANGUAGE_LENGTH } from "../../../config/transcription-fields.ts";
import { MatrixError } from "../errors.ts";
import { parseOpenIdToken, refuseUnknownKeys, requireObject, requireRoomId } from "../focus/focus-requests.ts";

const MAX_EVENT_ID_LENGTH = 255;
const EVENT_ID = /^\$[\x21-\x7e]+$/;

function eventId(value: unknown, where: string): string {
  if (typeof value !== "string") throw new MatrixError("M_BAD_JSON", `'${where}' must be a string`);
  if (value.length > MAX_EVENT_ID_LENGTH || !EVENT_ID.test(value)) throw new MatrixError("M_INVALID_PARAM", `'${where}' must be an event ID ($…)`);
  return value;
}

function language(value: unknown, where: string): string {
  if (typeof value !== "string") throw new MatrixError("M_BAD_JSON", `'${where}' must be a string`);
  if (value.length > MAX_LANGUAGE_LENGTH || !LANGUAGE_TAG.test(value)) {
    throw new MatrixError("M_INVALID_PARAM", `'${where}' ${LANGUAGE_TAG_PROBLEM}`, undefined, {
      reason: "bad_language",
      params: { language: value.slice(0, MAX_LANGUAGE_LENGTH) },
    });
  }
  return value;
}

export function parseTranscriptionRequest(body: unknown): TranscriptionControlRequest {
  const obj = requireObject(body, "body");
  refuseUnknownKeys(obj, "", ["room_id", "action", "language", "openid_token"]);
  const { action } = obj;
  if (typeof action !== "string") throw new MatrixError("M_BAD_JSON", "'action' must be a string");
  if (action !== "start" && action !== "stop") throw new MatrixError("M_INVALID_PARAM", "'action' must be \"start\" or \"stop\"");
  if (action === "stop" && obj.language !== undefined) throw new MatrixError("M_INVALID_PARAM", "'language' is only for \"start\"");
  return {
    room_id: requireRoomId(obj, "room_id"),
    action,
    ...(obj.language !== undefined ? { language: language(obj.language, "language") } : {}),
    openid_token: parseOpenIdToken(obj.openid_token),
  };
}

/** The body of `POST /_visio/v1/transcription/recording`. */
export function parseRecordingRequest(body: unknown): RecordingTranscriptionRequest {
  const obj = requireObject(body, "body");
  refuseUnknownKeys(obj, "", ["room_id", "event_id", "language", "openid_token"]);
  return {
    room_id: requireRoomId(obj, "room_id"),
    event_id: eventId(obj.event_id, "event_id"),
    ...(obj.language !== undefined ? { language: language(obj.language, "language") } : {}),
    openid_token: parseOpenIdToken(obj.openid_token),
  };
}

export const COMMAND_PREFIX = "!transcribe";
export const COMMAND_USAGE = "Usage: !transcribe start [language] | !transcribe stop | !transcribe [language] in a reply to an audio or video recording";

export type TranscribeCommand =
  | { action: "start"; language?: string }
  | { action: "stop" }
  /** In a reply to a recording: transcribe it. */
  | { action: "recording"; eventId: string; language?: string };

/**
 * The command in a message body: null when the message is not one, a MatrixError (its message
 * suits a reply) when it is one but malformed. `inReplyTo`: the event the message replies to.
 */
export function parseTranscribeCommand(body: string, inReplyTo?: string): TranscribeCommand | null {
  const words = withoutReplyFallback(body).trim().split(/\s+/);
  if (words[0]?.toLowerCase() !== COMMAND_PREFIX) return null;
  const [, action, arg, ...rest] = words;
  if (action === "start" && rest.length === 0) {
    return arg === undefined ? { action: "start" } : { action: "start", language: language(arg, "language") };
  }
  if (action === "stop" && arg === undefined) return { action: "stop" };
  if (inReplyTo !== undefined && arg === undefined) {
    return action === undefined ? { action: "recording", eventId: inReplyTo } : { action: "recording", eventId: inReplyTo, language: language(action, "language") };
  }
  throw new MatrixError("M_INVALID_PARAM", COMMAND_USAGE, undefined, { reason: "command_usage" });
}

/** Clients that still quote the replied-to message put it first, as "> " lines, then a blank line. */
export function withoutReplyFallback(body: string): string {
  const lines = body.split("\n");
  if (!lines[0]?.startsWith("> ")) return body;
  const end = lines.findIndex((line) => !line.startsWith(">"));
  return end === -1 ? "" : lines.slice(end).join("\n");
}
