// Validation of the focus endpoints' bodies: every field checked, each problem named.
// Missing or mistyped fields are M_BAD_JSON, well-typed but invalid values M_INVALID_PARAM.
// Unknown fields are refused, as lk-jwt-service does, so a typo never silently weakens a check.
import type { FocusGetTokenRequest, FocusLegacySfuRequest, OpenIdToken } from "../../../wire-types.ts";
import { MatrixError } from "../errors.ts";
import { parseServerName } from "./federation-client.ts";
import { CALL_SLOT, isWellFormedId } from "./livekit-names.ts";

// Sent by older Element Call versions to delegate their delayed leave event. This focus does not
// manage delayed events, so they are accepted and ignored: the client keeps restarting its own.
const DEPRECATED_DELAY_FIELDS = ["delay_id", "delay_timeout", "delay_cs_api_url"];
const MAX_ID_LENGTH = 255;
const USER_ID = /^@[^:]+:(.+)$/;

type Json = Record<string, unknown>;

function object(value: unknown, path: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new MatrixError("M_BAD_JSON", `'${path}' must be a JSON object`);
  }
  return value as Json;
}

function onlyKeys(obj: Json, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw new MatrixError("M_BAD_JSON", `Unknown field '${path}${key}'`);
  }
}

function id(obj: Json, key: string, path: string): string {
  const value = obj[key];
  if (typeof value !== "string" || value === "") {
    throw new MatrixError("M_BAD_JSON", `'${path}${key}' must be a non-empty string`);
  }
  if (value.length > MAX_ID_LENGTH || !isWellFormedId(value)) {
    throw new MatrixError("M_INVALID_PARAM", `'${path}${key}' must be well-formed and at most ${MAX_ID_LENGTH} characters`);
  }
  return value;
}

function roomId(obj: Json, key: string): string {
  const value = id(obj, key, "");
  if (!value.startsWith("!")) throw new MatrixError("M_INVALID_PARAM", `'${key}' must be a room ID (!…)`);
  return value;
}

function deprecatedDelayFields(obj: Json): void {
  if (obj.delay_id !== undefined && typeof obj.delay_id !== "string") throw new MatrixError("M_BAD_JSON", "'delay_id' must be a string");
  if (obj.delay_timeout !== undefined && typeof obj.delay_timeout !== "number") {
    throw new MatrixError("M_BAD_JSON", "'delay_timeout' must be a number");
  }
  if (obj.delay_cs_api_url !== undefined && typeof obj.delay_cs_api_url !== "string") {
    throw new MatrixError("M_BAD_JSON", "'delay_cs_api_url' must be a string");
  }
}

function openIdToken(value: unknown): OpenIdToken {
  const token = object(value, "openid_token");
  onlyKeys(token, "openid_token.", ["access_token", "token_type", "matrix_server_name", "expires_in"]);
  const accessToken = token.access_token;
  if (typeof accessToken !== "string" || accessToken === "") {
    throw new MatrixError("M_BAD_JSON", "'openid_token.access_token' must be a non-empty string");
  }
  // Never echo the token back in an error: error bodies end up in logs.
  if (accessToken.length > 1024 || !/^[\x21-\x7e]+$/.test(accessToken)) {
    throw new MatrixError("M_INVALID_PARAM", "'openid_token.access_token' is not a valid token");
  }
  if (token.token_type !== "Bearer") throw new MatrixError("M_INVALID_PARAM", "'openid_token.token_type' must be \"Bearer\"");
  const serverName = id(token, "matrix_server_name", "openid_token.");
  if (!parseServerName(serverName)) {
    throw new MatrixError("M_INVALID_PARAM", "'openid_token.matrix_server_name' must be a server name");
  }
  const expiresIn = token.expires_in ?? 0;
  if (typeof expiresIn !== "number" || !Number.isFinite(expiresIn) || expiresIn < 0) {
    throw new MatrixError("M_BAD_JSON", "'openid_token.expires_in' must be a non-negative number");
  }
  return { access_token: accessToken, token_type: "Bearer", matrix_server_name: serverName, expires_in: expiresIn };
}

export function parseGetTokenRequest(body: unknown): FocusGetTokenRequest {
  const obj = object(body, "body");
  onlyKeys(obj, "", ["room_id", "slot_id", "openid_token", "member", ...DEPRECATED_DELAY_FIELDS]);
  deprecatedDelayFields(obj);
  const member = object(obj.member, "member");
  onlyKeys(member, "member.", ["id", "claimed_user_id", "claimed_device_id"]);
  const claimedUserId = id(member, "claimed_user_id", "member.");
  if (!USER_ID.test(claimedUserId)) throw new MatrixError("M_INVALID_PARAM", "'member.claimed_user_id' must be a user ID");
  const slotId = id(obj, "slot_id", "");
  // Each slot is a LiveKit room of its own: only the one clients use, not one per made-up name.
  if (slotId !== CALL_SLOT) throw new MatrixError("M_INVALID_PARAM", `'slot_id' must be "${CALL_SLOT}", the room's call (the only slot MatrixRTC clients use)`);
  return {
    room_id: roomId(obj, "room_id"),
    slot_id: slotId,
    openid_token: openIdToken(obj.openid_token),
    member: { id: id(member, "id", "member."), claimed_user_id: claimedUserId, claimed_device_id: id(member, "claimed_device_id", "member.") },
  };
}

export function parseLegacySfuRequest(body: unknown): FocusLegacySfuRequest {
  const obj = object(body, "body");
  onlyKeys(obj, "", ["room", "openid_token", "device_id", ...DEPRECATED_DELAY_FIELDS]);
  deprecatedDelayFields(obj);
  return { room: roomId(obj, "room"), openid_token: openIdToken(obj.openid_token), device_id: id(obj, "device_id", "") };
}

/** The server part of a user ID; callers pass IDs already checked by USER_ID. */
export function serverOfUserId(userId: string): string {
  return USER_ID.exec(userId)?.[1] ?? "";
}

// The same checks for other endpoints that take an OpenID token (transcription control).
export { object as requireObject, onlyKeys as refuseUnknownKeys, roomId as requireRoomId, openIdToken as parseOpenIdToken };
