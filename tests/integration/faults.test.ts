// Faults during a transcribed call (real Synapse A, LiveKit A with webhooks, appservice A, A's worker
// and Whisper server): the appservice, the worker, then LiveKit, killed with SIGKILL mid-call and
// started again; the other ministry's homeserver (Synapse B) away for a minute.
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
import { TRANSCRIPTION_STATE_EVENT, type RoomEvent } from "../../config/wire-types.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import { getTestbed, uniqueLocalpart, type RegisteredUser, type Testbed } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { MEETING_SENTENCES, synthesizeRecording } from "../harness/speech/festival-speech.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { followJsonLines, type JsonLineProcess } from "../harness/json-line-process.ts";
import { createMeeting, joinAlias, openIdToken, publishCallMembership, requestFocusToken, waitForJoins } from "../harness/matrix-users.ts";
import { startParticipant, type Participant } from "../support/participants.ts";
import { readTranscriptThread, spokenText } from "../harness/transcript-thread.ts";
import { downloadMedia, spawnWorker, writeWorkerConfig } from "../support/transcription-worker.ts";

const SLOT = "m.call#ROOM";
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SPEAKER = join(REPO_ROOT, "tests/harness/rtc-speaker.ts");

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
    const { roomId, alias } = await createMeeting(appservice, a, alice, `Panne ${name}`);
    await joinAlias(a, carol, alias);
    await waitForJoins(store, roomId, [alice, carol]);
    const { asToken, userId } = appservice.transcriber;
    const configPath = await writeWorkerConfig(dir, { livekit: testbed.livekit.a, homeserver: a, whisper: testbed.whisper.a, asToken, userId, maxJobs: 1 });
    const startWorker = (label: string): JsonLineProcess => {
      const worker = spawnWorker(testbed, HOSTS.a.namespace, configPath, `bridge-${name}-${label}-${uniqueLocalpart("w")}`);
      started.push(worker);
      return worker;
    };
    const worker = startWorker("first");
    await worker.waitFor("registered", (r) => r.event === "registered", 60_000);
    return { alice, carol, alias, roomId, room: `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`, worker, startWorker };
  };

  /** A listener's LiveKit connection to the call, through the focus, as a client makes it. */
  const listenIn = async (appservice: AppserviceProcess, roomId: string, user: RegisteredUser): Promise<Participant> => {
    const token = await requestFocusToken(appservice.url, roomId, testbed.ministries.a, user, SLOT);
    assert.equal(token.status, 200, JSON.stringify(token.body));
    const listener = startParticipant(testbed, HOSTS.a.namespace, "listen", String(token.body.url), String(token.body.jwt), 10_000_000);
    started.push(listener);
    await listener.waitFor("connected");
    return listener;
  };
  /** A caller who plays a recording into the call, through the focus. */
  const speakIn = async (appservice: AppserviceProcess, roomId: string, user: RegisteredUser, wavPath: string, name: string): Promise<JsonLineProcess> => {
    const token = await requestFocusToken(appservice.url, roomId, testbed.ministries.a, user, SLOT);
    assert.equal(token.status, 200, JSON.stringify(token.body));
    const speaker = followJsonLines(
      testbed.spawnInNamespace(HOSTS.a.namespace, process.execPath, [SPEAKER, String(token.body.url), String(token.body.jwt), wavPath], { logName: `speaker-${name}-${uniqueLocalpart("s")}`, cwd: REPO_ROOT }),
    );
    started.push(speaker);
    return speaker;
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

  it("the worker killed with SIGKILL mid-call and started again: the call is transcribed again, every line once, the files whole", async () => {
    const { a } = testbed.ministries;
    const appservice = await startAppservice("a");
    const db = await openDatabase(appservice.config.database);
    const store = createStore(db);
    try {
      const { alice, carol, roomId, room, worker, startWorker } = await meetingWithWorker(appservice, store, "worker-kill");
      const sentences = MEETING_SENTENCES.slice(0, 4);
      const [before, afterwards] = await Promise.all([
        synthesizeRecording(await mkdtemp(join(dir, "before-")), sentences.slice(0, 2)),
        synthesizeRecording(await mkdtemp(join(dir, "after-")), sentences.slice(2, 4)),
      ]);
      const finals = async () => ((await readTranscriptThread(a.clientUrl, alice.accessToken, roomId))?.messages ?? []).filter((m) => m.fields?.final === true);

      await listenIn(appservice, roomId, carol);
      await matrixRequest(a.clientUrl, alice.accessToken, "PUT", `${room}/send/m.room.message/wk-start-${Date.now()}`, { msgtype: "m.text", body: "!transcribe start en" });
      const first = await speakIn(appservice, roomId, alice, before.wavPath, "before");
      await worker.waitFor("the worker hears alice", (r) => r.event === "subscribed", 60_000);
      await first.waitFor("done", (r) => r.event === "done", 120_000);
      await waitUntil("the first two sentences in the thread", async () => (await finals()).length >= 2, { timeoutMs: 30_000 });

      // No goodbye: LiveKit sees the bridge's participant go, the appservice dispatches again, and the
      // worker started again (as the demo and the compose file restart it) takes the job.
      process.kill(-worker.process.pid, "SIGKILL");
      await worker.process.exited;
      const replacement = startWorker("again");
      await replacement.waitFor("the new worker in the call", (r) => r.event === "connected", 90_000);
      const again = await speakIn(appservice, roomId, alice, afterwards.wavPath, "after");
      await replacement.waitFor("the new worker hears alice", (r) => r.event === "subscribed", 60_000);
      await again.waitFor("done", (r) => r.event === "done", 120_000);
      await waitUntil("the last two sentences in the thread", async () => (await finals()).length >= 4, { timeoutMs: 30_000 });

      await matrixRequest(a.clientUrl, alice.accessToken, "PUT", `${room}/send/m.room.message/wk-stop-${Date.now()}`, { msgtype: "m.text", body: "!transcribe stop" });
      let thread: Awaited<ReturnType<typeof readTranscriptThread>>;
      await waitUntil(
        "the transcript files at stop",
        async () => {
          thread = await readTranscriptThread(a.clientUrl, alice.accessToken, roomId);
          return (thread?.files ?? []).length >= 2;
        },
        { timeoutMs: 90_000, intervalMs: 1000 },
      );
      const lines = (thread?.messages ?? []).filter((m) => m.fields?.final === true);
      assert.equal(new Set(lines.map((m) => m.body)).size, lines.length, `no line twice: ${lines.map((m) => m.body).join(" | ")}`);
      const wer = wordErrorRate(sentences.join(" "), lines.map(spokenText).join(" ")).wer;
      assert.ok(wer <= 0.15, `every sentence, before and after the kill (WER ${wer.toFixed(3)}): ${lines.map((m) => m.body).join(" | ")}`);
      assert.equal((thread?.files ?? []).length, 2, "one WebVTT and one Markdown file");
      const markdown = (thread?.files ?? []).find((f) => String(f.content.body).endsWith(".md"));
      assert.ok(markdown !== undefined, "a Markdown file");
      // The Markdown escapes what would format (a backslash before it): the words are the same.
      const text = (await downloadMedia(a, alice.accessToken, String(markdown.content.url))).text.replaceAll("\\", "");
      for (const line of lines) assert.ok(text.includes(spokenText(line)), `the file has "${spokenText(line)}", spoken before or after the kill:\n${text}`);
      // One transcriber at a time: the killed worker's job was not handed to a second one as well.
      assert.equal((await replacement.reports()).filter((r) => r.event === "job-started").length, 1, "the new worker took one job");
    } finally {
      await store.close();
    }
  });

  it("Synapse B away for 60 s during a call of A with a caller of B: A's call goes on, B's caller is told to try again, then B gets every line once", async () => {
    const { a, b } = testbed.ministries;
    const [appservice, appserviceB] = await Promise.all([startAppservice("a"), startAppservice("b")]);
    const db = await openDatabase(appservice.config.database);
    const store = createStore(db);
    const calls = createCallStore(db);
    const botA = `@${appservice.config.appservice.sender_localpart}:${a.serverName}`;
    const botB = `@${appserviceB.config.appservice.sender_localpart}:${b.serverName}`;
    try {
      const { alice, carol, alias, roomId, room } = await meetingWithWorker(appservice, store, "b-down");
      const bob = await b.registerUser(uniqueLocalpart("bob"));
      await joinAlias(b, bob, alias);
      await waitForJoins(store, roomId, [bob]);
      const sentences = MEETING_SENTENCES.slice(0, 4);
      const [before, during] = await Promise.all([
        synthesizeRecording(await mkdtemp(join(dir, "before-")), sentences.slice(0, 2)),
        synthesizeRecording(await mkdtemp(join(dir, "during-")), sentences.slice(2, 4)),
      ]);
      const finals = async (server: typeof a, user: RegisteredUser) =>
        ((await readTranscriptThread(server.clientUrl, user.accessToken, roomId))?.messages ?? []).filter((m) => m.fields?.final === true);

      // Carol (A) and Bob (B, through A's focus) listen; alice speaks.
      await listenIn(appservice, roomId, carol);
      const bobToken = await requestFocusToken(appservice.url, roomId, b, bob, SLOT);
      assert.equal(bobToken.status, 200, JSON.stringify(bobToken.body));
      const bobListens = startParticipant(testbed, HOSTS.b.namespace, "listen", String(bobToken.body.url), String(bobToken.body.jwt), 10_000_000);
      started.push(bobListens);
      await bobListens.waitFor("connected");
      await matrixRequest(a.clientUrl, alice.accessToken, "PUT", `${room}/send/m.room.message/bd-start-${Date.now()}`, { msgtype: "m.text", body: "!transcribe start en" });
      const first = await speakIn(appservice, roomId, alice, before.wavPath, "before");
      await first.waitFor("done", (r) => r.event === "done", 120_000);
      await waitUntil("the first two sentences in the thread", async () => (await finals(a, alice)).length >= 2, { timeoutMs: 60_000 });
      await waitUntil("B has them too", async () => (await finals(b, bob)).length >= 2, { timeoutMs: 30_000 });
      // Asked for before B goes, used while it is away: a token the focus has not checked yet.
      const unchecked = await openIdToken(b, bob);

      process.kill(-b.process.pid, "SIGKILL");
      await b.process.exited;
      const awayAt = Date.now();
      // A's meeting goes on: alice speaks, A's thread gets it; bob, connected to A's SFU, still listens.
      const second = await speakIn(appservice, roomId, alice, during.wavPath, "during");
      await second.waitFor("done", (r) => r.event === "done", 120_000);
      await waitUntil("the last two sentences in A's thread", async () => (await finals(a, alice)).length >= 4, { timeoutMs: 60_000 });
      // A caller of B asking A's focus now: B cannot vouch for the token, so "try again later", not "bad token".
      const whileAway = await requestFocusToken(appservice.url, roomId, b, bob, SLOT, unchecked);
      assert.equal(whileAway.status, 503, JSON.stringify(whileAway.body));
      assert.equal(whileAway.body.errcode, "M_UNAVAILABLE");
      // Bob's connection to A's SFU outlived his homeserver: he got the track alice published meanwhile.
      await waitUntil("bob hears alice's second track", async () => (await bobListens.reports()).filter((r) => r.event === "subscribed").length >= 2, { timeoutMs: 30_000 });
      assert.ok(!(await bobListens.reports()).some((r) => r.event === "disconnected"), "bob stayed connected");
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 60_000 - (Date.now() - awayAt))));

      testbed.ministries.b = await b.restart();
      const bAgain = testbed.ministries.b;
      // The same token, asked again: the focus did not remember B's absence as a refusal.
      const afterwards = await requestFocusToken(appservice.url, roomId, bAgain, bob, SLOT, unchecked);
      assert.equal(afterwards.status, 200, JSON.stringify(afterwards.body));
      await matrixRequest(a.clientUrl, alice.accessToken, "PUT", `${room}/send/m.room.message/bd-stop-${Date.now()}`, { msgtype: "m.text", body: "!transcribe stop" });
      await waitUntil("A's transcript files at stop", async () => ((await readTranscriptThread(a.clientUrl, alice.accessToken, roomId))?.files ?? []).length >= 2, {
        timeoutMs: 90_000,
        intervalMs: 1000,
      });

      // What B missed comes over federation: the same events as A's, none lost, none twice.
      const botEvents = async (server: typeof a, user: RegisteredUser): Promise<RoomEvent[]> =>
        (await matrixRequest<{ chunk: RoomEvent[] }>(server.clientUrl, user.accessToken, "GET", `${room}/messages?dir=f&limit=1000`)).chunk.filter(
          (e) => e.type === "m.room.message" && e.sender !== alice.userId,
        );
      let atA: RoomEvent[] = [];
      let atB: RoomEvent[] = [];
      const ids = (events: RoomEvent[]) => events.map((e) => e.event_id).join(" ");
      await waitUntil(
        "B caught up with A's timeline",
        async () => {
          [atA, atB] = await Promise.all([botEvents(a, alice), botEvents(bAgain, bob)]);
          return ids(atA) === ids(atB);
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      ).catch((err: Error) => {
        throw new Error(`${err.message}: A has ${atA.length} messages from the bots, B ${atB.length}`);
      });
      // B shows A's messages, in A's order, each once.
      assert.equal(new Set(atB.map((e) => e.event_id)).size, atB.length);
      const linesAtB = await finals(bAgain, bob);
      assert.equal(linesAtB.length, (await finals(a, alice)).length);
      assert.equal(new Set(linesAtB.map((m) => m.body)).size, linesAtB.length, `no line twice: ${linesAtB.map((m) => m.body).join(" | ")}`);
      const wer = wordErrorRate(sentences.join(" "), linesAtB.map(spokenText).join(" ")).wer;
      assert.ok(wer <= 0.15, `every sentence at B, spoken before and while it was away (WER ${wer.toFixed(3)}): ${linesAtB.map((m) => m.body).join(" | ")}`);
      assert.ok(atB.every((e) => e.sender !== botB), "B's appservice posted nothing in A's meeting");
      assert.ok(atA.some((e) => e.sender === botA));
      assert.equal((await db("calls").where({ room_id: roomId })).length, 1, "one call record");
      assert.ok((await calls.activeCall(roomId)) !== null, "the call goes on");
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
      const listen = () => listenIn(appservice, roomId, carol);
      const speak = (wavPath: string, name: string) => speakIn(appservice, roomId, alice, wavPath, name);
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
