// The worker's load as LiveKit's dispatch weighs it: the CPU the process used lately, as a fraction of
// one core (the event loop that carries every job's audio is one thread; the native threads of rtc-node
// and of the VAD add to it). A worker with few but busy calls thus reports more load than one with
// several quiet ones, and dispatch spreads calls by what they cost rather than by their number.

export interface CpuClock {
  /** CPU time of the process so far (user + system), in microseconds. */
  cpuMicros(): number;
  /** Monotonic wall time, in milliseconds. */
  nowMs(): number;
}

const processClock: CpuClock = {
  cpuMicros: () => {
    const usage = process.cpuUsage();
    return usage.user + usage.system;
  },
  nowMs: () => performance.now(),
};

/** Each sample() is the CPU fraction since the previous one, in [0, 1]. */
export class CpuLoad {
  #clock: CpuClock;
  #lastCpu: number;
  #lastMs: number;
  #load = 0;

  constructor(clock: CpuClock = processClock) {
    this.#clock = clock;
    this.#lastCpu = clock.cpuMicros();
    this.#lastMs = clock.nowMs();
  }

  /** CPU used since the last sample over the wall time since then; the last value when no time passed. */
  sample(): number {
    const cpu = this.#clock.cpuMicros();
    const now = this.#clock.nowMs();
    const wallMs = now - this.#lastMs;
    if (wallMs <= 0) return this.#load;
    this.#load = Math.min(1, Math.max(0, (cpu - this.#lastCpu) / 1000 / wallMs));
    this.#lastCpu = cpu;
    this.#lastMs = now;
    return this.#load;
  }
}
