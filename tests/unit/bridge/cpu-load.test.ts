import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { CpuLoad, type CpuClock } from "../../../bridge/src/worker/cpu-load.ts";

/** A clock the test moves: wall milliseconds and CPU microseconds. */
function fakeClock(): CpuClock & { advance(wallMs: number, cpuMs: number): void } {
  let now = 1_000;
  let cpu = 5_000_000;
  return {
    nowMs: () => now,
    cpuMicros: () => cpu,
    advance(wallMs, cpuMs) {
      now += wallMs;
      cpu += cpuMs * 1000;
    },
  };
}

describe("worker CPU load", () => {
  it("is the CPU used since the last sample over the wall time since then", () => {
    const clock = fakeClock();
    const load = new CpuLoad(clock);
    clock.advance(2_500, 500);
    assert.equal(load.sample(), 0.2);
    clock.advance(1_000, 750);
    assert.equal(load.sample(), 0.75, "only the last interval counts, not the process's whole life");
    clock.advance(2_000, 0);
    assert.equal(load.sample(), 0);
  });

  it("stays within [0, 1], and repeats the last value when no time has passed", () => {
    const clock = fakeClock();
    const load = new CpuLoad(clock);
    clock.advance(1_000, 1_800);
    assert.equal(load.sample(), 1, "native threads may use more than one core: still a full load");
    assert.equal(load.sample(), 1);
    clock.advance(1_000, 300);
    assert.equal(load.sample(), 0.3);
  });

  it("measures the process by default", () => {
    const load = new CpuLoad();
    const end = performance.now() + 30;
    while (performance.now() < end) Math.sqrt(Math.random());
    const value = load.sample();
    assert.ok(value > 0.3 && value <= 1, `a busy loop is a high load, got ${value}`);
  });
});
