// `POST /_visio/v1/meetings`: a user of this ministry creates a meeting with a title of their own
// (the client's "Nouvelle réunion"). The credential is an OpenID token from this homeserver, checked as
// the focus service checks it; users of other ministries create meetings on their own appservice.
import Router from "@koa/router";
import type { MeetingCreationRequest, MeetingCreationResponse } from "../../config/wire-types.ts";
import { MEETINGS_API_PATH } from "../../config/wire-types.ts";
import { authenticatedPosts } from "./authenticated-post.ts";
import { MatrixError } from "./errors.ts";
import { parseOpenIdToken, refuseUnknownKeys, requireObject } from "./focus/focus-requests.ts";
import type { OpenIdVerifier } from "./focus/openid-verifier.ts";
import type { Logger } from "./log.ts";
import { MAX_TITLE_LENGTH, type MeetingRooms } from "./meeting-rooms.ts";
import type { RequestLimits } from "./rate-limiter.ts";

/** The body, each problem named: missing or mistyped fields M_BAD_JSON, invalid values M_INVALID_PARAM. */
export function parseMeetingCreation(body: unknown): MeetingCreationRequest {
  const obj = requireObject(body, "body");
  refuseUnknownKeys(obj, "", ["title", "openid_token"]);
  if (typeof obj.title !== "string") throw new MatrixError("M_BAD_JSON", "'title' must be a string");
  const title = obj.title.replace(/\s+/g, " ").trim();
  if (title === "") throw new MatrixError("M_INVALID_PARAM", "'title' must not be empty");
  if ([...title].length > MAX_TITLE_LENGTH) throw new MatrixError("M_INVALID_PARAM", `'title' must be at most ${MAX_TITLE_LENGTH} characters`);
  if (/\p{Cc}|\p{Cf}/u.test(title)) throw new MatrixError("M_INVALID_PARAM", "'title' must not contain control or invisible formatting characters");
  return { title, openid_token: parseOpenIdToken(obj.openid_token) };
}

export function meetingsApiRouter(deps: {
  verifier: OpenIdVerifier;
  meetings: Pick<MeetingRooms, "create">;
  serverName: string;
  log: Logger;
  /** Rate limits per homeserver and per user (config rate_limits.control); none when absent. */
  limits?: RequestLimits;
}): Router {
  const router = new Router();
  const authenticatedPost = authenticatedPosts(router, { ...deps, allowedServers: [deps.serverName], log: deps.log.child({ component: "meetings" }) });
  /** The body, from a user of this server: others are told where to create theirs. */
  const parse = (body: unknown): MeetingCreationRequest => {
    const request = parseMeetingCreation(body);
    if (request.openid_token.matrix_server_name !== deps.serverName) {
      throw new MatrixError("M_FORBIDDEN", `Meetings here are created by users of ${deps.serverName}; create yours on your own ministry's server`);
    }
    return request;
  };
  authenticatedPost(MEETINGS_API_PATH, parse, "meeting creation refused", async (ctx, request, userId) => {
    const { roomId, alias } = await deps.meetings.create(request.title, userId);
    ctx.body = { room_id: roomId, room_alias: alias, name: request.title } satisfies MeetingCreationResponse;
  });
  return router;
}
