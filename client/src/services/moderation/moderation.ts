// A moderator's requests (`POST <appservice>/_visio/v1/moderation`) and where they go: in multi_sfu
// each member publishes on their own ministry's SFU, so an action on one participant goes to the
// appservice of their ministry (their Matrix user ID's server), and an action on everyone to every
// ministry with members in the call (and, to end it, the hosting one, whose bot announces the end).
import type { ModerationRequest, ModerationResponse, OpenIdToken } from "../../../../config/wire-types.ts";
import { MODERATION_API_PATH } from "../../../../config/wire-types.ts";
import type { FetchLike } from "../matrix/homeserver-discovery.ts";
import { openIdFields, postJson } from "../visio-api.ts";

export type ModerationActionName = ModerationRequest["action"];

/** The server of a Matrix user ID ("@bruno:ministry-b.test" → "ministry-b.test"); null for anything else. */
export function serverOfUser(userId: string | null): string | null {
  if (userId === null || !userId.startsWith("@")) return null;
  const colon = userId.indexOf(":");
  return colon > 1 && colon < userId.length - 1 ? userId.slice(colon + 1) : null;
}

/** Each server once, in the order first seen, from the users in the call and any extra ones. */
export function serversOf(userIds: Iterable<string | null>, extra: readonly string[] = []): string[] {
  const servers = new Set<string>(extra);
  for (const userId of userIds) {
    const server = serverOfUser(userId);
    if (server !== null) servers.add(server);
  }
  return [...servers];
}

export async function requestModeration(
  fetchFn: FetchLike,
  appserviceUrl: string,
  request: { roomId: string; action: ModerationActionName; target?: string; openIdToken: OpenIdToken },
): Promise<ModerationResponse> {
  const body: ModerationRequest = {
    room_id: request.roomId,
    action: request.action,
    openid_token: openIdFields(request.openIdToken),
    ...(request.target !== undefined ? { target: request.target } : {}),
  };
  return (await postJson(fetchFn, `${appserviceUrl}${MODERATION_API_PATH}`, body, "moderation.failed")) as ModerationResponse;
}
