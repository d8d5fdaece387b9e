// What the demo does when a process it started dies on its own, as production's compose file does
// with `restart: unless-stopped`: start it again, after a delay that doubles while it keeps crashing
// (a process that cannot start must not spin), back to the first delay once it has stayed up a while.

export interface RestartPolicy {
  /** Where each restart is announced, besides the process's own log (e.g. the demo's output). */
  log?: (line: string) => void;
  /** Before the first restart; 1 s by default. */
  initialDelayMs?: number;
  /** The longest wait between restarts; 30 s by default. */
  maxDelayMs?: number;
  /** A run at least this long counts as stable: the next crash waits the first delay again; 60 s by default. */
  stableAfterMs?: number;
}

export class RestartBackoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #stableAfterMs: number;
  #nextMs: number;

  constructor(policy: RestartPolicy) {
    this.#initialMs = policy.initialDelayMs ?? 1000;
    this.#maxMs = policy.maxDelayMs ?? 30_000;
    this.#stableAfterMs = policy.stableAfterMs ?? 60_000;
    this.#nextMs = this.#initialMs;
  }

  /** The wait before the next start, given how long the run that just ended lasted. */
  delayAfter(ranForMs: number): number {
    if (ranForMs >= this.#stableAfterMs) this.#nextMs = this.#initialMs;
    const delay = this.#nextMs;
    this.#nextMs = Math.min(delay * 2, this.#maxMs);
    return delay;
  }
}

export function formatDelay(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}
