// Faults during a transcribed call (real Synapse A, LiveKit A with webhooks, appservice A, A's worker
// and Whisper server): the appservice, then LiveKit, killed with SIGKILL mid-call and started again.
// Counted before and after: the call record, the call notices, the transcription notices, the
// transcript's lines and files. Nothing lost, nothing doubled.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createCallStore } from "../../appservice/src/calls/call-store.ts";
import { openDatabase } from "../../appservice/src/storage/database.ts";
import { createStore } from "../../appservice/src/storage/store.ts";
import { wordErrorRate } from "../../bridge/src/transcript/word-error-rate.ts";
import { TRANSCRIPTION_STATE_EVENT, type RoomEvent } from "../../wire-types.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import { getTestbed, uniqueLocalpart, type Testbed } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { MEETING_SENTENCES, synthesizeRecording } from "../speech/festival-speech.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { followJsonLines, type JsonLineProcess } from "../support/json-line-process.ts";
import { joinAlias, publishCallMembership, requestFocusToken, waitForJoins } from "../support/matrix-users.ts";
import { startParticipant } from "../support/participants.ts";
import { readTranscriptThread, spokenText } from "../support/transcript-thread.ts";
import { spawnWorker, writeWorkerConfig } from "../support/transcription-worker.ts";

const SLOT = "m.call#ROOM";
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SPEAKER = join(REPO_ROOT, "tests/support/rtc-speaker.ts");

