// The large-call bench's figures as text (npm run bench, and large-call.ts run alone).
import type { CpuUsers, LargeCallBench, LargeCallRun } from "./large-call.ts";

/** What the video publishers send. */
export const VIDEO_FPS = 15;


const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN;
};
const ms = (n: number): string => n.toFixed(0);
const cpu = (n: number): string => n.toFixed(2);
const perParticipant = (n: number, run: LargeCallRun): string => ((1000 * n) / run.participants).toFixed(1);

/** Why a run is the last worth growing from, or undefined when the call went well and CPU was left. */
export function saturation(run: LargeCallRun, cores: number): string | undefined {
  if (run.errors.length > 0) return `${run.errors.length} errors`;
  // A listener that decodes less than 90 % of the frames sent is a call that no longer works.
  if (!(run.videoFps.lowest >= 0.9 * VIDEO_FPS)) return `video decoded at ${run.videoFps.lowest.toFixed(1)} of ${VIDEO_FPS} fps`;
  if (run.inCallCpu.machine >= 0.95 * cores) return `the machine busy (${run.inCallCpu.machine.toFixed(2)} of ${cores} cores)`;
  return undefined;
}

function errorLines(errors: string[]): string[] {
  // The first few, then how many more: a run that fails at scale fails the same way many times.
  return [...errors.slice(0, 5).map((e) => `      ${e}`), ...(errors.length > 5 ? [`      … and ${errors.length - 5} more`] : [])];
}

function cpuLine(label: string, rates: Record<CpuUsers | "machine", number>, run: LargeCallRun, cores: number): string {
  const ours = rates.livekit + rates.appservice + rates.synapse + rates.clients;
  return (
    `    ${label}: LiveKit ${cpu(rates.livekit)} (${perParticipant(rates.livekit, run)} ms/s per participant), appservice ${cpu(rates.appservice)}, ` +
    `Synapse ${cpu(rates.synapse)}, load clients ${cpu(rates.clients)} (${perParticipant(rates.clients, run)} ms/s per participant); ` +
    `machine ${cpu(rates.machine)} of ${cores} cores (other processes ${cpu(Math.max(0, rates.machine - ours))})`
  );
}

function runLines(title: string, run: LargeCallRun, cores: number): string[] {
  return [
    `  ${title}: join p50 ${ms(percentile(run.joinMs, 0.5))} ms, p95 ${ms(percentile(run.joinMs, 0.95))} ms ` +
      `(membership ${ms(run.stagesMs.membership)}, OpenID + focus token ${ms(run.stagesMs.token)}, LiveKit ${ms(run.stagesMs.connect)}: medians); ` +
      `${run.joinMs.length} of ${run.participants} joined in ${run.joiningSeconds.toFixed(1)} s; errors: ${run.errors.length}; slowest leave ${ms(run.slowestLeaveMs)} ms, leaves that failed: ${run.leaveErrors.length}`,
    ...errorLines(run.errors),
    ...errorLines(run.leaveErrors),
    cpuLine("CPU s/s in the call", run.inCallCpu, run, cores),
    `    while joining: appservice ${((1000 * run.joiningCpu.appservice * run.joiningSeconds) / run.participants).toFixed(1)} ms of CPU per join, ` +
      `Synapse ${((1000 * run.joiningCpu.synapse * run.joiningSeconds) / run.participants).toFixed(1)} ms per join, LiveKit ${cpu(run.joiningCpu.livekit)} CPU s/s; ` +
      `video decoded by two listeners: median ${run.videoFps.median.toFixed(1)} fps per track, lowest ${run.videoFps.lowest.toFixed(1)} (sent: ${VIDEO_FPS})`,
  ];
}

export function largeCallReport(bench: LargeCallBench): string {
  const first = bench.storms[0] ?? bench.growth[0];
  if (first === undefined) return "large call: no run\n";
  const storms = bench.storms;
  const stormSize = storms[0]?.participants ?? 0;
  const p50s = storms.map((r) => percentile(r.joinMs, 0.5));
  const p95s = storms.map((r) => percentile(r.joinMs, 0.95));
  const last = bench.growth[bench.growth.length - 1];
  const lines = [
    `large call (meeting of A through its real focus with the production rate limits, LiveKit A; rtc-node participants in A's namespace, ` +
      `${first.speakers} saying recorded speech, ${first.videos} sending 320x180 video at 15 fps, the others listening, all subscribed to all; ` +
      `a join = call membership event + OpenID token + focus token + LiveKit connection, one every 100 ms; everything on the same ${bench.cores} cores):`,
  ];
  if (storms.length > 0) {
    lines.push(
      `  join storm, ${stormSize} joins in ${((stormSize * 100) / 1000).toFixed(0)} s, ${storms.length} runs: join p50 median ${ms(median(p50s))} ms, p95 median ${ms(median(p95s))} ms ` +
        `(runs p50 ${p50s.map(ms).join(", ")}; p95 ${p95s.map(ms).join(", ")} ms); errors ${storms.map((r) => r.errors.length).join(", ")} (leaves that failed ${storms.map((r) => r.leaveErrors.length).join(", ")}); ` +
        `in the call LiveKit median ${cpu(median(storms.map((r) => r.inCallCpu.livekit)))} CPU s/s, load clients ${cpu(median(storms.map((r) => r.inCallCpu.clients)))}`,
    );
    storms.forEach((run, i) => lines.push(...runLines(`storm run ${i + 1}`, run, bench.cores)));
  }
  for (const run of bench.growth) lines.push(...runLines(`${run.participants} participants`, run, bench.cores));
  if (last !== undefined) {
    const why = saturation(last, bench.cores);
    const rates = last.inCallCpu;
    lines.push(
      why === undefined
        ? `  growth: the call still went well at ${last.participants} participants, the largest size asked for`
        : `  growth stopped at ${last.participants} participants (${why}): in the call LiveKit ${cpu(rates.livekit)} CPU s/s, the load clients ${cpu(rates.clients)}, ` +
            `appservice ${cpu(rates.appservice)}, Synapse ${cpu(rates.synapse)}, other processes ${cpu(Math.max(0, rates.machine - rates.livekit - rates.clients - rates.appservice - rates.synapse))}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
