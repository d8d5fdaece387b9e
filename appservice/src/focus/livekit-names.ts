// MatrixRTC → LiveKit name derivations (MSC4195): the SFU sees pseudonyms, never room or user IDs.
//
// Every derivation is Base64(SHA-256(CanonicalJSON([...strings]))) with unpadded standard base64.
// For an array of well-formed strings, JSON.stringify is Matrix Canonical JSON (no whitespace, UTF-8,
// only '"', '\' and control characters escaped). The reference service (lk-jwt-service) hashes Go's
// json.Marshal output instead, which also escapes '<', '>', '&', U+2028 and U+2029: for inputs that
// contain those the reference and the MSC disagree, and we follow the MSC. Inputs with lone surrogates
// have no canonical form; callers refuse them first (see isWellFormedId).
import { createHash } from "node:crypto";

/**
 * The room's call (application m.call, call id ROOM): the one slot MatrixRTC clients use, and what the
 * legacy `/sfu/get` endpoint, which predates slots, means.
 */
export const CALL_SLOT = "m.call#ROOM";

/** The MSC4195 hash of a string array; the MSC's salted room names would use it with a third part. */
export function pseudonym(parts: readonly string[]): string {
  return createHash("sha256").update(JSON.stringify(parts), "utf8").digest("base64").replace(/=+$/, "");
}

/** LiveKit room name of a MatrixRTC slot: `[room_id, slot_id]` (MSC4195 and lk-jwt-service agree). */
export function liveKitRoomAlias(roomId: string, slotId: string): string {
  return pseudonym([roomId, slotId]);
}

/**
 * LiveKit room where a worker takes the transcription of a recording posted in a Matrix room: no
 * caller ever joins it (no slot hashes to it: the prefix is not base64).
 */
export function recordingLiveKitRoom(roomId: string, eventId: string): string {
  return `recording-${pseudonym([roomId, eventId, "org.visio.recording"])}`;
}

/**
 * LiveKit identity for `POST /get_token`: `[user_id, device_id, member.id]`.
 * This is what lk-jwt-service derives and what Element Call and matrix-js-sdk expect today. The MSC's
 * current text drops the device ID (`[sender, member.id]`, see mscParticipantIdentity); it only
 * becomes the one to use once the token endpoint moves into the homeserver and clients follow.
 */
export function liveKitIdentity(userId: string, deviceId: string, memberId: string): string {
  return pseudonym([userId, deviceId, memberId]);
}

/** The MSC4195 text's identity `[sender, member.id]`, kept for the homeserver-side endpoint to come. */
export function mscParticipantIdentity(userId: string, memberId: string): string {
  return pseudonym([userId, memberId]);
}

/** Legacy `/sfu/get` identity, unhashed as in lk-jwt-service: old clients map participants by it. */
export function legacyLiveKitIdentity(userId: string, deviceId: string): string {
  return `${userId}:${deviceId}`;
}

/** True when a string has a canonical JSON form (no lone UTF-16 surrogates). */
export function isWellFormedId(value: string): boolean {
  // With the u flag a valid surrogate pair is one code point, so only lone halves match Cs.
  return !/\p{Cs}/u.test(value);
}
