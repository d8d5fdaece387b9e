// `POST /_visio/v1/breakouts`: a moderator of a meeting starts its breakout groups (with who goes
// where, and for how long) or ends them, on the appservice hosting the meeting, as for transcription.
import Router from "@koa/router";
import { BREAKOUTS_API_PATH, MATRIX_USER_ID, type BreakoutsContent, type BreakoutsRequest } from "../../../config/wire-types.ts";
import { authenticatedPosts, type AuthenticatedPostDeps } from "../authenticated-post.ts";
import { MatrixError } from "../errors.ts";
import { parseOpenIdToken, refuseUnknownKeys, requireObject, requireRoomId } from "../focus/focus-requests.ts";
import { MAX_DURATION_MINUTES, MAX_GROUPS, MIN_GROUPS, type Breakouts } from "./breakouts.ts";

const MAX_MEMBERS = 500;

/** The body, each problem named: missing or mistyped fields M_BAD_JSON, invalid values M_INVALID_PARAM. */
export function parseBreakoutsRequest(body: unknown): BreakoutsRequest {
  const obj = requireObject(body, "body");
  refuseUnknownKeys(obj, "", ["room_id", "action", "groups", "duration_minutes", "openid_token"]);
  const { action, groups, duration_minutes: minutes } = obj;
  if (typeof action !== "string") throw new MatrixError("M_BAD_JSON", "'action' must be a string");
  if (action !== "start" && action !== "end") throw new MatrixError("M_INVALID_PARAM", "'action' must be \"start\" or \"end\"");
  const request: BreakoutsRequest = { room_id: requireRoomId(obj, "room_id"), action, openid_token: parseOpenIdToken(obj.openid_token) };
  if (action === "end") {
    if (groups !== undefined || minutes !== undefined) throw new MatrixError("M_INVALID_PARAM", "'groups' and 'duration_minutes' are only for \"start\"");
    return request;
  }
  if (!Array.isArray(groups) || !groups.every((g) => Array.isArray(g) && g.every((m) => typeof m === "string"))) {
    throw new MatrixError("M_BAD_JSON", "'groups' must be an array of arrays of user IDs");
  }
  const lists = groups as string[][];
  if (lists.length < MIN_GROUPS || lists.length > MAX_GROUPS) throw new MatrixError("M_INVALID_PARAM", `'groups' must have ${MIN_GROUPS} to ${MAX_GROUPS} groups`);
  if (lists.some((g) => g.length === 0)) throw new MatrixError("M_INVALID_PARAM", "every group must have a member");
  if (lists.flat().length > MAX_MEMBERS) throw new MatrixError("M_INVALID_PARAM", `'groups' must have at most ${MAX_MEMBERS} members in all`);
  const bad = lists.flat().find((m) => m.length > 255 || !MATRIX_USER_ID.test(m));
  if (bad !== undefined) throw new MatrixError("M_INVALID_PARAM", `'${bad.slice(0, 64)}' is not a Matrix user ID`);
  if (minutes !== undefined) {
    if (typeof minutes !== "number") throw new MatrixError("M_BAD_JSON", "'duration_minutes' must be a number");
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > MAX_DURATION_MINUTES) {
      throw new MatrixError("M_INVALID_PARAM", `'duration_minutes' must be a whole number from 1 to ${MAX_DURATION_MINUTES}`);
    }
  }
  return { ...request, groups: lists, ...(minutes !== undefined ? { duration_minutes: minutes } : {}) };
}

export function breakoutsApiRouter(deps: AuthenticatedPostDeps & { breakouts: Pick<Breakouts, "start" | "end"> }): Router {
  const router = new Router();
  const authenticatedPost = authenticatedPosts(router, { ...deps, log: deps.log.child({ component: "breakouts" }) });
  authenticatedPost(BREAKOUTS_API_PATH, parseBreakoutsRequest, "breakout request refused", async (ctx, request, userId) => {
    const state: BreakoutsContent =
      request.action === "end"
        ? await deps.breakouts.end(request.room_id, userId)
        : await deps.breakouts.start({
            roomId: request.room_id,
            userId,
            groups: request.groups ?? [],
            ...(request.duration_minutes !== undefined ? { durationMinutes: request.duration_minutes } : {}),
          });
    ctx.body = { state };
  });
  return router;
}
