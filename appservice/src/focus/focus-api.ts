// The focus HTTP API that Element Call and our client call: MSC4195 `POST /get_token` and the
// legacy `POST /sfu/get`, both answering `{url, jwt}`, and `POST /delegate_delayed_leave`.
//
// Stricter than lk-jwt-service: the token's server must be on the federation allowlist (checked
// before any federation request, so the endpoint cannot be used to make us call arbitrary hosts),
// and the user must be joined to the Matrix room.
//
// Served by a plain node:http handler, in front of the process's Koa app: every call of every
// participant comes through here, and Koa's context, router and response machinery cost about as
// much CPU per request as the whole token path (measured by `npm run bench`).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FocusTokenResponse, OpenIdToken } from "../../../config/wire-types.ts";
import { MatrixError, matrixErrorFor } from "../errors.ts";
import { parseJsonBody, readRequestBody } from "../http-body.ts";
import type { Logger } from "../log.ts";
import type { CallStore } from "../calls/call-store.ts";
import type { CallExclusions } from "../moderation/call-exclusions.ts";
import type { Store } from "../storage/store.ts";
import type { RoomMembership } from "./room-membership.ts";
import { parseGetTokenRequest, parseLegacySfuRequest, serverOfUserId, type DelegatedDelay } from "./focus-requests.ts";
import { legacyLiveKitIdentity, CALL_SLOT, liveKitIdentity, liveKitRoomAlias } from "./livekit-names.ts";
import { authenticateOpenIdToken, type OpenIdVerifier } from "./openid-verifier.ts";
import type { RequestLimits } from "../rate-limiter.ts";
import type { TokenIssuer } from "./token-issuer.ts";

export interface FocusApiDeps {
  verifier: OpenIdVerifier;
  issuer: TokenIssuer;
  membership: RoomMembership;
  /**
   * Where each issued identity is recorded (LiveKit room, identity → Matrix room, user, device):
   * webhooks carry only the LiveKit names, and removing a kicked user needs their identities.
   */
  identities?: Pick<CallStore, "recordIdentity">;
  /**
   * Where delayed leave events handed over by clients are kept (the call state sends them when the
   * participant's LiveKit connection goes). Absent: the focus offers no delegation (404 on
   * delegate_delayed_leave, delay fields refused), and clients keep their delayed leave themselves.
   */
  delegatedLeaves?: { store: Pick<CallStore, "delegateLeave">; localServer: string };
  /** Servers whose users may get tokens at all: the federation allowlist and this homeserver. */
  allowedServers: readonly string[];
  /** Users a moderator removed, calls a moderator ended: no token for a while. */
  exclusions?: Pick<CallExclusions, "refuses">;
  log: Logger;
  /** Path prefix of the endpoints (the focus URL advertised to clients); default: none. */
  prefix?: string;
  /** Rate limits per homeserver and per user (config rate_limits.focus); none when absent. */
  limits?: RequestLimits;
}

const BODY_LIMIT_BYTES = 16 * 1024;
const RECORDED_IDENTITIES = 100_000;

/** What a refusal log line may carry: identifiers, never tokens. */
interface RequestFacts {
  /** When the request came in (performance.now()), for how long answering it took. */
  receivedAt: number;
  roomId?: string;
  claimedUserId?: string;
  userId?: string;
  reason?: string;
}

const elapsedMs = (facts: RequestFacts): number => Math.round(performance.now() - facts.receivedAt);

// Browsers call the focus cross-origin (Element Call is served from elsewhere) and the request
// carries no cookies, so any origin may call it; the OpenID token is the credential.
export const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "POST, OPTIONS",
  "access-control-allow-headers": "Accept, Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token",
  "access-control-max-age": "86400",
};

// writeHead's flat [name, value, …] form skips the per-answer header object handling.
const JSON_HEADERS = [...Object.entries(CORS_HEADERS).flat(), "content-type", "application/json; charset=utf-8"];

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, [...JSON_HEADERS, "content-length", String(Buffer.byteLength(text))]);
  res.end(text);
}

