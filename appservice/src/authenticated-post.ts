// The appservice's APIs for clients (meetings, transcription, breakout groups): JSON POSTs from
// browsers (CORS open: the credential is in the body, not a cookie), each carrying an OpenID token
// from the user's own homeserver, checked as the focus service checks it, and most naming a room.
import type Router from "@koa/router";
import type { ParameterizedContext } from "koa";
import type { OpenIdToken } from "../../config/wire-types.ts";
import { MatrixError } from "./errors.ts";
import { CORS_HEADERS } from "./focus/focus-api.ts";
import { authenticateOpenIdToken, type OpenIdVerifier } from "./focus/openid-verifier.ts";
import { readJsonBody } from "./http-body.ts";
import type { Logger } from "./log.ts";
import type { RequestLimits } from "./rate-limiter.ts";

const BODY_LIMIT_BYTES = 16 * 1024;

export interface AuthenticatedPostDeps {
  verifier: OpenIdVerifier;
  /** This homeserver and the federation allowlist: tokens of other servers are not even checked. */
  allowedServers: readonly string[];
  /** Logs refusals, with identifiers only. */
  log: Logger;
  /** Rate limits per homeserver and per user (config rate_limits.control); none when absent. */
  limits?: RequestLimits;
}

export type AuthenticatedPost = <R extends { room_id?: string; openid_token: OpenIdToken }>(
  path: string,
  parse: (body: unknown) => R,
  refused: string,
  answer: (ctx: ParameterizedContext, request: R, userId: string) => Promise<void>,
) => void;

/**
 * Declares POSTs on `router`: each body parsed, the token's owner authenticated, then answered;
 * refusals are logged under `refused` with identifiers only, never the token.
 */
export function authenticatedPosts(router: Router, deps: AuthenticatedPostDeps): AuthenticatedPost {
  const allowed = new Set(deps.allowedServers);
  return (path, parse, refused, answer) => {
    router.use(path, async (ctx, next) => {
      ctx.set(CORS_HEADERS);
      await next();
    });
    router.options(path, (ctx) => {
      ctx.status = 204;
    });
    router.post(path, async (ctx) => {
      const facts: { roomId?: string; userId?: string; reason?: string } = {};
      try {
        const request = parse(await readJsonBody(ctx, BODY_LIMIT_BYTES));
        facts.roomId = request.room_id;
        const userId = await authenticateOpenIdToken(deps.verifier, allowed, request.openid_token, (reason) => (facts.reason = reason), deps.limits);
        facts.userId = userId;
        await answer(ctx, request, userId);
      } catch (err) {
        if (err instanceof MatrixError && err.status < 500) deps.log.info(refused, { errcode: err.errcode, ...facts });
        throw err;
      }
    });
  };
}
