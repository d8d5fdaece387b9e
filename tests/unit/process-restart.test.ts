import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProcessGroup } from "../harness/processes.ts";
import { RestartBackoff } from "../harness/restart-policy.ts";
import { waitUntil } from "../harness/wait.ts";

// Prints what it was started with, then dies as the test asks.
const CRASHING = 'console.log("started", process.env.MARK, process.cwd(), process.argv[1]); process.exit(3)';
const LONG_RUNNING = 'console.log("started"); setInterval(() => {}, 1000)';

describe("process group: restart policy", function () {
  // Real child processes on a possibly loaded machine: generous, and nothing asserts on durations.
  this.timeout(60_000);
  let dir: string;
  let group: ProcessGroup;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "visio-restart-"));
    group = new ProcessGroup(dir);
  });
  afterEach(async () => {
    await group.stopAll();
    await rm(dir, { recursive: true, force: true });
  });

  it("starts a crashed process again the same way, waiting longer each time, into the same log", async () => {
    const lines: string[] = [];
    const child = group.spawn("crasher", process.execPath, ["-e", CRASHING, "an-arg"], {
      cwd: dir,
      env: { MARK: "same-env" },
      restart: { log: (line) => lines.push(line), initialDelayMs: 20, maxDelayMs: 80, stableAfterMs: 600_000 },
    });
    await waitUntil("four restarts", async () => lines.length >= 4, { timeoutMs: 30_000, intervalMs: 20 });
    assert.equal(child.exitDescription(), undefined, "not down for good while it is being restarted");
    await child.stop();

    assert.deepEqual(lines.slice(0, 4), [
      "crasher exited (code 3); restarting in 20 ms (restart 1)",
      "crasher exited (code 3); restarting in 40 ms (restart 2)",
      "crasher exited (code 3); restarting in 80 ms (restart 3)",
      "crasher exited (code 3); restarting in 80 ms (restart 4)",
    ]);
    const log = (await readFile(child.logPath, "utf8")).split("\n");
    const starts = log.filter((line) => line.startsWith("started"));
    assert.ok(starts.length >= 4, log.join("\n"));
    assert.deepEqual(new Set(starts), new Set([`started same-env ${dir} an-arg`]), "every start has the same env, cwd and args");
    for (const line of lines) assert.ok(log.some((l) => l.endsWith(line)), `the log has "${line}"`);
    assert.equal(await child.exited, 3);
    assert.equal(child.exitDescription(), "exited (3)");
  });

  it("keeps the handle working across a kill -9: a new pid, then stop() ends it for good", async () => {
    const lines: string[] = [];
    const child = group.spawn("server", process.execPath, ["-e", LONG_RUNNING], {
      restart: { log: (line) => lines.push(line), initialDelayMs: 20 },
    });
    const first = child.pid;
    await waitUntil("the first start logged", async () => (await readFile(child.logPath, "utf8")).includes("started"), { timeoutMs: 30_000, intervalMs: 20 });
    process.kill(first, "SIGKILL");
    await waitUntil("a new process", async () => child.pid !== first, { timeoutMs: 30_000, intervalMs: 20 });
    assert.deepEqual(lines, ["server exited (signal SIGKILL); restarting in 20 ms (restart 1)"]);
    assert.equal(child.exitDescription(), undefined);

    await child.stop();
    assert.equal(await child.exited, "SIGTERM");
    assert.equal(child.exitDescription(), "exited (SIGTERM)");
    assert.throws(() => process.kill(child.pid, 0), "the restarted process is gone too");
    assert.equal(lines.length, 1, "no restart after stop()");
  });

  it("never restarts what stop() or stopAll() ended", async () => {
    const lines: string[] = [];
    const restart = { log: (line: string) => lines.push(line), initialDelayMs: 10 };
    const one = group.spawn("one", process.execPath, ["-e", LONG_RUNNING], { restart });
    const two = group.spawn("two", process.execPath, ["-e", LONG_RUNNING], { restart });
    await one.stop();
    await group.stopAll();
    assert.equal(await one.exited, "SIGTERM");
    assert.equal(await two.exited, "SIGTERM");
    // A restart would have been scheduled by now (its delay is 10 ms); this only gives one the chance.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(lines, []);
    assert.doesNotMatch(await readFile(one.logPath, "utf8"), /restarting/);
  });

  it("leaves a process without the policy down, as the tests expect", async () => {
    const child = group.spawn("plain", process.execPath, ["-e", CRASHING]);
    assert.equal(await child.exited, 3);
    assert.equal(child.exitDescription(), "exited (3)");
    assert.doesNotMatch(await readFile(child.logPath, "utf8"), /restarting/);
  });
});

describe("restart backoff", () => {
  it("doubles up to its ceiling while runs are short, and starts over after a stable run", () => {
    const backoff = new RestartBackoff({});
    const delays = [0, 0, 0, 0, 0, 0, 0].map((ranForMs) => backoff.delayAfter(ranForMs));
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    assert.equal(backoff.delayAfter(60_000), 1000);
    assert.equal(backoff.delayAfter(59_999), 2000);
  });
});
