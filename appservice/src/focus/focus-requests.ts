// Validation of the focus endpoints' bodies: every field checked, each problem named.
// Missing or mistyped fields are M_BAD_JSON, well-typed but invalid values M_INVALID_PARAM.
// Unknown fields are refused, as lk-jwt-service does, so a typo never silently weakens a check.
import { MATRIX_USER_ID, type FocusGetTokenRequest, type FocusLegacySfuRequest, type OpenIdToken } from "../../../config/wire-types.ts";
import { MatrixError } from "../errors.ts";
import { parseServerName } from "./federation-client.ts";
import { CALL_SLOT, isWellFormedId } from "./livekit-names.ts";

// A delayed leave event handed to the focus (see FocusDelayedLeaveFields in wire-types.ts).
const DELAY_FIELDS = ["delay_id", "delay_timeout", "delay_cs_api_url"];
/** What Synapse allows at most (max_event_delay_duration in our homeserver config): a day. */
const MAX_DELAY_TIMEOUT_MS = 24 * 60 * 60 * 1000;
const MAX_ID_LENGTH = 255;

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

/** The delay a client hands over, or undefined when it hands none. */
export interface DelegatedDelay {
  id: string;
  timeoutMs: number;
}

/**
 * The delay fields of a body. Delegation is offered to users of this homeserver only (`localServer`),
 * whose delayed events it can send; other users get M_BAD_JSON, on which Element Call asks again
 * without the fields and keeps restarting its delayed leave itself.
 */
function delayFields(obj: Json, serverName: string, localServer: string | null, required: boolean): DelegatedDelay | undefined {
  if (obj.delay_cs_api_url !== undefined && typeof obj.delay_cs_api_url !== "string") {
    throw new MatrixError("M_BAD_JSON", "'delay_cs_api_url' must be a string");
  }
  if (obj.delay_id === undefined && obj.delay_timeout === undefined && !required) return undefined;
  const delayId = id(obj, "delay_id", "");
  const timeout = obj.delay_timeout;
  if (typeof timeout !== "number" || !Number.isInteger(timeout) || timeout <= 0 || timeout > MAX_DELAY_TIMEOUT_MS) {
    throw new MatrixError("M_BAD_JSON", `'delay_timeout' must be a whole number of milliseconds from 1 to ${MAX_DELAY_TIMEOUT_MS}`);
  }
  if (serverName !== localServer) {
    throw new MatrixError("M_BAD_JSON", "This focus takes delayed leave events from users of its own homeserver only");
  }
  return { id: delayId, timeoutMs: timeout };
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

/** A get_token body; with `delayRequired`, a delegate_delayed_leave body. `localServer`: see delayFields. */
export function parseGetTokenRequest(
  body: unknown,
  localServer: string | null = null,
  delayRequired = false,
): FocusGetTokenRequest & { delay?: DelegatedDelay } {
  const obj = object(body, "body");
  onlyKeys(obj, "", ["room_id", "slot_id", "openid_token", "member", ...DELAY_FIELDS]);
  const member = object(obj.member, "member");
  onlyKeys(member, "member.", ["id", "claimed_user_id", "claimed_device_id"]);
  const claimedUserId = id(member, "claimed_user_id", "member.");
  if (!MATRIX_USER_ID.test(claimedUserId)) throw new MatrixError("M_INVALID_PARAM", "'member.claimed_user_id' must be a user ID");
  const slotId = id(obj, "slot_id", "");
  // Each slot is a LiveKit room of its own: only the one clients use, not one per made-up name.
  if (slotId !== CALL_SLOT) throw new MatrixError("M_INVALID_PARAM", `'slot_id' must be "${CALL_SLOT}", the room's call (the only slot MatrixRTC clients use)`);
  const token = openIdToken(obj.openid_token);
  const delay = delayFields(obj, token.matrix_server_name, localServer, delayRequired);
  return {
    room_id: roomId(obj, "room_id"),
    slot_id: slotId,
    openid_token: token,
    member: { id: id(member, "id", "member."), claimed_user_id: claimedUserId, claimed_device_id: id(member, "claimed_device_id", "member.") },
    ...(delay ? { delay } : {}),
  };
}

export function parseLegacySfuRequest(body: unknown, localServer: string | null = null): FocusLegacySfuRequest & { delay?: DelegatedDelay } {
  const obj = object(body, "body");
  onlyKeys(obj, "", ["room", "openid_token", "device_id", ...DELAY_FIELDS]);
  const token = openIdToken(obj.openid_token);
  const delay = delayFields(obj, token.matrix_server_name, localServer, false);
  return { room: roomId(obj, "room"), openid_token: token, device_id: id(obj, "device_id", ""), ...(delay ? { delay } : {}) };
}

/** The server part of a user ID; callers pass IDs already checked by MATRIX_USER_ID. */
export function serverOfUserId(userId: string): string {
  return MATRIX_USER_ID.exec(userId)?.[2] ?? "";
}

// The same checks for other endpoints that take an OpenID token (transcription control).
export { object as requireObject, onlyKeys as refuseUnknownKeys, roomId as requireRoomId, openIdToken as parseOpenIdToken };
