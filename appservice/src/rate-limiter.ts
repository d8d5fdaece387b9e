// Rate limits of the appservice's public APIs (focus tokens, transcription control): a token bucket
// per key (a user, or a homeserver for the requests of all its users). A refused request gets 429
// M_LIMIT_EXCEEDED with `retry_after_ms`, as Synapse answers; nothing else is done for it.
import { MatrixError } from "./errors.ts";

/** As in the config (rate_limits.*.per_user / per_server). */
export interface RateLimit {
  /** Requests per second, sustained. */
  per_second: number;
  /** Requests at once after a quiet time. */
  burst: number;
}

export interface RateLimiter {
  /** Takes one request for `key`; throws M_LIMIT_EXCEEDED when its bucket is empty. */
  take(key: string): void;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Keys remembered at most; beyond, the oldest go (a full bucket is what a forgotten key gets back). */
const MAX_KEYS = 100_000;

export function createRateLimiter(limit: RateLimit, what: string, now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, Bucket>();
  const perMs = limit.per_second / 1000;
  return {
    take(key) {
      const t = now();
      const bucket = buckets.get(key);
      const tokens = bucket === undefined ? limit.burst : Math.min(limit.burst, bucket.tokens + (t - bucket.at) * perMs);
      if (tokens < 1) {
        buckets.set(key, { tokens, at: t });
        throw new MatrixError("M_LIMIT_EXCEEDED", `Too many requests ${what}`, Math.ceil((1 - tokens) / perMs));
      }
      if (bucket === undefined && buckets.size >= MAX_KEYS) buckets.delete(buckets.keys().next().value as string);
      buckets.set(key, { tokens: tokens - 1, at: t });
    },
  };
}

/** The limits an OpenID-authenticated request passes: its homeserver's before the check, its user's after. */
export interface RequestLimits {
  server: RateLimiter;
  user: RateLimiter;
}

export function requestLimits(limits: { per_server: RateLimit; per_user: RateLimit }, api: string, now?: () => number): RequestLimits {
  return {
    server: createRateLimiter(limits.per_server, `to the ${api} from this homeserver's users`, now),
    user: createRateLimiter(limits.per_user, `to the ${api} from this user`, now),
  };
}
