import { strict as assert } from "node:assert";
import { DEFAULT_RETRY_POLICY, delayBeforeRetry, isRetryableStatus, requestedDelayMs, retry, retryPolicy } from "../../config/matrix/retry-policy.ts";

describe("the retry policy", () => {
  it("retries rate limits and server failures only", () => {
    assert.deepEqual(
      [200, 400, 401, 403, 404, 409, 413, 429, 500, 502, 503, 504].filter(isRetryableStatus),
      [429, 500, 502, 503, 504],
    );
  });

  it("reads the wait a 429 asks for from retry_after_ms first, else from Retry-After in seconds or as a date", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(requestedDelayMs({ retry_after_ms: 1234 }, "9", now), 1234);
    assert.equal(requestedDelayMs({}, "3", now), 3000);
    assert.equal(requestedDelayMs({}, "Thu, 01 Jan 2026 00:00:05 GMT", now), 5000);
    assert.equal(requestedDelayMs({}, "Wed, 31 Dec 2025 23:00:00 GMT", now), 0, "a date past is no wait");
    assert.equal(requestedDelayMs({ retry_after_ms: "soon" }, "later", now), undefined);
    assert.equal(requestedDelayMs({ retry_after_ms: -5 }, null, now), undefined);
  });

  it("doubles the backoff at each retry and caps every wait, the server's included", () => {
    const policy = retryPolicy({ backoffMs: 100, maxDelayMs: 350 });
    assert.deepEqual([1, 2, 3, 4].map((n) => delayBeforeRetry(policy, n)), [100, 200, 350, 350]);
    assert.equal(delayBeforeRetry(policy, 1, 60_000), 350);
    assert.equal(delayBeforeRetry(policy, 3, 0), 0);
  });

  it("refuses a policy that could not retry sensibly", () => {
    assert.throws(() => retryPolicy({ attempts: 0 }), /attempts must be an integer ≥ 1, not 0/);
    assert.throws(() => retryPolicy({ backoffMs: Number.NaN }), /backoffMs/);
    assert.throws(() => retryPolicy({ maxDelayMs: -1 }), /maxDelayMs/);
    assert.deepEqual(retryPolicy(), { ...DEFAULT_RETRY_POLICY });
  });

  it("tries until success, stops at the first error it may not retry, and throws the last error when out of tries", async () => {
    const slept: number[] = [];
    const sleep = async (ms: number): Promise<void> => void slept.push(ms);
    const policy = retryPolicy({ attempts: 3, backoffMs: 10 });
    let calls = 0;
    const flaky = async (): Promise<string> => {
      calls += 1;
      if (calls < 3) throw new Error(`busy ${calls}`);
      return "done";
    };
    assert.equal(await retry(flaky, policy, () => ({ retry: true }), sleep), "done");
    assert.deepEqual(slept, [10, 20]);

    calls = 0;
    await assert.rejects(retry(flaky, policy, () => ({ retry: false }), sleep), /busy 1/);
    assert.equal(calls, 1);

    const attempts: number[] = [];
    await assert.rejects(
      retry(
        async (n) => {
          attempts.push(n);
          throw new Error(`down ${n}`);
        },
        policy,
        () => ({ retry: true, requestedMs: 5 }),
        sleep,
      ),
      /down 3/,
    );
    assert.deepEqual(attempts, [1, 2, 3]);
  });
});
