// The set-up of the transcription workers' integration test (bridge-worker.test.ts), on the real test
// bed: A's appservice (its focus issues the callers' tokens, so their Matrix user IDs reach the bridge
// as participant attributes), three meetings of A with their LiveKit rooms, users of A and B, Festival
// speech for each speaker, and two worker processes in A's namespace taking one call each (max_jobs 1).
// Also what the test drives them with: speakers and subtitle receivers in a namespace, more workers,
// and which worker runs which job, from the workers' JSON reports.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { liveKitRoomAlias } from "../../../appservice/src/focus/livekit-names.ts";
import { openDatabase } from "../../../appservice/src/storage/database.ts";
import { createStore, type Store } from "../../../appservice/src/storage/store.ts";
import { followJsonLines, type JsonLineProcess, type JsonReport } from "../../harness/json-line-process.ts";
import { matrixRequest } from "../../harness/matrix-client.ts";
import { createMeeting, joinAlias, requestFocusToken, waitForJoins } from "../../harness/matrix-users.ts";
import { HOSTS } from "../../harness/network.ts";
import { MEETING_SENTENCES, synthesizeRecording, type SpeechRecording } from "../../harness/speech/festival-speech.ts";
import type { RegisteredUser, SynapseServer, Testbed } from "../../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../../harness/testbed.ts";
import { waitUntil } from "../../harness/wait.ts";
import { startAppservice, type AppserviceProcess } from "../../support/appservice-process.ts";
import { spawnWorker, writeWorkerConfig } from "../../support/transcription-worker.ts";

const SLOT = "m.call#ROOM";
const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SPEAKER = join(REPO_ROOT, "tests/harness/rtc-speaker.ts");
export const RECEIVER = join(REPO_ROOT, "tests/harness/rtc-subtitle-receiver.ts");

// Two speakers in turn in the first call, one longer speech in the second (the restart case).
export const ALICE_SENTENCES = MEETING_SENTENCES.slice(0, 2);
export const CAROL_SENTENCES = MEETING_SENTENCES.slice(2, 4);
const DAVE_SENTENCES = [...MEETING_SENTENCES];

export interface BridgeWorkerBed {
  testbed: Testbed;
  appservice: AppserviceProcess;
  dir: string;
  botToken: string;
  workerToken: string;
  bridgeUserId: string;
  alice: RegisteredUser;
  carol: RegisteredUser;
  bob: RegisteredUser;
  dave: RegisteredUser;
  /** Alice and Carol of A speak in turn, Bob of B listens. */
  call: { roomId: string; room: string; jwt: Record<"alice" | "carol" | "bob", string> };
  /** Dave alone: the restart case. */
  call2: { roomId: string; room: string; jwt: string };
  /** Dave alone, at the same time as the first call. */
  call3: { roomId: string; room: string; jwt: string };
  speech: Record<"alice" | "carol" | "dave", SpeechRecording>;
  /** The worker config that `startWorker` starts workers with. */
  configPath: string;
  /** Every worker started, stopped ones included. */
  workers: JsonLineProcess[];
  /** Every other process started (speakers, receivers). */
  started: JsonLineProcess[];
  spawn(namespace: string, logName: string, args: string[]): JsonLineProcess;
  startWorker(name: string): Promise<JsonLineProcess>;
  /** The worker running the job for this LiveKit room, once one reports it. */
  workerOf(room: string, candidates: readonly JsonLineProcess[], after?: number): Promise<{ worker: JsonLineProcess; job: string }>;
  jobReports(worker: JsonLineProcess, job: string): Promise<JsonReport[]>;
  displayName(server: SynapseServer, user: RegisteredUser): Promise<string>;
  /** Plays a recording into the call from A's namespace; resolves with the epoch time its audio started and its track. */
  say(jwt: string, recording: SpeechRecording, name: string): Promise<{ startedAt: number; trackSid: string; speaker: JsonLineProcess }>;
  close(): Promise<void>;
}

