// The live transcription path on the test bed (root needed: network namespaces): a caller of A plays
// Festival sentences into a real LiveKit call, a transcription worker (dispatched as the appservice
// does it) transcribes them with the default engine (Whisper through the ministry's Whisper server), a caller of B receives the subtitles.
// - latency: start of each sentence's audio as sent → its first (interim) subtitle at B's caller; end
//   of it → its final subtitle at B's caller, and → its final message accepted by Synapse A (the
//   worker's "posted" report), over several calls;
// - capacity: several calls spoken at once into one worker pinned to one core; its CPU time and the
//   Whisper server's, per second of audio, give the streams one core sustains (each call has a
//   listener of B, so subtitles have somewhere to go);
// - overload: more calls at once than one core carries, the worker and the Whisper server both pinned
//   to that core: the final lines counted (every sentence should have one, in the thread and at B), the
//   interim subtitles per second of speech against the calls above, and the finals' delay.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { promisify } from "node:util";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { openDatabase } from "../../appservice/src/storage/database.ts";
import { createStore } from "../../appservice/src/storage/store.ts";
import { HOSTS } from "../../tests/harness/network.ts";
import { getTestbed, uniqueLocalpart, type RegisteredUser, type SynapseServer } from "../../tests/harness/testbed.ts";
import { MEETING_SENTENCES, synthesizeRecording, type SpeechRecording } from "../../tests/harness/speech/festival-speech.ts";
import { chooseFrenchClips, FRENCH_CALL_CLIPS } from "../../tests/harness/speech/french-speech.ts";
import { recordMeeting } from "../../tests/harness/speech/recorded-speech.ts";
import { WHISPER_MULTILINGUAL_MODEL, WHISPER_SERVER_MODEL } from "../../bridge/whisper-server/whisper-server.ts";
import { startAppservice } from "../../tests/support/appservice-process.ts";
import { followJsonLines, type JsonLineProcess, type JsonReport } from "../../tests/harness/json-line-process.ts";
import { timeSubtitles, type SubtitleTiming } from "../../tests/harness/subtitle-timing.ts";
import { createMeeting, joinAlias, requestFocusToken, waitForJoins } from "../../tests/harness/matrix-users.ts";
import { dispatchTranscription, postThreadRoot, sendStop, WORKER_ENTRY, writeWorkerConfig } from "../../tests/support/transcription-worker.ts";

const SLOT = "m.call#ROOM";
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SPEAKER = join(REPO_ROOT, "tests/harness/rtc-speaker.ts");
const RECEIVER = join(REPO_ROOT, "tests/harness/rtc-subtitle-receiver.ts");

/** What the caller says: Festival's English sentences, or recorded French phrases (a French meeting). */
const SPEECH: Record<"en" | "fr", { describe: string; model: string; record(dir: string): Promise<SpeechRecording> }> = {
  en: { describe: `${MEETING_SENTENCES.length} Festival sentences`, model: WHISPER_SERVER_MODEL, record: (dir) => synthesizeRecording(dir, MEETING_SENTENCES) },
  fr: {
    describe: "4 recorded French phrases (Tux Paint)",
    model: WHISPER_MULTILINGUAL_MODEL,
    record: async (dir) => recordMeeting(dir, await chooseFrenchClips(FRENCH_CALL_CLIPS), { gapMs: 2500 }),
  },
};
const CLOCK_TICKS_PER_SECOND = 100;

/** Several calls spoken at once into the one worker. */
export interface SimultaneousCalls {
  streams: number;
  workerCpuSeconds: number;
  /** The Whisper server's CPU time over the same calls (it serves only this worker here). */
  engineCpuSeconds: number;
  /** Final lines: expected (one per sentence and call), posted in the threads, received as final subtitles at B. */
  finalsExpected: number;
  finalsPosted: number;
  finalSubtitles: number;
  /** The jobs' "error" and "engine-outage" reports (an utterance lost to an engine failure or timeout is one). */
  errorReports: number;
  /** Interim subtitles the worker sent, per call, per second of audio. */
  interimsPerStreamSecond: number;
  /** End of sentence → final subtitle at B (calls where a sentence got no final subtitle are left out). */
  subtitleLagMs: number[];
}

