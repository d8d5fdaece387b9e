// What asks for a start or stop: the body of `POST /_visio/v1/transcription`, and the chat command
// `!transcribe start [language]` / `!transcribe stop`. Every field checked, each problem named:
// missing or mistyped fields are M_BAD_JSON, well-typed but invalid values M_INVALID_PARAM, unknown
// fields refused (as the focus endpoints do).
import type { TranscriptionControlRequest } from "../../../wire-types.ts";
import { LANGUAGE_TAG } from "../../../config/schema.ts";
import { MatrixError } from "../errors.ts";
import { parseOpenIdToken, refuseUnknownKeys, requireObject, requireRoomId } from "../focus/focus-requests.ts";

const MAX_LANGUAGE_LENGTH = 35;

function language(value: unknown, where: string): string {
  if (typeof value !== "string") throw new MatrixError("M_BAD_JSON", `'${where}' must be a string`);
  if (value.length > MAX_LANGUAGE_LENGTH || !LANGUAGE_TAG.test(value)) {
    throw new MatrixError("M_INVALID_PARAM", `'${where}' must be a BCP 47 language tag such as en or fr-FR, or und`);
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

export const COMMAND_PREFIX = "!transcribe";
export const COMMAND_USAGE = "Usage: !transcribe start [language] | !transcribe stop";

export type TranscribeCommand = { action: "start"; language?: string } | { action: "stop" };

/**
 * The command in a message body: null when the message is not one, a MatrixError (its message
 * suits a reply) when it is one but malformed.
 */
export function parseTranscribeCommand(body: string): TranscribeCommand | null {
  const words = body.trim().split(/\s+/);
  if (words[0]?.toLowerCase() !== COMMAND_PREFIX) return null;
  const [, action, arg, ...rest] = words;
  if (action === "start" && rest.length === 0) {
    return arg === undefined ? { action: "start" } : { action: "start", language: language(arg, "language") };
  }
  if (action === "stop" && arg === undefined) return { action: "stop" };
  throw new MatrixError("M_INVALID_PARAM", COMMAND_USAGE);
}
