// Readiness is always polled: on a loaded machine a fixed sleep is either too short or wastes time.

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  // Checked on every round so a server that crashed fails the wait at once instead of at the timeout.
  abortIf?: () => string | undefined;
  // Appended to the timeout error, typically "see <log file>".
  hint?: string;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitUntil(
  description: string,
  check: () => Promise<boolean>,
  options: WaitOptions,
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 250;
  const hint = options.hint === undefined ? "" : ` (${options.hint})`;
  let lastError: unknown;
  for (;;) {
    const abortReason = options.abortIf?.();
    if (abortReason !== undefined) {
      throw new Error(`${description}: ${abortReason}${hint}`);
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : "";
      throw new Error(`${description}: not ready after ${options.timeoutMs / 1000}s${cause}${hint}`);
    }
    await sleep(interval);
  }
}

// Each poll gets its own short timeout, so one hung connection cannot eat the whole wait.
export async function httpStatus(url: string, init: RequestInit = {}): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: await response.text() };
}