export interface LiveTranscriptionBench {
  language: "en" | "fr";
  /** What the caller said. */
  speech: string;
  /** One entry per sentence (calls where a sentence got no final subtitle, or the thread lacks one, are left out). */
  firstTextLagMs: number[];
  subtitleLagMs: number[];
  postedLagMs: number[];
  callsMeasured: number;
  callsLeftOut: number;
  audioSecondsPerStream: number;
  /** Calls at once into the worker pinned to one core, the Whisper server on the machine's cores. */
  capacity: SimultaneousCalls;
  /** More calls at once, the worker and the Whisper server both pinned to one core; absent when not asked. */
  overload?: SimultaneousCalls;
  /** The Whisper model that transcribed the meeting's language. */
  engineModel: string;
  workerRssMiB: number;
}

/** CPU seconds of a process and of its children it has waited for (the recognisers). */
async function treeCpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]?.split(" ") ?? [];
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) / CLOCK_TICKS_PER_SECOND;
}

const run = promisify(execFile);

/** Every thread of a running process onto these CPUs (taskset's list syntax). */
async function pin(pid: number, cpus: string): Promise<void> {
  await run("taskset", ["-a", "-p", "-c", cpus, String(pid)]);
}

async function rssMiB(pid: number): Promise<number> {
  const line = (await readFile(`/proc/${pid}/status`, "utf8")).split("\n").find((l) => l.startsWith("VmRSS:"));
  return Number(/(\d+)/.exec(line ?? "")?.[1] ?? NaN) / 1024;
}

