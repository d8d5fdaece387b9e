// The focus HTTP API that Element Call and our client call: MSC4195 `POST /get_token` and the
// legacy `POST /sfu/get`, both answering `{url, jwt}`.
//
// Stricter than lk-jwt-service: the token's server must be on the federation allowlist (checked
// before any federation request, so the endpoint cannot be used to make us call arbitrary hosts),
// and the user must be joined to the Matrix room.
import Router from "@koa/router";
import type { Context, Middleware } from "koa";
import type { FocusTokenResponse, OpenIdToken } from "../../../wire-types.ts";
import { MatrixError } from "../errors.ts";
import { readJsonBody } from "../http-body.ts";
import type { Logger } from "../log.ts";
import type { CallStore } from "../calls/call-store.ts";
import type { Store } from "../storage/store.ts";
import type { RoomMembership } from "./room-membership.ts";
import { parseGetTokenRequest, parseLegacySfuRequest, serverOfUserId } from "./focus-requests.ts";
import { legacyLiveKitIdentity, LEGACY_CALL_SLOT, liveKitIdentity, liveKitRoomAlias } from "./livekit-names.ts";
import { OpenIdVerificationError, type OpenIdVerifier } from "./openid-verifier.ts";
import type { TokenIssuer } from "./token-issuer.ts";

export interface FocusRouterDeps {
  verifier: OpenIdVerifier;
  issuer: TokenIssuer;
  membership: RoomMembership;
  /**
   * Where each issued identity is recorded (LiveKit room, identity → Matrix room, user, device):
   * webhooks carry only the LiveKit names, and removing a kicked user needs their identities.
   */
  identities?: Pick<CallStore, "recordIdentity">;
  /** Servers whose users may get tokens at all: the federation allowlist and this homeserver. */
  allowedServers: readonly string[];
  log: Logger;
  /** Path prefix of the endpoints (the focus URL advertised to clients); default: none. */
  prefix?: string;
}

const BODY_LIMIT_BYTES = 16 * 1024;
const RECORDED_IDENTITIES = 100_000;

/** What a refusal log line may carry: identifiers, never tokens. */
interface RequestFacts {
  roomId?: string;
  claimedUserId?: string;
  userId?: string;
  reason?: string;
}

// Browsers call the focus cross-origin (Element Call is served from elsewhere) and the request
// carries no cookies, so any origin may call it; the OpenID token is the credential.
const cors: Middleware = async (ctx, next) => {
  ctx.set("Access-Control-Allow-Origin", "*");
  ctx.set("Access-Control-Allow-Methods", "POST, OPTIONS");
  ctx.set("Access-Control-Allow-Headers", "Accept, Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token");
  ctx.set("Access-Control-Max-Age", "86400");
  await next();
};

const preflight = (ctx: Context): void => {
  ctx.status = 204;
};

export function focusRouter(deps: FocusRouterDeps): Router {
  const router = new Router(deps.prefix ? { prefix: deps.prefix } : {});
  const allowed = new Set(deps.allowedServers);
  const recordedIdentities = new Set<string>();

  const authorize = async (
    facts: RequestFacts,
    roomId: string,
    token: OpenIdToken,
    claimedUserId: string | null,
  ): Promise<string> => {
    const serverName = token.matrix_server_name;
    if (!allowed.has(serverName)) {
      throw new MatrixError("M_FORBIDDEN", "The user's server is not on this service's federation allowlist");
    }
    let userId: string;
    try {
      userId = await deps.verifier.verify({
        accessToken: token.access_token,
        serverName,
        expiresInSeconds: token.expires_in > 0 ? token.expires_in : undefined,
      });
    } catch (err) {
      if (!(err instanceof OpenIdVerificationError)) throw err;
      facts.reason = err.reason;
      // 401 M_UNAUTHORIZED, as lk-jwt-service answers for any failed verification: the client's
      // remedy is the same (get a fresh OpenID token), and details would help probing.
      throw new MatrixError("M_UNAUTHORIZED", "The OpenID token could not be verified with its homeserver");
    }
    facts.userId = userId;
    if (claimedUserId !== null && claimedUserId !== userId) {
      throw new MatrixError("M_UNAUTHORIZED", "member.claimed_user_id is not the owner of the OpenID token");
    }
    if ((await deps.membership.membership(roomId, userId)) !== "join") {
      throw new MatrixError("M_FORBIDDEN", "The user is not joined to the room");
    }
    return userId;
  };

  const issue = async (
    facts: RequestFacts & { roomId: string },
    userId: string,
    deviceId: string,
    roomAlias: string,
    identity: string,
  ): Promise<FocusTokenResponse> => {
    const issued = await deps.issuer.issue({ userId, serverName: serverOfUserId(userId), roomAlias, identity });
    // Before the answer: the client may connect, and LiveKit send its webhook, right after.
    // A device asking again (token refresh) has the same identity: recorded once is enough.
    const key = `${roomAlias}\u0000${identity}`;
    if (!recordedIdentities.has(key)) {
      await deps.identities?.recordIdentity({ livekitRoom: roomAlias, identity, roomId: facts.roomId, userId, deviceId, issuedAt: Date.now() });
      recordedIdentities.add(key);
      if (recordedIdentities.size > RECORDED_IDENTITIES) recordedIdentities.delete(recordedIdentities.values().next().value as string);
    }
    deps.log.info("focus token issued", { userId, roomId: facts.roomId, canPublish: issued.canPublish });
    return { url: issued.url, jwt: issued.jwt };
  };

  /** Runs a handler, logging refusals with identifiers only (the error middleware renders them). */
  const refusalsLogged = (handler: (ctx: Context, facts: RequestFacts) => Promise<FocusTokenResponse>) =>
    async (ctx: Context): Promise<void> => {
      const facts: RequestFacts = {};
      try {
        ctx.body = await handler(ctx, facts);
      } catch (err) {
        if (err instanceof MatrixError && err.status < 500) {
          deps.log.info("focus request refused", { errcode: err.errcode, path: ctx.path, ...facts });
        }
        throw err;
      }
    };

  router.use(cors);
  router.options(["/get_token", "/sfu/get"], preflight);

  router.post(
    "/get_token",
    refusalsLogged(async (ctx, facts) => {
      const req = parseGetTokenRequest(await readJsonBody(ctx, BODY_LIMIT_BYTES));
      facts.roomId = req.room_id;
      facts.claimedUserId = req.member.claimed_user_id;
      const userId = await authorize(facts, req.room_id, req.openid_token, req.member.claimed_user_id);
      return issue(
        { ...facts, roomId: req.room_id },
        userId,
        req.member.claimed_device_id,
        liveKitRoomAlias(req.room_id, req.slot_id),
        liveKitIdentity(userId, req.member.claimed_device_id, req.member.id),
      );
    }),
  );

  router.post(
    "/sfu/get",
    refusalsLogged(async (ctx, facts) => {
      const req = parseLegacySfuRequest(await readJsonBody(ctx, BODY_LIMIT_BYTES));
      facts.roomId = req.room;
      const userId = await authorize(facts, req.room, req.openid_token, null);
      return issue(
        { ...facts, roomId: req.room },
        userId,
        req.device_id,
        liveKitRoomAlias(req.room, LEGACY_CALL_SLOT),
        legacyLiveKitIdentity(userId, req.device_id),
      );
    }),
  );

  return router;
}
