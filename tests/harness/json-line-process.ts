// Follows a process that reports one JSON object per line on stdout (the bridge, the rtc-node speaker
// and subtitle receiver) through its log file, which also holds its stderr.
import { readFile } from "node:fs/promises";
import type { ManagedProcess } from "./processes.ts";
import { waitUntil } from "./wait.ts";

export interface JsonReport {
  event: string;
  [field: string]: unknown;
}

export interface JsonLineProcess {
  process: ManagedProcess;
  reports(): Promise<JsonReport[]>;
  /** Resolves with the first report matching; fails early when the process reports an error or exits. */
  waitFor(description: string, match: (report: JsonReport) => boolean, timeoutMs?: number): Promise<JsonReport>;
}

export function followJsonLines(child: ManagedProcess): JsonLineProcess {
  const reports = async (): Promise<JsonReport[]> =>
    (await readFile(child.logPath, "utf8"))
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as JsonReport);
  return {
    process: child,
    reports,
    async waitFor(description, match, timeoutMs = 30_000) {
      let found: JsonReport | undefined;
      await waitUntil(
        `${child.name}: ${description}`,
        async () => {
          const all = await reports();
          const failure = all.find((r) => r.event === "error");
          if (failure !== undefined) throw new Error(`${child.name} failed: ${String(failure.message)}`);
          found = all.find(match);
          if (found === undefined && child.exitDescription() !== undefined) {
            throw new Error(`${child.name} ${child.exitDescription() ?? "exited"}`);
          }
          return found !== undefined;
        },
        { timeoutMs, intervalMs: 200, hint: `see ${child.logPath}` },
      );
      if (found === undefined) throw new Error(`${child.name}: ${description}: not found`);
      return found;
    },
  };
}
