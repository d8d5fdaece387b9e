// What the headless participant scripts share: one JSON report per line on stdout (read by
// json-line-process.ts), exit 0 when main resolves, 1 after an "error" report when it throws.
export const report = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
};

/** Resolves when the test harness stops the script (SIGTERM) or on Ctrl-C. */
export const untilStopped = (): Promise<void> =>
  new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });

export function runScript(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      report("error", { message: err instanceof Error ? err.message : String(err) });
      process.exit(1);
    },
  );
}