/** Name derivations repeat for every participant's token refreshes: each is hashed once. */
function remembered<Args extends string[]>(derive: (...args: Args) => string, max = 10_000): (...args: Args) => string {
  const known = new Map<string, string>();
  return (...args) => {
    const key = JSON.stringify(args); // unambiguous, whatever the strings hold
    let name = known.get(key);
    if (name === undefined) {
      name = derive(...args);
      if (known.size >= max) known.clear();
      known.set(key, name);
    }
    return name;
  };
}

export interface FocusApi {
  /** Whether a request is for one of the focus endpoints (the rest of the process answers the others). */
  owns(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export function createFocusApi(deps: FocusApiDeps): FocusApi {
  const prefix = deps.prefix ?? "";
  const roomAliasOf = remembered(liveKitRoomAlias);
  const identityOf = remembered(liveKitIdentity);
  const legacyIdentityOf = remembered(legacyLiveKitIdentity);
  const allowed = new Set(deps.allowedServers);
  const recordedIdentities = new Set<string>();

  const authorize = async (
    facts: RequestFacts,
    roomId: string,
    token: OpenIdToken,
    claimedUserId: string | null,
  ): Promise<string> => {
    const userId = await authenticateOpenIdToken(
      deps.verifier,
      allowed,
      token,
      (reason) => {
        facts.reason = reason;
      },
      deps.limits,
    );
    facts.userId = userId;
    if (claimedUserId !== null && claimedUserId !== userId) {
      throw new MatrixError("M_UNAUTHORIZED", "member.claimed_user_id is not the owner of the OpenID token");
    }
    if ((await deps.membership.membership(roomId, userId)) !== "join") {
      throw new MatrixError("M_FORBIDDEN", "The user is not joined to the room");
    }
    if (deps.exclusions?.refuses(roomId, userId) === true) {
      throw new MatrixError("M_FORBIDDEN", "A moderator removed this user from the call, or ended it: try again later");
    }
    return userId;
  };

  /** Keeps the participant's delayed leave, to be sent when its LiveKit connection goes. */
  const delegate = async (roomId: string, userId: string, roomAlias: string, identity: string, delay: DelegatedDelay): Promise<void> => {
    const store = deps.delegatedLeaves?.store;
    if (!store) return;
    await store.delegateLeave({ livekitRoom: roomAlias, identity, roomId, userId, delayId: delay.id, delayTimeoutMs: delay.timeoutMs, delegatedAt: Date.now() });
    deps.log.info("delayed leave delegated", { userId, roomId, delayTimeoutMs: delay.timeoutMs });
  };

  const issue = async (
    facts: RequestFacts & { roomId: string },
    userId: string,
    deviceId: string,
    roomAlias: string,
    identity: string,
    delay: DelegatedDelay | undefined,
  ): Promise<FocusTokenResponse> => {
    const issued = await deps.issuer.issue({ userId, serverName: serverOfUserId(userId), roomAlias, identity });
    if (delay) await delegate(facts.roomId, userId, roomAlias, identity, delay);
    // Before the answer: the client may connect, and LiveKit send its webhook, right after.
    // A device asking again (token refresh) has the same identity: recorded once is enough.
    const key = `${roomAlias}\u0000${identity}`;
    if (!recordedIdentities.has(key)) {
      await deps.identities?.recordIdentity({ livekitRoom: roomAlias, identity, roomId: facts.roomId, userId, deviceId, issuedAt: Date.now() });
      recordedIdentities.add(key);
      if (recordedIdentities.size > RECORDED_IDENTITIES) recordedIdentities.delete(recordedIdentities.values().next().value as string);
    }
    deps.log.info("focus token issued", { userId, roomId: facts.roomId, canPublish: issued.canPublish, durationMs: elapsedMs(facts) });
    return { url: issued.url, jwt: issued.jwt };
  };

  const localServer = deps.delegatedLeaves?.localServer ?? null;

  const getToken = async (body: unknown, facts: RequestFacts): Promise<FocusTokenResponse> => {
    const req = parseGetTokenRequest(body, localServer);
    facts.roomId = req.room_id;
    facts.claimedUserId = req.member.claimed_user_id;
    const userId = await authorize(facts, req.room_id, req.openid_token, req.member.claimed_user_id);
    return issue(
      { ...facts, roomId: req.room_id },
      userId,
      req.member.claimed_device_id,
      roomAliasOf(req.room_id, req.slot_id),
      identityOf(userId, req.member.claimed_device_id, req.member.id),
      req.delay,
    );
  };

  const legacySfuGet = async (body: unknown, facts: RequestFacts): Promise<FocusTokenResponse> => {
    const req = parseLegacySfuRequest(body, localServer);
    facts.roomId = req.room;
    const userId = await authorize(facts, req.room, req.openid_token, null);
    return issue({ ...facts, roomId: req.room }, userId, req.device_id, roomAliasOf(req.room, CALL_SLOT), legacyIdentityOf(userId, req.device_id), req.delay);
  };

  /** The delayed leave alone, for a client already connected (same checks as get_token, no LiveKit token). */
  const delegateDelayedLeave = async (body: unknown, facts: RequestFacts): Promise<Record<string, never>> => {
    const req = parseGetTokenRequest(body, localServer, true);
    facts.roomId = req.room_id;
    facts.claimedUserId = req.member.claimed_user_id;
    const userId = await authorize(facts, req.room_id, req.openid_token, req.member.claimed_user_id);
    if (req.delay) {
      await delegate(req.room_id, userId, roomAliasOf(req.room_id, req.slot_id), identityOf(userId, req.member.claimed_device_id, req.member.id), req.delay);
    }
    return {};
  };

  const endpoints = new Map<string, (body: unknown, facts: RequestFacts) => Promise<unknown>>([
    [`${prefix}/get_token`, getToken],
    [`${prefix}/sfu/get`, legacySfuGet],
    ...(deps.delegatedLeaves ? ([[`${prefix}/delegate_delayed_leave`, delegateDelayedLeave]] as const) : []),
  ]);
  const pathOf = (req: IncomingMessage): string => (req.url ?? "").split("?", 1)[0] ?? "";

  /** Answers one request; refusals are logged with identifiers only, never tokens. */
  const answer = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const endpoint = endpoints.get(path);
    if (req.method === "OPTIONS") {
      res.writeHead(204, CORS_HEADERS);
      res.end();
      return;
    }
    // Any other path under the focus is a 404 a browser can read (so is `delegate_delayed_leave`
    // when delegation is off: Element Call probes it, and on a 404 keeps its delayed leave itself).
    if (endpoint === undefined) throw new MatrixError("M_UNRECOGNIZED", "Unrecognized request");
    if (req.method !== "POST") {
      res.setHeader("allow", "POST, OPTIONS");
      send(res, 405, new MatrixError("M_UNRECOGNIZED", "Method not allowed").toBody());
      return;
    }
    const facts: RequestFacts = { receivedAt: performance.now() };
    try {
      send(res, 200, await endpoint(parseJsonBody(await readRequestBody(req, BODY_LIMIT_BYTES)), facts));
    } catch (err) {
      if (err instanceof MatrixError && err.status < 500) {
        const { receivedAt: _, ...known } = facts;
        deps.log.info("focus request refused", { errcode: err.errcode, path, ...known, durationMs: elapsedMs(facts) });
      }
      throw err;
    }
  };

  return {
    owns: (req) => endpoints.has(pathOf(req)) || (prefix !== "" && pathOf(req).startsWith(`${prefix}/`)),
    handle(req, res) {
      const path = pathOf(req);
      answer(req, res, path).catch((err: unknown) => {
        const error = matrixErrorFor(err, deps.log, { method: req.method ?? "", path });
        if (res.headersSent) res.destroy();
        else send(res, error.status, error.toBody());
      });
    },
  };
}