export async function benchLiveTranscription({
  calls = 3,
  concurrentStreams = 3,
  overloadStreams = 0,
  language = "en" as "en" | "fr",
} = {}): Promise<LiveTranscriptionBench> {
  const session = { language, engine: "openai" };
  const dir = await mkdtemp(join(tmpdir(), "visio-bench-live-"));
  const started: JsonLineProcess[] = [];
  try {
    const testbed = await getTestbed();
    const { a, b } = testbed.ministries;
    const appservice = await startAppservice("a");
    const store = createStore(await openDatabase(appservice.config.database));
    const spawn = (namespace: string, name: string, command: string, args: string[]): JsonLineProcess => {
      const follower = followJsonLines(testbed.spawnInNamespace(namespace, command, args, { logName: `${name}-${uniqueLocalpart("p")}`, cwd: REPO_ROOT }));
      started.push(follower);
      return follower;
    };
    const [alice, bob] = await Promise.all([a.registerUser(uniqueLocalpart("alice")), b.registerUser(uniqueLocalpart("bob"))]);
    const speech = await SPEECH[language].record(dir);
    const tokenFor = async (roomId: string, server: SynapseServer, user: RegisteredUser): Promise<string> => {
      const res = await requestFocusToken(appservice.url, roomId, server, user, SLOT);
      if (res.status !== 200) throw new Error(`focus answered ${res.status}: ${JSON.stringify(res.body)}`);
      return String(res.body.jwt);
    };
    const newCall = async () => {
      const { roomId, alias } = await createMeeting(appservice, a, alice, "Mesure de la transcription");
      await joinAlias(b, bob, alias);
      await waitForJoins(store, roomId, [alice, bob]);
      const aliceJwt = await tokenFor(roomId, a, alice);
      return { roomId, room: liveKitRoomAlias(roomId, SLOT), aliceJwt, bobJwt: await tokenFor(roomId, b, bob) };
    };

    const configPath = await writeWorkerConfig(dir, {
      livekit: testbed.livekit.a,
      homeserver: a,
      whisper: testbed.whisper.a,
      asToken: appservice.transcriber.asToken,
      userId: appservice.transcriber.userId,
      maxJobs: Math.max(concurrentStreams, overloadStreams) + 1,
    });
    // One core: what "streams per core" means.
    const worker = spawn(HOSTS.a.namespace, "bench-worker", "taskset", ["-c", "0", process.execPath, WORKER_ENTRY, "--config", configPath]);
    await worker.waitFor("registered", (r) => r.event === "registered", 60_000);
    const jobOf = async (room: string): Promise<string> => String((await worker.waitFor(`job for ${room}`, (r) => r.event === "job-started" && r.room === room, 60_000)).job);
    const transcribe = async (call: { roomId: string; room: string }): Promise<string> => {
      await dispatchTranscription(testbed.livekit.a, call.room, await postThreadRoot(a, appservice.config.appservice.as_token, call.roomId, session));
      const job = await jobOf(call.room);
      await worker.waitFor("joined", (r) => r.event === "connected" && r.job === job, 30_000);
      return job;
    };
    const reportsOf = async (job: string, event: string): Promise<JsonReport[]> =>
      (await worker.reports()).filter((r) => r.job === job && r.event === event && r.final === true);
    const speak = async (jwt: string) => {
      const speaker = spawn(HOSTS.a.namespace, "bench-speaker", process.execPath, [SPEAKER, testbed.livekit.a.url, jwt, speech.wavPath]);
      await speaker.waitFor("published", (r) => r.event === "published", 30_000);
      const playing = await speaker.waitFor("playing", (r) => r.event === "playing", 30_000);
      await speaker.waitFor("done", (r) => r.event === "done", speech.durationMs + 30_000);
      return { startedAt: Number(playing.startedAt), trackSid: String((await speaker.reports()).find((r) => r.event === "published")?.trackSid) };
    };
    const finish = async (room: string, job: string): Promise<void> => {
      await sendStop(testbed.livekit.a, room);
      await worker.waitFor("job ended", (r) => r.event === "job-ended" && r.job === job, 30_000);
    };
    const settle = async (job: string, trackSid: string): Promise<void> => {
      try {
        await worker.waitFor("pipeline closed", (r) => r.event === "track-closed" && r.trackSid === trackSid, 120_000);
      } catch (err) {
        // Under overload an engine that times out loses utterances (error reports): counted, not fatal.
        if (!(await worker.reports()).some((r) => r.event === "error")) throw err;
      }
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && (await reportsOf(job, "posted")).length < (await reportsOf(job, "subtitle")).length) {
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };

    // Latency, one call at a time.
    const firstTextLagMs: number[] = [];
    const subtitleLagMs: number[] = [];
    const postedLagMs: number[] = [];
    let callsLeftOut = 0;
    for (let n = 0; n < calls; n++) {
      const call = await newCall();
      const job = await transcribe(call);
      const receiver = spawn(HOSTS.b.namespace, "bench-receiver", process.execPath, [RECEIVER, testbed.livekit.a.url, call.bobJwt]);
      await receiver.waitFor("connected", (r) => r.event === "connected", 30_000);
      const said = await speak(call.aliceJwt);
      await settle(job, said.trackSid);
      // Utterances paired with sentences by time; the thread's finals are posted in the order their subtitles went out.
      const posted = (await reportsOf(job, "posted")).map((r) => Number(r.at) - said.startedAt);
      let timing: SubtitleTiming | undefined;
      try {
        timing = timeSubtitles(await receiver.reports(), speech.sentences, said.startedAt);
      } catch {
        timing = undefined;
      }
      if (timing !== undefined && posted.length === timing.finalsInOrder.length) {
        const { sentences, finalsInOrder } = timing;
        speech.sentences.forEach((sentence, i) => {
          firstTextLagMs.push((sentences[i]?.firstTextAt ?? NaN) - sentence.startMs);
          subtitleLagMs.push((sentences[i]?.finalAt ?? NaN) - sentence.endMs);
          postedLagMs.push(Math.max(...posted.filter((_, k) => finalsInOrder[k] === i)) - sentence.endMs);
        });
      } else {
        callsLeftOut += 1;
      }
      await finish(call.room, job);
      await receiver.process.stop();
    }

    // Several calls spoken at once into the one-core worker.
    // Each call has a listener, as a real one does: subtitles need someone to go to.
    const engine = testbed.whisper.a.process.pid;
    const atOnce = async (streams: number): Promise<SimultaneousCalls> => {
      const parallel = await Promise.all(Array.from({ length: streams }, () => newCall()));
      // One dispatch at a time: with 8 at once on this busy machine, some jobs were never offered to the
      // worker (no job-started nor job-refused within 60 s; cause not found).
      const jobs: string[] = [];
      for (const call of parallel) jobs.push(await transcribe(call));
      const listeners = parallel.map((call) => spawn(HOSTS.b.namespace, "bench-receiver", process.execPath, [RECEIVER, testbed.livekit.a.url, call.bobJwt]));
      await Promise.all(listeners.map((listener) => listener.waitFor("connected", (r) => r.event === "connected", 30_000)));
      const cpuBefore = await treeCpuSeconds(worker.process.pid);
      const engineCpuBefore = await treeCpuSeconds(engine);
      const spoken = await Promise.all(parallel.map((call) => speak(call.aliceJwt)));
      await Promise.all(spoken.map((said, i) => settle(jobs[i] ?? "", said.trackSid)));
      const result: SimultaneousCalls = {
        streams,
        workerCpuSeconds: (await treeCpuSeconds(worker.process.pid)) - cpuBefore,
        engineCpuSeconds: (await treeCpuSeconds(engine)) - engineCpuBefore,
        finalsExpected: streams * speech.sentences.length,
        finalsPosted: 0,
        finalSubtitles: 0,
        errorReports: 0,
        interimsPerStreamSecond: 0,
        subtitleLagMs: [],
      };
      const reports = await worker.reports();
      let interims = 0;
      for (const [i, job] of jobs.entries()) {
        const ofJob = reports.filter((r) => r.job === job);
        result.finalsPosted += ofJob.filter((r) => r.event === "posted" && r.final === true).length;
        interims += ofJob.filter((r) => r.event === "subtitle" && r.final === false).length;
        result.errorReports += ofJob.filter((r) => r.event === "error" || r.event === "engine-outage").length;
        const received = await listeners[i]!.reports();
        result.finalSubtitles += new Set(
          received
            .filter((r) => r.event === "transcription" && (r.attributes as Record<string, string> | undefined)?.["lk.transcription_final"] === "true")
            .map((r) => (r.attributes as Record<string, string>)["lk.segment_id"]),
        ).size;
        try {
          const { sentences } = timeSubtitles(received, speech.sentences, spoken[i]!.startedAt);
          speech.sentences.forEach((sentence, k) => result.subtitleLagMs.push((sentences[k]?.finalAt ?? NaN) - sentence.endMs));
        } catch {
          // a sentence without a final subtitle: counted above, no delay to report
        }
      }
      result.interimsPerStreamSecond = interims / (streams * (speech.durationMs / 1000));
      await Promise.all(parallel.map((call, i) => finish(call.room, jobs[i] ?? "")));
      await Promise.all(listeners.map((listener) => listener.process.stop()));
      return result;
    };
    const capacity = await atOnce(concurrentStreams);
    const workerRssMiB = await rssMiB(worker.process.pid);
    let overload: SimultaneousCalls | undefined;
    if (overloadStreams > 0) {
      // The worker and its Whisper server on one core together (the last one: benches that pin a
      // process of theirs take the first), then back where they were.
      const core = String(availableParallelism() - 1);
      await Promise.all([pin(worker.process.pid, core), pin(engine, core)]);
      try {
        overload = await atOnce(overloadStreams);
      } finally {
        await Promise.all([pin(worker.process.pid, "0"), pin(engine, `0-${availableParallelism() - 1}`)]);
      }
    }
    await store.close();
    return {
      language,
      speech: SPEECH[language].describe,
      firstTextLagMs,
      subtitleLagMs,
      postedLagMs,
      callsMeasured: calls - callsLeftOut,
      callsLeftOut,
      audioSecondsPerStream: speech.durationMs / 1000,
      capacity,
      ...(overload === undefined ? {} : { overload }),
      engineModel: SPEECH[language].model,
      workerRssMiB,
    };
  } finally {
    await Promise.all(started.map((p) => p.process.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}
