// Large calls on the test bed (root needed: network namespaces). Headless rtc-node participants in
// A's namespace join one meeting of ministry A the way a MatrixRTC client does (membership state
// event, OpenID token, the real focus's get_token with its production rate limits, LiveKit A): a few
// say recorded speech, a few send 320x180 video at 15 fps, the rest listen; all subscribe to all.
// Each run is a join storm at a steady pace (default 10 joins/s: 50 joins in 5 s), then a window in
// the call where the CPU of LiveKit, the appservice, Synapse and the load clients is read from /proc.
// The calls grow until the machine has no CPU left. Run alone:
//   bash scripts/run.sh node scripts/bench/large-call.ts [sizes, e.g. 10,20,40,60] [join storms of 50, e.g. 3]
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FOCUS_PATH_PREFIX } from "../../appservice/src/app.ts";
import { HOSTS } from "../../tests/harness/network.ts";
import { getTestbed, stopSharedTestbed, uniqueLocalpart, type ManagedProcess, type RegisteredUser } from "../../tests/harness/testbed.ts";
import { sleep, waitUntil } from "../../tests/harness/wait.ts";
import { startAppservice } from "../../tests/support/appservice-process.ts";
import { followJsonLines, type JsonReport } from "../../tests/harness/json-line-process.ts";
import { callMembershipContent, callMembershipPath, createMeeting, joinAlias } from "../../tests/harness/matrix-users.ts";
import type { LoadJob, LoadParticipant, LoadRole } from "./large-call-participants.ts";
import { largeCallReport, saturation, VIDEO_FPS } from "./large-call-report.ts";
import { cpuRates, cpuSnapshot } from "./process-cpu.ts";
import { speechMaterial } from "./worker-pipeline-cpu.ts";

