// Checks a Matrix OpenID token with the homeserver that issued it, over federation, and remembers
// the answer briefly: Element Call asks for a token per SFU and on every reconnection.
import { createHash } from "node:crypto";
import { MATRIX_USER_ID, type OpenIdToken } from "../../../config/wire-types.ts";
import { MatrixError } from "../errors.ts";
import type { RequestLimits } from "../rate-limiter.ts";
import {
  FederationRequestError,
  resolveFederationTarget,
  type FederationGet,
  type FederationTarget,
  type JsonResponse,
} from "./federation-client.ts";

/** Why a token was not accepted; static, so it can be logged and tested. */
export type OpenIdFailure =
  | "rejected" // the homeserver does not know the token (forged, expired, revoked)
  | "unreachable" // no answer: network, timeout, 5xx
  | "untrusted_tls" // the homeserver's certificate does not chain to the configured CA or names another host
  | "bad_response" // an answer, but not a userinfo one
  | "server_mismatch"; // the token's user belongs to another server than the one it claims

export class OpenIdVerificationError extends Error {
  readonly reason: OpenIdFailure;
  constructor(reason: OpenIdFailure, message: string) {
    super(message);
    this.name = "OpenIdVerificationError";
    this.reason = reason;
  }
}

export interface OpenIdTokenClaim {
  accessToken: string;
  /** `matrix_server_name` of the token: the server that issued it, and so the user's server. */
  serverName: string;
  /** `expires_in` of the token, in seconds; bounds how long a success is cached. */
  expiresInSeconds?: number;
}

export interface OpenIdVerifier {
  /** Resolves to the user ID that owns the token, or throws OpenIdVerificationError. */
  verify(claim: OpenIdTokenClaim): Promise<string>;
}

export interface OpenIdVerifierOptions {
  get: FederationGet;
  /** How long a success is trusted; 0 disables the cache. */
  cacheTtlMs: number;
  cacheSize?: number;
  now?: () => number;
}

const TARGET_TTL_MS = 60 * 60 * 1000;

interface CachedUser {
  userId: string;
  expiresAt: number;
}

/**
 * How long a token its homeserver refused (or vouched for as another server's user) stays refused
 * without asking again: such a token never becomes good, and a client retrying it must not turn each
 * attempt into a federation request. Unreachable homeservers are asked again at once.
 */
const REFUSED_TTL_MS = 5 * 60_000;
const DEFINITIVE: readonly OpenIdFailure[] = ["rejected", "server_mismatch"];

