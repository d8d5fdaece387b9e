import assert from "node:assert/strict";
import { MatrixError } from "../../appservice/src/errors.ts";
import { createRateLimiter } from "../../appservice/src/rate-limiter.ts";

describe("rate limiter (token bucket per key)", () => {
  let clock = 0;
  const now = () => clock;
  const limitExceeded = (retryAfterMs: number) => (err: unknown) =>
    err instanceof MatrixError && err.errcode === "M_LIMIT_EXCEEDED" && err.status === 429 && err.toBody().retry_after_ms === retryAfterMs;

  beforeEach(() => {
    clock = 1_000_000;
  });

  it("lets a burst through, then one request per interval, and says how long to wait", () => {
    const limiter = createRateLimiter({ per_second: 2, burst: 3 }, "in the test", now);
    for (let i = 0; i < 3; i++) limiter.take("alice");
    assert.throws(() => limiter.take("alice"), limitExceeded(500));
    clock += 200;
    assert.throws(() => limiter.take("alice"), limitExceeded(300), "the wait shrinks as time passes");
    clock += 300;
    limiter.take("alice");
    assert.throws(() => limiter.take("alice"), limitExceeded(500));
  });

  it("keeps each key apart, and a quiet key gets its whole burst back, no more", () => {
    const limiter = createRateLimiter({ per_second: 1, burst: 2 }, "in the test", now);
    limiter.take("alice");
    limiter.take("alice");
    limiter.take("bob");
    limiter.take("bob");
    assert.throws(() => limiter.take("alice"));
    clock += 60_000;
    limiter.take("alice");
    limiter.take("alice");
    assert.throws(() => limiter.take("alice"));
  });

  it("a refused request does not count against the next one", () => {
    const limiter = createRateLimiter({ per_second: 1, burst: 1 }, "in the test", now);
    limiter.take("alice");
    for (let i = 0; i < 10; i++) assert.throws(() => limiter.take("alice"));
    clock += 1000;
    limiter.take("alice");
  });
});
