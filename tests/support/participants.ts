// Headless LiveKit participants (rtc-participant.ts) run inside a ministry's namespace; the test
// follows what they report through their log file.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ManagedProcess } from "../harness/processes.ts";
import type { Testbed } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";

const SCRIPT = fileURLToPath(new URL("./rtc-participant.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface ParticipantReport {
  event: string;
  [field: string]: unknown;
}

export interface Participant {
  process: ManagedProcess;
  reports(): Promise<ParticipantReport[]>;
  /** Resolves with the first report of that event; fails early if the process reports an error. */
  waitFor(event: string, timeoutMs?: number): Promise<ParticipantReport>;
}

let count = 0;

export function startParticipant(
  testbed: Testbed,
  namespace: string,
  mode: "publish" | "listen",
  url: string,
  jwt: string,
  amount: number,
): Participant {
  count += 1;
  const child = testbed.spawnInNamespace(namespace, process.execPath, [SCRIPT, mode, url, jwt, String(amount)], {
    logName: `participant-${count}-${mode}`,
    cwd: REPO_ROOT,
  });
  const reports = async (): Promise<ParticipantReport[]> =>
    (await readFile(child.logPath, "utf8"))
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as ParticipantReport);
  return {
    process: child,
    reports,
    async waitFor(event, timeoutMs = 30_000) {
      let found: ParticipantReport | undefined;
      await waitUntil(
        `participant ${count} (${mode}) reports "${event}"`,
        async () => {
          const all = await reports();
          const failure = all.find((r) => r.event === "error");
          if (failure && event !== "error") throw new Error(`participant failed: ${String(failure.message)}`);
          found = all.find((r) => r.event === event);
          return found !== undefined;
        },
        { timeoutMs, intervalMs: 200, hint: `see ${child.logPath}` },
      );
      return found as ParticipantReport;
    },
  };
}