export function createOpenIdVerifier(options: OpenIdVerifierOptions): OpenIdVerifier {
  const now = options.now ?? Date.now;
  const cacheSize = options.cacheSize ?? 10_000;
  // Keyed by a hash, so neither memory dumps of the map nor debug output hold usable tokens.
  const users = new Map<string, CachedUser>();
  const refused = new Map<string, { error: OpenIdVerificationError; expiresAt: number }>();
  const inFlight = new Map<string, Promise<string>>();
  const targets = new Map<string, { target: FederationTarget; expiresAt: number }>();

  const cached = (key: string): string | null => {
    const hit = users.get(key);
    if (!hit) return null;
    users.delete(key);
    if (hit.expiresAt <= now()) return null;
    users.set(key, hit); // re-insert: Map order is the LRU order
    return hit.userId;
  };

  const remember = (key: string, userId: string, claim: OpenIdTokenClaim): void => {
    const tokenLifeMs = claim.expiresInSeconds === undefined ? Infinity : claim.expiresInSeconds * 1000;
    const ttl = Math.min(options.cacheTtlMs, tokenLifeMs);
    if (ttl <= 0) return;
    users.set(key, { userId, expiresAt: now() + ttl });
    while (users.size > cacheSize) {
      const oldest = users.keys().next().value;
      if (oldest === undefined) break;
      users.delete(oldest);
    }
  };

  const refuse = (key: string, error: OpenIdVerificationError): void => {
    refused.set(key, { error, expiresAt: now() + REFUSED_TTL_MS });
    while (refused.size > cacheSize) {
      const oldest = refused.keys().next().value;
      if (oldest === undefined) break;
      refused.delete(oldest);
    }
  };

  const target = async (serverName: string): Promise<FederationTarget> => {
    const known = targets.get(serverName);
    if (known && known.expiresAt > now()) return known.target;
    const resolved = await resolveFederationTarget(serverName, options.get);
    if (targets.size >= 1000) targets.clear();
    targets.set(serverName, { target: resolved, expiresAt: now() + TARGET_TTL_MS });
    return resolved;
  };

  const ask = async (claim: OpenIdTokenClaim): Promise<string> => {
    let res: JsonResponse;
    try {
      const path = `/_matrix/federation/v1/openid/userinfo?access_token=${encodeURIComponent(claim.accessToken)}`;
      res = await options.get(await target(claim.serverName), path);
    } catch (err) {
      if (err instanceof FederationRequestError && err.tls) {
        throw new OpenIdVerificationError("untrusted_tls", `Homeserver certificate not trusted (${err.code})`);
      }
      const code = err instanceof FederationRequestError ? err.code : "ERROR";
      throw new OpenIdVerificationError("unreachable", `Homeserver unreachable (${code})`);
    }
    if (res.status >= 400 && res.status < 500) {
      throw new OpenIdVerificationError("rejected", `Homeserver refused the token (HTTP ${res.status})`);
    }
    if (res.status !== 200) {
      throw new OpenIdVerificationError("unreachable", `Homeserver answered HTTP ${res.status}`);
    }
    const sub = typeof res.body === "object" && res.body !== null ? (res.body as Record<string, unknown>).sub : undefined;
    const server = typeof sub === "string" ? MATRIX_USER_ID.exec(sub)?.[2] : undefined;
    if (typeof sub !== "string" || server === undefined) {
      throw new OpenIdVerificationError("bad_response", "Homeserver answer has no valid 'sub'");
    }
    // A homeserver may only vouch for its own users; otherwise any allowlisted server could mint anyone.
    if (server !== claim.serverName) {
      throw new OpenIdVerificationError("server_mismatch", "Token user belongs to another server");
    }
    return sub;
  };

  return {
    async verify(claim) {
      const key = createHash("sha256").update(claim.serverName).update("\u0000").update(claim.accessToken).digest("base64");
      const hit = cached(key);
      if (hit !== null) return hit;
      const known = refused.get(key);
      if (known !== undefined && known.expiresAt > now()) throw known.error;
      if (known !== undefined) refused.delete(key);
      const pending = inFlight.get(key);
      if (pending) return pending;
      const lookup = ask(claim)
        .then(
          (userId) => {
            remember(key, userId, claim);
            return userId;
          },
          (err: unknown) => {
            if (err instanceof OpenIdVerificationError && DEFINITIVE.includes(err.reason)) refuse(key, err);
            throw err;
          },
        )
        .finally(() => inFlight.delete(key));
      inFlight.set(key, lookup);
      return lookup;
    },
  };
}

/**
 * The Matrix user who owns an OpenID token sent to one of our HTTP endpoints, as a Matrix error
 * when refused: the token's server must be allowed (checked before any federation request, so the
 * endpoint cannot be used to make us call arbitrary hosts), and its homeserver must vouch for it.
 * `onFailure` learns the static reason of a failed verification, for the caller's log line.
 * `limits`: the homeserver's and the user's rate limits (429 M_LIMIT_EXCEEDED beyond them).
 */
export async function authenticateOpenIdToken(
  verifier: OpenIdVerifier,
  allowedServers: ReadonlySet<string>,
  token: OpenIdToken,
  onFailure?: (reason: OpenIdFailure) => void,
  limits?: RequestLimits,
): Promise<string> {
  const serverName = token.matrix_server_name;
  if (!allowedServers.has(serverName)) {
    throw new MatrixError("M_FORBIDDEN", "The user's server is not on this service's federation allowlist");
  }
  // Before the check, which may cost a federation request; the user's own limit once it is known.
  limits?.server.take(serverName);
  const userId = await verifiedUser(verifier, token, serverName, onFailure);
  limits?.user.take(userId);
  return userId;
}

async function verifiedUser(verifier: OpenIdVerifier, token: OpenIdToken, serverName: string, onFailure?: (reason: OpenIdFailure) => void): Promise<string> {
  try {
    return await verifier.verify({
      accessToken: token.access_token,
      serverName,
      expiresInSeconds: token.expires_in > 0 ? token.expires_in : undefined,
    });
  } catch (err) {
    if (!(err instanceof OpenIdVerificationError)) throw err;
    onFailure?.(err.reason);
    // Its homeserver down or slow: nothing is wrong with the token, and a fresh one cannot be had
    // from that homeserver either; the client asks again later.
    if (err.reason === "unreachable") throw new MatrixError("M_UNAVAILABLE", "The OpenID token's homeserver could not be reached to verify it; try again later");
    // Otherwise 401 M_UNAUTHORIZED, as lk-jwt-service answers for any failed verification: the client's
    // remedy is the same (get a fresh OpenID token), and details would help probing.
    throw new MatrixError("M_UNAUTHORIZED", "The OpenID token could not be verified with its homeserver");
  }
}
