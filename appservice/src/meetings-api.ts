// `POST /_visio/v1/meetings`: a user of this ministry creates a meeting with a title of their own
// (the client's "Nouvelle réunion"). The credential is an OpenID token from this homeserver, checked as
// the focus service checks it; users of other ministries create meetings on their own appservice.
import Router from "@koa/router";
import type { MeetingCreationRequest, MeetingCreationResponse } from "../../wire-types.ts";
import { MEETINGS_API_PATH } from "../../wire-types.ts";
import { MatrixError } from "./errors.ts";
import { CORS_HEADERS } from "./focus/focus-api.ts";
import { parseOpenIdToken, refuseUnknownKeys, requireObject } from "./focus/focus-requests.ts";
import { authenticateOpenIdToken, type OpenIdVerifier } from "./focus/openid-verifier.ts";
import { readJsonBody } from "./http-body.ts";
import type { Logger } from "./log.ts";
import { MAX_TITLE_LENGTH, type MeetingRooms } from "./meeting-rooms.ts";
import type { RequestLimits } from "./rate-limiter.ts";

const BODY_LIMIT_BYTES = 16 * 1024;

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
  const ownServer = new Set([deps.serverName]);
  const log = deps.log.child({ component: "meetings" });
  router.use(MEETINGS_API_PATH, async (ctx, next) => {
    ctx.set(CORS_HEADERS);
    await next();
  });
  router.options(MEETINGS_API_PATH, (ctx) => {
    ctx.status = 204;
  });
  router.post(MEETINGS_API_PATH, async (ctx) => {
    const facts: { userId?: string; reason?: string } = {};
    try {
      const request = parseMeetingCreation(await readJsonBody(ctx, BODY_LIMIT_BYTES));
      if (request.openid_token.matrix_server_name !== deps.serverName) {
        throw new MatrixError("M_FORBIDDEN", `Meetings here are created by users of ${deps.serverName}; create yours on your own ministry's server`);
      }
      const userId = await authenticateOpenIdToken(deps.verifier, ownServer, request.openid_token, (reason) => (facts.reason = reason), deps.limits);
      facts.userId = userId;
      const { roomId, alias } = await deps.meetings.create(request.title, userId);
      ctx.body = { room_id: roomId, room_alias: alias, name: request.title } satisfies MeetingCreationResponse;
    } catch (err) {
      if (err instanceof MatrixError && err.status < 500) log.info("meeting creation refused", { errcode: err.errcode, ...facts });
      throw err;
    }
  });
  return router;
}
