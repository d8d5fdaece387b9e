// Headless LiveKit participants (rtc-participant.ts) run inside a ministry's namespace; the test
// follows what they report through their log file.
import { fileURLToPath } from "node:url";
import type { ManagedProcess } from "../harness/processes.ts";
import type { Testbed } from "../harness/testbed.ts";
import { followJsonLines, type JsonReport } from "../harness/json-line-process.ts";

const SCRIPT = fileURLToPath(new URL("./rtc-participant.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export type ParticipantReport = JsonReport;

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
  const followed = followJsonLines(child);
  return {
    process: child,
    reports: followed.reports,
    waitFor: (event, timeoutMs) => followed.waitFor(`reports "${event}"`, (r) => r.event === event, timeoutMs),
  };
}