export async function setUpBridgeWorkerBed(): Promise<BridgeWorkerBed> {
  const testbed = await getTestbed();
  const dir = await mkdtemp(join(tmpdir(), "visio-bridge-worker-"));
  let store: Store | undefined;
  const workers: JsonLineProcess[] = [];
  const started: JsonLineProcess[] = [];
  const recordings = Promise.all(
    (["alice", "carol", "dave"] as const).map(async (who) => {
      const sub = join(dir, who);
      await mkdir(sub);
      const sentences = who === "alice" ? ALICE_SENTENCES : who === "carol" ? CAROL_SENTENCES : DAVE_SENTENCES;
      return synthesizeRecording(sub, sentences, who === "dave" ? { gapMs: 2000 } : {});
    }),
  );
  const bed = {
    testbed,
    appservice: undefined as unknown as AppserviceProcess,
    dir,
    workers,
    started,
    configPath: "",
    spawn: (namespace: string, logName: string, args: string[]): JsonLineProcess => {
      const follower = followJsonLines(testbed.spawnInNamespace(namespace, process.execPath, args, { logName, cwd: REPO_ROOT }));
      started.push(follower);
      return follower;
    },
    startWorker: async (name: string): Promise<JsonLineProcess> => {
      const worker = spawnWorker(testbed, HOSTS.a.namespace, bed.configPath, `bridge-${name}-${uniqueLocalpart("w")}`);
      workers.push(worker);
      await worker.waitFor("registered with LiveKit", (r) => r.event === "registered", 60_000);
      return worker;
    },
    workerOf: async (room: string, candidates: readonly JsonLineProcess[], after = 0): Promise<{ worker: JsonLineProcess; job: string }> => {
      let found: { worker: JsonLineProcess; job: string } | undefined;
      await waitUntil(
        `a worker took the job for ${room}`,
        async () => {
          for (const worker of candidates) {
            const report = (await worker.reports()).find((r) => r.event === "job-started" && r.room === room && Number(r.at) >= after);
            if (report !== undefined) found = { worker, job: String(report.job) };
          }
          return found !== undefined;
        },
        { timeoutMs: 30_000, hint: `see ${candidates.map((w) => w.process.logPath).join(", ")}` },
      );
      if (found === undefined) throw new Error("unreachable");
      return found;
    },
    jobReports: async (worker: JsonLineProcess, job: string): Promise<JsonReport[]> => (await worker.reports()).filter((r) => r.job === job),
    displayName: async (server: SynapseServer, user: RegisteredUser): Promise<string> =>
      (await matrixRequest<{ displayname: string }>(server.clientUrl, user.accessToken, "GET", `/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}`)).displayname,
    say: async (jwt: string, recording: SpeechRecording, name: string): Promise<{ startedAt: number; trackSid: string; speaker: JsonLineProcess }> => {
      const speaker = bed.spawn(HOSTS.a.namespace, `speaker-${name}-${uniqueLocalpart("s")}`, [SPEAKER, testbed.livekit.a.url, jwt, recording.wavPath]);
      const published = await speaker.waitFor("published", (r) => r.event === "published", 30_000);
      const playing = await speaker.waitFor("playing", (r) => r.event === "playing", 30_000);
      return { startedAt: Number(playing.startedAt), trackSid: String(published.trackSid), speaker };
    },
    close: async (): Promise<void> => {
      await Promise.all([...started, ...workers].map((p) => p.process.stop()));
      await store?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  const tokenFor = async (roomId: string, server: SynapseServer, user: RegisteredUser): Promise<string> => {
    const res = await requestFocusToken(bed.appservice.url, roomId, server, user, SLOT);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return String(res.body.jwt);
  };

  try {
    const appservice = await startAppservice("a");
    bed.appservice = appservice;
    store = createStore(await openDatabase(appservice.config.database));
    const botToken = appservice.config.appservice.as_token;
    const { asToken: workerToken, userId: bridgeUserId } = appservice.transcriber;
    const { a, b } = testbed.ministries;
    const [alice, carol, dave, bob] = await Promise.all([
      a.registerUser(uniqueLocalpart("alice")),
      a.registerUser(uniqueLocalpart("carol")),
      a.registerUser(uniqueLocalpart("dave")),
      b.registerUser(uniqueLocalpart("bob")),
    ]);
    const { roomId, alias: alias1 } = await createMeeting(appservice, a, alice, "Appel transcrit");
    await joinAlias(a, carol, alias1);
    await joinAlias(b, bob, alias1);
    const { roomId: roomId2 } = await createMeeting(appservice, a, dave, "Reprise");
    await waitForJoins(store, roomId, [alice, carol, bob]);
    const { roomId: roomId3 } = await createMeeting(appservice, a, dave, "En parallèle");
    await waitForJoins(store, roomId2, [dave]);
    await waitForJoins(store, roomId3, [dave]);
    // The focus creates the LiveKit rooms when it issues the first tokens; the workers may only join them.
    const call = {
      roomId,
      room: liveKitRoomAlias(roomId, SLOT),
      jwt: { alice: await tokenFor(roomId, a, alice), carol: await tokenFor(roomId, a, carol), bob: await tokenFor(roomId, b, bob) },
    };
    const call2 = { roomId: roomId2, room: liveKitRoomAlias(roomId2, SLOT), jwt: await tokenFor(roomId2, a, dave) };
    const call3 = { roomId: roomId3, room: liveKitRoomAlias(roomId3, SLOT), jwt: await tokenFor(roomId3, a, dave) };
    bed.configPath = await writeWorkerConfig(dir, { livekit: testbed.livekit.a, homeserver: a, whisper: testbed.whisper.a, asToken: workerToken, userId: bridgeUserId, maxJobs: 1 });
    await Promise.all([bed.startWorker("worker-1"), bed.startWorker("worker-2")]);
    const [aliceSpeech, carolSpeech, daveSpeech] = await recordings;
    if (aliceSpeech === undefined || carolSpeech === undefined || daveSpeech === undefined) throw new Error("speech missing");
    const speech = { alice: aliceSpeech, carol: carolSpeech, dave: daveSpeech };
    return Object.assign(bed, { botToken, workerToken, bridgeUserId, alice, carol, bob, dave, call, call2, call3, speech });
  } catch (err) {
    // What was started before the failure is stopped, as when the tests end.
    await bed.close();
    throw err;
  }
}