describe("faults during a transcribed call (real Synapse, LiveKit, appservice, worker, Whisper)", function () {
  this.timeout(300_000);
  let testbed: Testbed;
  let dir: string;
  const started: { process: JsonLineProcess["process"] }[] = [];

  before(async function () {
    testbed = await getTestbed();
    dir = await mkdtemp(join(tmpdir(), "visio-faults-"));
  });
  // Each test's worker and callers end with it: the next test's call must get its own worker.
  afterEach(async function () {
    await Promise.all(started.splice(0).map((p) => p.process.stop()));
  });
  after(async function () {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** A meeting of A with alice and carol joined, seen by the appservice, and a registered worker of A taking one job at a time. */
  const meetingWithWorker = async (appservice: AppserviceProcess, store: ReturnType<typeof createStore>, name: string) => {
    const { a } = testbed.ministries;
    const alice = await a.registerUser(uniqueLocalpart("alice"));
    const carol = await a.registerUser(uniqueLocalpart("carol"));
    const alias = `#visio-${name}-${uniqueLocalpart("m")}:${HOSTS.a.serverName}`;
    const roomId = await joinAlias(a, alice, alias);
    await joinAlias(a, carol, alias);
    await waitForJoins(store, roomId, [alice, carol]);
    const { asToken, userId } = appservice.transcriber;
    const configPath = await writeWorkerConfig(dir, { livekit: testbed.livekit.a, homeserver: a, whisper: testbed.whisper.a, asToken, userId, maxJobs: 1 });
    const worker = spawnWorker(testbed, HOSTS.a.namespace, configPath, `bridge-${name}-${uniqueLocalpart("w")}`);
    started.push(worker);
    await worker.waitFor("registered", (r) => r.event === "registered", 60_000);
    return { alice, carol, roomId, room: `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`, worker };
  };

  it("the appservice killed with SIGKILL mid-call and started again: every record, notice and transcript line once", async () => {
    const { a } = testbed.ministries;
    let appservice: AppserviceProcess = await startAppservice("a");
    const db = await openDatabase(appservice.config.database);
    const store = createStore(db);
    const calls = createCallStore(db);
    const bot = `@${appservice.config.appservice.sender_localpart}:${a.serverName}`;
    try {
      const { alice, carol, roomId, room, worker } = await meetingWithWorker(appservice, store, "faults");
      const sentences = MEETING_SENTENCES.slice(0, 4);
      const speech = await synthesizeRecording(await mkdtemp(join(dir, "speech-")), sentences);

      // Carol listens throughout; alice starts the transcription from the chat, as users do.
      const carolToken = await requestFocusToken(appservice.url, roomId, a, carol, SLOT);
      assert.equal(carolToken.status, 200, JSON.stringify(carolToken.body));
      const carolListens = startParticipant(testbed, HOSTS.a.namespace, "listen", String(carolToken.body.url), String(carolToken.body.jwt), 10_000_000);
      started.push(carolListens);
      await carolListens.waitFor("connected");
      await matrixRequest(a.clientUrl, alice.accessToken, "PUT", `${room}/send/m.room.message/faults-start-${Date.now()}`, { msgtype: "m.text", body: "!transcribe start en" });
      await waitUntil(
        "the transcription state active",
        async () => (await matrixRequest<{ active?: boolean }>(a.clientUrl, alice.accessToken, "GET", `${room}/state/${TRANSCRIPTION_STATE_EVENT}/`).catch(() => null))?.active === true,
        { timeoutMs: 30_000 },
      );
      const aliceToken = await requestFocusToken(appservice.url, roomId, a, alice, SLOT);
      assert.equal(aliceToken.status, 200, JSON.stringify(aliceToken.body));
      const speaker = followJsonLines(
        testbed.spawnInNamespace(HOSTS.a.namespace, process.execPath, [SPEAKER, String(aliceToken.body.url), String(aliceToken.body.jwt), speech.wavPath], {
          logName: `speaker-faults-${uniqueLocalpart("s")}`,
          cwd: REPO_ROOT,
        }),
      );
      started.push(speaker);
      await worker.waitFor("the worker hears alice", (r) => r.event === "subscribed", 60_000);
      await speaker.waitFor("playing", (r) => r.event === "playing", 30_000);

      // Mid-sentence: no goodbye, no flush. Down for a few seconds, then started again on its database.
      await new Promise((resolve) => setTimeout(resolve, 4000));
      process.kill(-appservice.process.pid, "SIGKILL");
      await appservice.process.exited;
      await new Promise((resolve) => setTimeout(resolve, 3000));
      appservice = await startAppservice("a");

      await speaker.waitFor("done", (r) => r.event === "done", 120_000);
      await matrixRequest(a.clientUrl, alice.accessToken, "PUT", `${room}/send/m.room.message/faults-stop-${Date.now()}`, { msgtype: "m.text", body: "!transcribe stop" });
      let thread: Awaited<ReturnType<typeof readTranscriptThread>>;
      await waitUntil(
        "the transcript files at stop",
        async () => {
          thread = await readTranscriptThread(a.clientUrl, alice.accessToken, roomId);
          return (thread?.files ?? []).length >= 2;
        },
        { timeoutMs: 90_000, intervalMs: 1000 },
      );
      await carolListens.process.stop();
      await waitUntil("the call ended", async () => (await calls.activeCall(roomId)) === null, { timeoutMs: 60_000, intervalMs: 500 });
      // Late redeliveries (homeserver transactions, LiveKit webhooks) have had their chance.
      await new Promise((resolve) => setTimeout(resolve, 3000));

      const finals = (thread?.messages ?? []).filter((m) => m.fields?.final === true);
      assert.equal(new Set(finals.map((m) => m.body)).size, finals.length, `no line twice: ${finals.map((m) => m.body).join(" | ")}`);
      const wer = wordErrorRate(sentences.join(" "), finals.map(spokenText).join(" ")).wer;
      assert.ok(wer <= 0.15, `every sentence in the thread (WER ${wer.toFixed(3)}): ${finals.map((m) => m.body).join(" | ")}`);
      assert.deepEqual(
        (thread?.files ?? []).map((f) => String(f.content.body).split(".").at(-1)).sort(),
        ["md", "vtt"],
        "one WebVTT and one Markdown file",
      );

      const timeline = (await matrixRequest<{ chunk: RoomEvent[] }>(a.clientUrl, alice.accessToken, "GET", `${room}/messages?dir=f&limit=500`)).chunk;
      const fromBot = timeline.filter((e) => e.sender === bot && e.type === "m.room.message");
      const callNotices = fromBot.map((e) => (e.content["org.visio.call"] as { state?: string } | undefined)?.state).filter((s) => s !== undefined);
      assert.deepEqual(callNotices, ["started", "ended"], "one call, started once and ended once");
      const transcriptionNotices = fromBot.filter((e) => e.content["org.visio.transcript.session"] !== undefined || e.content[TRANSCRIPTION_STATE_EVENT] !== undefined);
      assert.equal(transcriptionNotices.length, 2, `"started" and "stopped" once each: ${transcriptionNotices.map((e) => String(e.content.body)).join(" | ")}`);

      const records = await db("calls").where({ room_id: roomId });
      assert.equal(records.length, 1, "one call record");
      const [call] = records as { id: string; ended_at: unknown; participant_count: unknown }[];
      assert.ok(call?.ended_at !== null, "the record is closed");
      const presences = await calls.presences(String(call?.id));
      assert.ok(presences.every((p) => p.leftAt !== null), "every presence closed");
      assert.deepEqual([...new Set(presences.filter((p) => p.source === "livekit").map((p) => p.userId))].sort(), [alice.userId, carol.userId].sort());
    } finally {
      await store.close();
    }
  });

  it("LiveKit killed with SIGKILL mid-call and started again: the callers who come back are transcribed again, one call, no presence left open", async () => {
    const { a } = testbed.ministries;
    const appservice = await startAppservice("a");
    const db = await openDatabase(appservice.config.database);
    const store = createStore(db);
    const calls = createCallStore(db);
    try {
      const { alice, carol, roomId, room, worker } = await meetingWithWorker(appservice, store, "lk-restart");
      const [before, afterwards] = await Promise.all([
        synthesizeRecording(await mkdtemp(join(dir, "before-")), MEETING_SENTENCES.slice(0, 2)),
        synthesizeRecording(await mkdtemp(join(dir, "after-")), MEETING_SENTENCES.slice(2, 4)),
      ]);

      // Both are in the call as clients are: a membership (kept across the restart) and a LiveKit connection.
      for (const user of [alice, carol]) await publishCallMembership(a, user, roomId);
      const listen = async () => {
        const token = await requestFocusToken(appservice.url, roomId, a, carol, SLOT);
        assert.equal(token.status, 200, JSON.stringify(token.body));
        const listener = startParticipant(testbed, HOSTS.a.namespace, "listen", String(token.body.url), String(token.body.jwt), 10_000_000);
        started.push(listener);
        await listener.waitFor("connected");
        return listener;
      };
      const speak = async (wavPath: string, name: string) => {
        const token = await requestFocusToken(appservice.url, roomId, a, alice, SLOT);
        assert.equal(token.status, 200, JSON.stringify(token.body));
        const speaker = followJsonLines(
          testbed.spawnInNamespace(HOSTS.a.namespace, process.execPath, [SPEAKER, String(token.body.url), String(token.body.jwt), wavPath], { logName: `speaker-${name}-${uniqueLocalpart("s")}`, cwd: REPO_ROOT }),
        );
        started.push(speaker);
        return speaker;
      };
      const subscriptions = async (): Promise<number> => (await worker.reports()).filter((r) => r.event === "subscribed").length;
      const finals = async () => ((await readTranscriptThread(a.clientUrl, alice.accessToken, roomId))?.messages ?? []).filter((m) => m.fields?.final === true);

      const carolBefore = await listen();
      await matrixRequest(a.clientUrl, alice.accessToken, "PUT", `${room}/send/m.room.message/lk-start-${Date.now()}`, { msgtype: "m.text", body: "!transcribe start en" });
      const first = await speak(before.wavPath, "before");
      await waitUntil("the worker hears alice", async () => (await subscriptions()) >= 1, { timeoutMs: 60_000 });
      await first.waitFor("done", (r) => r.event === "done", 120_000);
      await waitUntil("the first two sentences in the thread", async () => (await finals()).length >= 2, { timeoutMs: 30_000 });
      const call = await calls.activeCall(roomId);
      assert.ok(call);

      process.kill(-testbed.livekit.a.process.pid, "SIGKILL");
      await testbed.livekit.a.process.exited;
      testbed.livekit.a = await testbed.livekit.a.restart();
      await carolBefore.process.stop();
      // The focus trusts a LiveKit room it saw for 5 s: after that it creates it again.
      await new Promise((resolve) => setTimeout(resolve, 6000));

      // Carol's client connects again; the room started again ends what LiveKit lost, and the
      // call's first LiveKit participant gets a transcriber, as at a call's start.
      await listen();
      await waitUntil("the worker in the call again", async () => (await worker.reports()).filter((r) => r.event === "connected").length >= 2, { timeoutMs: 60_000 });
      const again = await speak(afterwards.wavPath, "after");
      await waitUntil("the worker hears alice again", async () => (await subscriptions()) >= 2, { timeoutMs: 60_000 });
      await again.waitFor("done", (r) => r.event === "done", 120_000);
      await waitUntil("the last two sentences in the thread", async () => (await finals()).length >= 4, { timeoutMs: 30_000 });

      const lines = await finals();
      assert.equal(new Set(lines.map((m) => m.body)).size, lines.length, `no line twice: ${lines.map((m) => m.body).join(" | ")}`);
      const wer = wordErrorRate(MEETING_SENTENCES.slice(0, 4).join(" "), lines.map(spokenText).join(" ")).wer;
      assert.ok(wer <= 0.15, `every sentence, before and after the restart (WER ${wer.toFixed(3)}): ${lines.map((m) => m.body).join(" | ")}`);
      assert.equal((await calls.activeCall(roomId))?.id, call.id, "one call throughout: the memberships never ended");
      const open = (await calls.openPresences(call.id)).filter((p) => p.source === "livekit");
      assert.deepEqual(open.map((p) => p.userId), [carol.userId], "only carol's new connection is open: the lost ones were closed, alice's second left");
    } finally {
      await store.close();
    }
  });
});
