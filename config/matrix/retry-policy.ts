// When a request to a homeserver is tried again, and after how long: one policy for every server-side
// process. Rate limited (429): after the wait the server asks for (`retry_after_ms`, or the Retry-After
// header), capped. A server failure (5xx) or no answer at all: after a doubling backoff, capped. Any
// other answer is final (a 403 stays a 403). Every request has a bounded number of tries.

export interface RetryPolicy {
  /** Tries in all, the first included: 1 never retries. */
  attempts: number;
  /** Wait before the first retry when the server names none; doubles at each retry. */
  backoffMs: number;
  /** The longest wait before a retry, whatever the server asks or the backoff has grown to. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = { attempts: 4, backoffMs: 500, maxDelayMs: 10_000 };

/** A policy from the default and the given overrides, checked: a bad value is a programming error. */
export function retryPolicy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...overrides };
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) throw new RangeError(`retry attempts must be an integer ≥ 1, not ${policy.attempts}`);
  if (!(policy.backoffMs >= 0)) throw new RangeError(`retry backoffMs must be ≥ 0, not ${policy.backoffMs}`);
  if (!(policy.maxDelayMs >= 0)) throw new RangeError(`retry maxDelayMs must be ≥ 0, not ${policy.maxDelayMs}`);
  return policy;
}

/** Whether an answer with this status may be worth trying again: rate limited, or a server failure. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * The wait a rate-limited answer asks for, in ms: `retry_after_ms` in its Matrix error body, else its
 * Retry-After header (seconds, or an HTTP date); undefined when it names none that makes sense.
 */
export function requestedDelayMs(body: { retry_after_ms?: unknown }, retryAfterHeader: string | null, now: number = Date.now()): number | undefined {
  const fromBody = body.retry_after_ms;
  if (typeof fromBody === "number" && Number.isFinite(fromBody) && fromBody >= 0) return fromBody;
  if (retryAfterHeader === null) return undefined;
  const text = retryAfterHeader.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The wait before retry number `retry` (1 for the first), the server's asked-for wait first. */
export function delayBeforeRetry(policy: RetryPolicy, retry: number, requestedMs?: number): number {
  return Math.min(requestedMs ?? policy.backoffMs * 2 ** (retry - 1), policy.maxDelayMs);
}

/** What retry() needs to know of a failure: whether to try again, and after how long if the server said. */
export type RetryDecision = { retry: false } | { retry: true; requestedMs?: number };

export const sleepMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `attempt(n)` (n from 1) until it succeeds, throws an error that `decide` says not to retry,
 * or has been tried `policy.attempts` times: the last error is thrown as it is.
 */
export async function retry<T>(
  attempt: (n: number) => Promise<T>,
  policy: RetryPolicy,
  decide: (err: unknown) => RetryDecision,
  sleep: (ms: number) => Promise<void> = sleepMs,
): Promise<T> {
  for (let n = 1; ; n += 1) {
    try {
      return await attempt(n);
    } catch (err) {
      const decision = decide(err);
      if (!decision.retry || n >= policy.attempts) throw err;
      await sleep(delayBeforeRetry(policy, n, decision.requestedMs));
    }
  }
}
