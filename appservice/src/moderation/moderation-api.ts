// `POST /_visio/v1/moderation`: a moderator of a meeting mutes, removes, or ends the call for the
// participants on this ministry's SFU. Same authenticated POST as the other client APIs.
import Router from "@koa/router";
import { MODERATION_API_PATH, type ModerationRequest, type ModerationResponse } from "../../../config/wire-types.ts";
import { authenticatedPosts, type AuthenticatedPostDeps } from "../authenticated-post.ts";
import { MatrixError } from "../errors.ts";
import { parseOpenIdToken, refuseUnknownKeys, requireObject, requireRoomId } from "../focus/focus-requests.ts";
import { isWellFormedId } from "../focus/livekit-names.ts";
import type { Moderation } from "./moderation.ts";

const ACTIONS = ["mute", "mute_all", "remove", "end"] as const;
const TARGETED: readonly string[] = ["mute", "remove"];

/** The body, each problem named: missing or mistyped fields M_BAD_JSON, invalid values M_INVALID_PARAM. */
export function parseModerationRequest(body: unknown): ModerationRequest {
  const obj = requireObject(body, "body");
  refuseUnknownKeys(obj, "", ["room_id", "action", "target", "openid_token"]);
  const { action, target } = obj;
  if (typeof action !== "string") throw new MatrixError("M_BAD_JSON", "'action' must be a string");
  if (!(ACTIONS as readonly string[]).includes(action)) throw new MatrixError("M_INVALID_PARAM", `'action' must be one of ${ACTIONS.map((a) => `"${a}"`).join(", ")}`);
  const request: ModerationRequest = { room_id: requireRoomId(obj, "room_id"), action: action as ModerationRequest["action"], openid_token: parseOpenIdToken(obj.openid_token) };
  if (!TARGETED.includes(action)) {
    if (target !== undefined) throw new MatrixError("M_INVALID_PARAM", `'target' is only for "mute" and "remove"`);
    return request;
  }
  if (target === undefined) throw new MatrixError("M_BAD_JSON", `'target' is required for "${action}"`);
  if (typeof target !== "string") throw new MatrixError("M_BAD_JSON", "'target' must be a string");
  if (target === "" || target.length > 255 || !isWellFormedId(target)) {
    throw new MatrixError("M_INVALID_PARAM", "'target' must be a participant's identity or Matrix user ID (1 to 255 characters)");
  }
  return { ...request, target };
}

export function moderationApiRouter(deps: AuthenticatedPostDeps & { moderation: Moderation }): Router {
  const router = new Router();
  const authenticatedPost = authenticatedPosts(router, { ...deps, log: deps.log.child({ component: "moderation" }) });
  authenticatedPost(MODERATION_API_PATH, parseModerationRequest, "moderation request refused", async (ctx, request, userId) => {
    const answer: ModerationResponse = await deps.moderation.act(request, userId);
    ctx.body = answer;
  });
  return router;
}
