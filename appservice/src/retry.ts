// Retries calls that fail for a reason that may pass (homeserver busy, rate limited, not up yet).
export class RetryableError extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs?: number) {
    super(message);
    this.name = "RetryableError";
    this.retryAfterMs = retryAfterMs;
  }
}

export interface RetryOptions {
  attempts: number;
  baseDelayMs: number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls fn until it succeeds, fails with a non-retryable error, or runs out of attempts. */
export async function retry<T>(fn: () => Promise<T>, { attempts, baseDelayMs, sleep = defaultSleep }: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof RetryableError) || attempt >= attempts) throw err;
      await sleep(err.retryAfterMs ?? baseDelayMs * 2 ** (attempt - 1));
    }
  }
}
