// What tests do as Matrix users: create a meeting, join it, get OpenID tokens, wait for the appservice
// to see joins.
import type { FocusGetTokenRequest, MeetingCreationResponse, OpenIdToken } from "../../config/wire-types.ts";
import { MEETINGS_API_PATH } from "../../config/wire-types.ts";
import { FOCUS_PATH_PREFIX } from "../../appservice/src/app.ts";
import { matrixRequest } from "./matrix-client.ts";
import { waitUntil } from "./wait.ts";
import { requestJson, type JsonResponse } from "./http.ts";
import type { RegisteredUser, SynapseServer } from "./testbed.ts";

/** Joins a room by its alias or ID, as a client does; the room's ID. */
export async function joinAlias(server: SynapseServer, user: RegisteredUser, alias: string): Promise<string> {
  const res = await matrixRequest<{ room_id: string }>(
    server.clientUrl,
    user.accessToken,
    "POST",
    `/_matrix/client/v3/join/${encodeURIComponent(alias)}`,
    {},
  );
  return res.room_id;
}

export interface CreatedMeeting {
  roomId: string;
  alias: string;
}

/**
 * A meeting created as the client's "Nouvelle réunion" creates one: `creator`, a user of the
 * appservice's ministry, asks its meetings API with an OpenID token, then joins (as its moderator).
 */
export async function createMeeting(
  appservice: { url: string },
  server: SynapseServer,
  creator: RegisteredUser,
  title: string,
): Promise<CreatedMeeting> {
  const res = await requestJson("POST", `${appservice.url}${MEETINGS_API_PATH}`, { body: { title, openid_token: await openIdToken(server, creator) } });
  if (res.status !== 200) throw new Error(`creating the meeting "${title}" failed: ${res.status} ${JSON.stringify(res.body)}`);
  const meeting = res.body as unknown as MeetingCreationResponse;
  await joinAlias(server, creator, meeting.room_id);
  return { roomId: meeting.room_id, alias: meeting.room_alias };
}

/** An OpenID token from the user's own homeserver, as a MatrixRTC client gets one for the focus. */
export function openIdToken(server: SynapseServer, user: RegisteredUser): Promise<OpenIdToken> {
  return matrixRequest<OpenIdToken>(
    server.clientUrl,
    user.accessToken,
    "POST",
    `/_matrix/client/v3/user/${encodeURIComponent(user.userId)}/openid/request_token`,
    {},
  );
}

/** Waits until the appservice has recorded these users' joins from its transactions. */
export async function waitForJoins(
  store: { membership(roomId: string, userId: string): Promise<string | null> },
  roomId: string,
  users: readonly RegisteredUser[],
): Promise<void> {
  await waitUntil(
    "the appservice saw the joins",
    async () => (await Promise.all(users.map((u) => store.membership(roomId, u.userId)))).every((m) => m === "join"),
    { timeoutMs: 30_000 },
  );
}

/** Asks an appservice's focus for a LiveKit token as a MatrixRTC client does, with a fresh OpenID token. */
export async function requestFocusToken(
  appserviceUrl: string,
  roomId: string,
  server: SynapseServer,
  user: RegisteredUser,
  slotId = "m.call#ROOM",
  /** An OpenID token asked for earlier; default: a fresh one from the user's homeserver. */
  openid?: OpenIdToken,
): Promise<JsonResponse> {
  const body: FocusGetTokenRequest = {
    room_id: roomId,
    slot_id: slotId,
    openid_token: openid ?? (await openIdToken(server, user)),
    member: { id: `member-${user.deviceId}`, claimed_user_id: user.userId, claimed_device_id: user.deviceId },
  };
  return requestJson("POST", `${appserviceUrl}${FOCUS_PATH_PREFIX}/get_token`, { body });
}

/**
 * A call membership as matrix-js-sdk publishes it in a meeting room (MSC3757 room version, so keyed
 * `<user id>_<device id>_m.call`), kept for an hour: what keeps a caller in the call record.
 */
export async function publishCallMembership(server: SynapseServer, user: RegisteredUser, roomId: string): Promise<void> {
  await matrixRequest(server.clientUrl, user.accessToken, "PUT", callMembershipPath(roomId, user), callMembershipContent(user));
}

/** Where a user's device publishes its call membership in a room (client-server API path). */
export function callMembershipPath(roomId: string, user: Pick<RegisteredUser, "userId" | "deviceId">): string {
  const key = encodeURIComponent(`${user.userId}_${user.deviceId}_m.call`);
  return `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/org.matrix.msc3401.call.member/${key}`;
}

/** The membership content of publishCallMembership; leaving the call replaces it with `{}`. */
export function callMembershipContent(user: Pick<RegisteredUser, "deviceId">): Record<string, unknown> {
  return {
    application: "m.call",
    call_id: "",
    scope: "m.room",
    device_id: user.deviceId,
    focus_active: { type: "livekit", focus_selection: "oldest_membership" },
    foci_preferred: [],
    expires: 3_600_000,
  };
}