const SCRIPT = fileURLToPath(new URL("./large-call-participants.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SLOT = "m.call#ROOM";

export interface LargeCallOptions {
  /** Participants per run, growing; the growth stops after the run that left the machine no CPU. */
  sizes?: number[];
  /** Join storms of `stormSize` participants, before the growth. */
  stormRuns?: number;
  stormSize?: number;
  speakers?: number;
  videos?: number;
  /** Between two participants' joins. */
  joinSpacingMs?: number;
  /** In the call, once everyone has joined. */
  windowSeconds?: number;
  /** Participants per load process. */
  perProcess?: number;
}

export type CpuUsers = "livekit" | "appservice" | "synapse" | "clients";

export interface LargeCallRun {
  participants: number;
  speakers: number;
  videos: number;
  /** Start of the membership event → connected to LiveKit, ms, per participant that joined. */
  joinMs: number[];
  /** The join's parts, medians: membership event, OpenID + focus token, LiveKit connection. */
  stagesMs: { membership: number; token: number; connect: number };
  /** What went wrong in the call, one line each: refused or failed joins, drops, missing subscriptions, load processes that failed. */
  errors: string[];
  /** Leaves that failed or did not end in time: the load client's side (rtc-node), after the measurements. */
  leaveErrors: string[];
  /** The longest a participant took to leave (LiveKit disconnect, then its membership emptied). */
  slowestLeaveMs: number;
  /** From the go to the last join answered. */
  joiningSeconds: number;
  /** CPU seconds per second while the participants joined, and in the call once all had. */
  joiningCpu: Record<CpuUsers | "machine", number>;
  inCallCpu: Record<CpuUsers | "machine", number>;
  /** Frames per second decoded by the observing listeners, per video track: median and lowest. */
  videoFps: { median: number; lowest: number };
}

export interface LargeCallBench {
  cores: number;
  storms: LargeCallRun[];
  growth: LargeCallRun[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const roleOf = (i: number, speakers: number, videos: number): LoadRole => (i < speakers ? "speak" : i < speakers + videos ? "video" : "listen");

/** Observed video frame rates over [from, to] (epoch ms), one per observer and track. */
function videoRates(reports: JsonReport[], from: number, to: number): number[] {
  const byObserver = new Map<number, JsonReport[]>();
  for (const r of reports) {
    if (r.event !== "frames" || Number(r.at) < from || Number(r.at) > to) continue;
    byObserver.set(Number(r.index), [...(byObserver.get(Number(r.index)) ?? []), r]);
  }
  const rates: number[] = [];
  for (const frames of byObserver.values()) {
    const first = frames[0]!;
    const last = frames[frames.length - 1]!;
    const seconds = (Number(last.at) - Number(first.at)) / 1000;
    if (seconds <= 0) continue;
    const [a, b] = [first.video as Record<string, number>, last.video as Record<string, number>];
    for (const sid of Object.keys(b)) if (a[sid] !== undefined) rates.push((b[sid]! - a[sid]!) / seconds);
  }
  return rates;
}

interface Meeting {
  roomId: string;
  users: RegisteredUser[];
  appserviceUrl: string;
  appservicePid: number;
  speechPath: string;
  dir: string;
}

async function runCall(meeting: Meeting, size: number, options: Required<LargeCallOptions>, label: string): Promise<LargeCallRun> {
  const testbed = await getTestbed();
  const { speakers, videos, joinSpacingMs, windowSeconds, perProcess } = options;
  if (size > meeting.users.length) throw new Error(`${size} participants asked for, ${meeting.users.length} users registered`);
  const processes = Math.ceil(size / perProcess);
  const listeners = Array.from({ length: size }, (_, i) => i).filter((i) => roleOf(i, speakers, videos) === "listen");
  // Two listeners count what they decode: the first and the last to join.
  const observers = new Set([listeners[0], listeners[listeners.length - 1]]);
  const deadline = Date.now() + 60_000 + size * joinSpacingMs * 2 + windowSeconds * 1000;
  const children: ManagedProcess[] = [];
  for (let k = 0; k < processes; k++) {
    const participants: LoadParticipant[] = [];
    // Round robin: every process has joins all along the storm.
    for (let i = k; i < size; i += processes) {
      const user = meeting.users[i]!;
      participants.push({
        index: i,
        userId: user.userId,
        deviceId: user.deviceId,
        accessToken: user.accessToken,
        role: roleOf(i, speakers, videos),
        observe: observers.has(i),
        joinDelayMs: i * joinSpacingMs,
        membershipPath: callMembershipPath(meeting.roomId, user),
        membershipContent: callMembershipContent(user),
      });
    }
    const job: LoadJob = {
      homeserverUrl: testbed.ministries.a.clientUrl,
      focusTokenUrl: `${meeting.appserviceUrl}${FOCUS_PATH_PREFIX}/get_token`,
      roomId: meeting.roomId,
      slotId: SLOT,
      speechPath: meeting.speechPath,
      videoFps: VIDEO_FPS,
      deadline,
      participants,
    };
    const jobPath = join(meeting.dir, `${label}-${k}.json`);
    // Access tokens inside: readable by root only.
    await writeFile(jobPath, JSON.stringify(job), { mode: 0o600 });
    children.push(testbed.spawnInNamespace(HOSTS.a.namespace, process.execPath, [SCRIPT, jobPath], { logName: `large-call-${label}-${k}`, cwd: REPO_ROOT }));
  }
  const followed = children.map(followJsonLines);
  const allReports = async (): Promise<JsonReport[]> => (await Promise.all(followed.map((f) => f.reports()))).flat();
  try {
    await Promise.all(followed.map((f) => f.waitFor("ready", (r) => r.event === "ready", 60_000)));
    const groups = {
      livekit: [testbed.livekit.a.process.pid],
      appservice: [meeting.appservicePid],
      synapse: [testbed.ministries.a.process.pid],
      clients: children.map((c) => c.pid),
    };
    const beforeJoins = await cpuSnapshot(groups);
    const signal = (name: NodeJS.Signals): void => {
      for (const child of children) {
        try {
          process.kill(child.pid, name);
        } catch {
          // Gone already: its log says why, and the reports count what it did not do.
        }
      }
    };
    signal("SIGUSR2");
    const settled = (reports: JsonReport[]): number => reports.filter((r) => r.event === "joined" || r.event === "join-error").length;
    await waitUntil(`${size} joins answered`, async () => settled(await allReports()) >= size, {
      timeoutMs: 60_000 + size * joinSpacingMs,
      intervalMs: 250,
      abortIf: () => children.map((c) => c.exitDescription()).find((d) => d !== undefined),
    });
    const joined = await cpuSnapshot(groups);
    // Subscriptions and the first frames settle.
    await sleep(3000);
    const windowFrom = Date.now();
    const inCallBefore = await cpuSnapshot(groups);
    await sleep(windowSeconds * 1000);
    const inCallAfter = await cpuSnapshot(groups);
    const windowTo = Date.now();
    signal("SIGTERM");
    // Each participant's leave is bounded (30 s for LiveKit, 30 s for its membership).
    await Promise.race([Promise.all(children.map((c) => c.exited)), sleep(70_000)]);
    const perProcessReports = await Promise.all(followed.map((f) => f.reports()));
    const reports = perProcessReports.flat();
    const errors: string[] = [];
    const leaveErrors: string[] = [];
    for (const r of reports) {
      if (r.event === "join-error") errors.push(`participant ${String(r.index)}: ${String(r.stage)}: ${String(r.message)}`);
      if (r.event === "dropped") errors.push(`participant ${String(r.index)} disconnected by LiveKit (${String(r.reason)})`);
      if (r.event === "leave-error") leaveErrors.push(`participant ${String(r.index)} could not leave: ${String(r.message)}`);
      if (r.event === "error") errors.push(`a load process failed: ${String(r.message)}`);
      if (r.event === "left") {
        const index = Number(r.index);
        const audio = speakers - (index < speakers ? 1 : 0);
        const video = videos - (roleOf(index, speakers, videos) === "video" ? 1 : 0);
        if (Number(r.audioTracks) < audio || Number(r.videoTracks) < video) {
          errors.push(`participant ${index} got ${String(r.audioTracks)} of ${audio} audio and ${String(r.videoTracks)} of ${video} video tracks`);
        }
      }
    }
    children.forEach((child, k) => {
      if (!perProcessReports[k]!.some((r) => r.event === "done")) leaveErrors.push(`${child.name} did not finish leaving (${child.exitDescription() ?? "still running"})`);
    });
    const joins = reports.filter((r) => r.event === "joined");
    const leaves = reports.filter((r) => r.event === "left").map((r) => Number(r.leaveMs));
    const rates = videoRates(reports, windowFrom, windowTo);
    return {
      participants: size,
      speakers,
      videos,
      joinMs: joins.map((r) => Number(r.joinMs)),
      stagesMs: {
        membership: median(joins.map((r) => Number(r.membershipMs))),
        token: median(joins.map((r) => Number(r.tokenMs))),
        connect: median(joins.map((r) => Number(r.connectMs))),
      },
      errors,
      leaveErrors,
      slowestLeaveMs: leaves.length === 0 ? NaN : Math.max(...leaves),
      joiningSeconds: (joined.at - beforeJoins.at) / 1000,
      joiningCpu: cpuRates(beforeJoins, joined),
      inCallCpu: cpuRates(inCallBefore, inCallAfter),
      videoFps: { median: median(rates), lowest: rates.length === 0 ? NaN : Math.min(...rates) },
    };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
  }
}

export async function benchLargeCall(options: LargeCallOptions = {}): Promise<LargeCallBench> {
  const settings: Required<LargeCallOptions> = {
    sizes: [10, 20, 30, 40, 60],
    stormRuns: 3,
    stormSize: 50,
    speakers: 3,
    videos: 4,
    joinSpacingMs: 100,
    windowSeconds: 8,
    perProcess: 20,
    ...options,
  };
  const testbed = await getTestbed();
  const a = testbed.ministries.a;
  const appservice = await startAppservice("a");
  const dir = join(testbed.runDir, `large-call-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  const speechPath = join(dir, "speech.raw");
  const speech = await speechMaterial(10);
  await writeFile(speechPath, new Uint8Array(speech.buffer, speech.byteOffset, speech.byteLength));

  const host = await a.registerUser(uniqueLocalpart("host"));
  const { roomId, alias } = await createMeeting(appservice, a, host, "Grande réunion");
  const needed = Math.max(settings.stormSize, ...settings.sizes);
  const users: RegisteredUser[] = [];
  // A few at a time: the meeting's members, before any call.
  for (let i = 0; i < needed; i += 8) {
    const batch = await Promise.all(Array.from({ length: Math.min(8, needed - i) }, () => a.registerUser(uniqueLocalpart("caller"))));
    await Promise.all(batch.map((user) => joinAlias(a, user, alias)));
    users.push(...batch);
  }
  const meeting: Meeting = { roomId, users, appserviceUrl: appservice.url, appservicePid: appservice.process.pid, speechPath, dir };
  const cores = availableParallelism();
  const storms: LargeCallRun[] = [];
  for (let run = 0; run < settings.stormRuns; run++) {
    storms.push(await runCall(meeting, settings.stormSize, settings, `storm-${run}`));
    // The call's end (memberships emptied, LiveKit room closed) is handled before the next one starts.
    await sleep(5000);
  }
  const growth: LargeCallRun[] = [];
  for (const size of settings.sizes) {
    const run = await runCall(meeting, size, settings, `size-${size}`);
    growth.push(run);
    await sleep(5000);
    if (saturation(run, cores) !== undefined) break;
  }
  return { cores, storms, growth };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const usage = "usage: large-call.ts [sizes, e.g. 10,20,40] [join storms of 50, e.g. 3]";
  const sizes = process.argv[2]?.split(",").map(Number);
  const stormRuns = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
  if (sizes?.some((n) => !Number.isInteger(n) || n < 8)) throw new Error(`${usage}: each size at least 8 (3 speakers, 4 videos, a listener)`);
  if (stormRuns !== undefined && (!Number.isInteger(stormRuns) || stormRuns < 0)) throw new Error(usage);
  try {
    const bench = await benchLargeCall({ ...(sizes ? { sizes } : {}), ...(stormRuns === undefined ? {} : { stormRuns }) });
    process.stdout.write(largeCallReport(bench));
    // The load processes' logs say what went wrong.
    const failed = [...bench.storms, ...bench.growth].some((run) => run.errors.length + run.leaveErrors.length > 0);
    const logs = await stopSharedTestbed({ keepRunDir: failed });
    if (failed) process.stdout.write(`logs of the runs with errors kept in ${logs ?? "?"}\n`);
  } catch (error) {
    const logs = await stopSharedTestbed({ keepRunDir: true });
    process.stderr.write(`large call bench failed; logs kept in ${logs ?? "(the test bed did not start)"}\n`);
    throw error;
  }
}
