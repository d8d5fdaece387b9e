// The transcription bridge as LiveKit agent workers, against the real servers: two worker processes in
// ministry A's namespace register with A's LiveKit under the transcriber's agent name; the test plays
// the appservice (posts the "Transcription started" root as its bot, creates the agent dispatch with
// the job metadata, sends the stop message through LiveKit's server API). Callers join with tokens from
// the real focus service, so the speakers' Matrix user IDs reach the bridge as participant attributes.
// Each worker takes one call at a time here (max_jobs 1), which makes LiveKit spread the two calls over
// the two processes and lets the restart case know which process to kill.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ParticipantInfo_Kind } from "@livekit/protocol";
import { RoomServiceClient } from "livekit-server-sdk";
import type { TranscriptionJobMetadata } from "../../config/wire-types.ts";
import { liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { openDatabase } from "../../appservice/src/storage/database.ts";
import { createStore, type Store } from "../../appservice/src/storage/store.ts";
import { parseWebVtt } from "../../bridge/src/transcript/webvtt.ts";
import { wordErrorRate } from "../../bridge/src/transcript/word-error-rate.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, SynapseServer, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { MEETING_SENTENCES, synthesizeRecording, type SpeechRecording } from "../harness/speech/festival-speech.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { followJsonLines, type JsonLineProcess, type JsonReport } from "../harness/json-line-process.ts";
import { createMeeting, joinAlias, requestFocusToken, waitForJoins } from "../harness/matrix-users.ts";
import { readTranscriptThread, spokenText, type ThreadMessage } from "../harness/transcript-thread.ts";
import { dispatchTranscription, downloadMedia, postThreadRoot, sendStop, spawnWorker, writeWorkerConfig } from "../support/transcription-worker.ts";

const SLOT = "m.call#ROOM";
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SPEAKER = join(REPO_ROOT, "tests/harness/rtc-speaker.ts");
const RECEIVER = join(REPO_ROOT, "tests/harness/rtc-subtitle-receiver.ts");
const SESSION = { language: "en", engine: "openai" };

// Two speakers in turn in the first call, one longer speech in the second (the restart case).
const ALICE_SENTENCES = MEETING_SENTENCES.slice(0, 2);
const CAROL_SENTENCES = MEETING_SENTENCES.slice(2, 4);
const DAVE_SENTENCES = [...MEETING_SENTENCES];
// The live path's bound (48 kHz Opus through LiveKit, resampled to 16 kHz), as measured in README.md
// ("Transcription bridge"); per speaker, so a swapped attribution fails it.
const MAX_WER = 0.2;
// How far a cue's start and end may lie from its sentence's audio, as sent by the speaker: the path
// through LiveKit delays audio by a few hundred milliseconds, the VAD's pre-roll and end detection move
// the edges a little (measured: starts 0.2-0.3 s late, ends within 0.15 s).
const CUE_START_TOLERANCE_MS = 600;
const CUE_END_TOLERANCE_MS = 800;


describe("transcription workers: LiveKit agent dispatch, Matrix thread and files (real LiveKit, Synapse A and B, Whisper)", function () {
  this.timeout(180_000);
  let testbed: Testbed;
  let appservice: AppserviceProcess;
  let store: Store;
  let dir: string;
  let botToken: string;
  let workerToken: string;
  let bridgeUserId: string;
  let alice: RegisteredUser;
  let carol: RegisteredUser;
  let bob: RegisteredUser;
  let dave: RegisteredUser;
  let call: { roomId: string; room: string; jwt: Record<"alice" | "carol" | "bob", string> };
  let call2: { roomId: string; room: string; jwt: string };
  let call3: { roomId: string; room: string; jwt: string };
  let speech: Record<"alice" | "carol" | "dave", SpeechRecording>;
  let configPath: string;
  const workers: JsonLineProcess[] = [];
  const started: JsonLineProcess[] = [];
  let meta1: TranscriptionJobMetadata;
  let meta2: TranscriptionJobMetadata;

  const spawn = (namespace: string, logName: string, args: string[]): JsonLineProcess => {
    const follower = followJsonLines(testbed.spawnInNamespace(namespace, process.execPath, args, { logName, cwd: REPO_ROOT }));
    started.push(follower);
    return follower;
  };
  const startWorker = async (name: string): Promise<JsonLineProcess> => {
    const worker = spawnWorker(testbed, HOSTS.a.namespace, configPath, `bridge-${name}-${uniqueLocalpart("w")}`);
    workers.push(worker);
    await worker.waitFor("registered with LiveKit", (r) => r.event === "registered", 60_000);
    return worker;
  };
  const tokenFor = async (roomId: string, server: SynapseServer, user: RegisteredUser): Promise<string> => {
    const res = await requestFocusToken(appservice.url, roomId, server, user, SLOT);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return String(res.body.jwt);
  };
  /** The worker running the job for this LiveKit room, once one reports it. */
  const workerOf = async (room: string, candidates: readonly JsonLineProcess[], after = 0): Promise<{ worker: JsonLineProcess; job: string }> => {
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
  };
  const jobReports = async (worker: JsonLineProcess, job: string): Promise<JsonReport[]> => (await worker.reports()).filter((r) => r.job === job);
  const displayName = async (server: SynapseServer, user: RegisteredUser): Promise<string> =>
    (await matrixRequest<{ displayname: string }>(server.clientUrl, user.accessToken, "GET", `/_matrix/client/v3/profile/${encodeURIComponent(user.userId)}`)).displayname;
  /** Plays a recording into the call; resolves with the epoch time its audio started and its track. */
  const say = async (jwt: string, recording: SpeechRecording, name: string): Promise<{ startedAt: number; trackSid: string; speaker: JsonLineProcess }> => {
    const speaker = spawn(HOSTS.a.namespace, `speaker-${name}-${uniqueLocalpart("s")}`, [SPEAKER, testbed.livekit.a.url, jwt, recording.wavPath]);
    const published = await speaker.waitFor("published", (r) => r.event === "published", 30_000);
    const playing = await speaker.waitFor("playing", (r) => r.event === "playing", 30_000);
    return { startedAt: Number(playing.startedAt), trackSid: String(published.trackSid), speaker };
  };

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    dir = await mkdtemp(join(tmpdir(), "visio-bridge-worker-"));
    const recordings = Promise.all(
      (["alice", "carol", "dave"] as const).map(async (who) => {
        const sub = join(dir, who);
        await mkdir(sub);
        const sentences = who === "alice" ? ALICE_SENTENCES : who === "carol" ? CAROL_SENTENCES : DAVE_SENTENCES;
        return synthesizeRecording(sub, sentences, who === "dave" ? { gapMs: 2000 } : {});
      }),
    );
    appservice = await startAppservice("a");
    store = createStore(await openDatabase(appservice.config.database));
    botToken = appservice.config.appservice.as_token;
    ({ asToken: workerToken, userId: bridgeUserId } = appservice.transcriber);
    const { a, b } = testbed.ministries;
    [alice, carol, dave, bob] = await Promise.all([
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
    call = {
      roomId,
      room: liveKitRoomAlias(roomId, SLOT),
      jwt: { alice: await tokenFor(roomId, a, alice), carol: await tokenFor(roomId, a, carol), bob: await tokenFor(roomId, b, bob) },
    };
    call2 = { roomId: roomId2, room: liveKitRoomAlias(roomId2, SLOT), jwt: await tokenFor(roomId2, a, dave) };
    call3 = { roomId: roomId3, room: liveKitRoomAlias(roomId3, SLOT), jwt: await tokenFor(roomId3, a, dave) };
    configPath = await writeWorkerConfig(dir, { livekit: testbed.livekit.a, homeserver: a, whisper: testbed.whisper.a, asToken: workerToken, userId: bridgeUserId, maxJobs: 1 });
    await Promise.all([startWorker("worker-1"), startWorker("worker-2")]);
    const [aliceSpeech, carolSpeech, daveSpeech] = await recordings;
    if (aliceSpeech === undefined || carolSpeech === undefined || daveSpeech === undefined) throw new Error("speech missing");
    speech = { alice: aliceSpeech, carol: carolSpeech, dave: daveSpeech };
  });

  after(async () => {
    await Promise.all([...started, ...workers].map((p) => p.process.stop()));
    await store?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("two worker processes take one dispatched call each and join as hidden agents that publish nothing", async function () {
    const { a } = testbed.ministries;
    meta1 = await postThreadRoot(a, botToken, call.roomId, SESSION);
    meta2 = await postThreadRoot(a, botToken, call2.roomId, SESSION);
    await dispatchTranscription(testbed.livekit.a, call.room, meta1);
    await dispatchTranscription(testbed.livekit.a, call2.room, meta2);
    const [first, second] = await Promise.all([workerOf(call.room, workers), workerOf(call2.room, workers)]);
    assert.notEqual(first.worker, second.worker, "LiveKit gave the second call to the other worker");
    await first.worker.waitFor("joined the first call", (r) => r.event === "connected" && r.job === first.job, 30_000);
    await second.worker.waitFor("joined the second call", (r) => r.event === "connected" && r.job === second.job, 30_000);

    const rooms = new RoomServiceClient(testbed.livekit.a.controlUrl, testbed.livekit.a.apiKey, testbed.livekit.a.apiSecret);
    const agent = (await rooms.listParticipants(call.room)).find((p) => p.identity === `visio-transcriber-${first.job}`);
    assert.ok(agent !== undefined, "LiveKit lists the job's participant");
    assert.equal(agent.kind, ParticipantInfo_Kind.AGENT);
    assert.equal(agent.permission?.hidden, true, "hidden: no tile, not in callers' participant lists");
    assert.equal(agent.permission?.canPublish, false, "it publishes no media");
    assert.equal(agent.tracks.length, 0);
  });

  it("subtitles reach a caller of B; the thread attributes each utterance to its speaker's Matrix user, two speakers in turn", async function () {
    const { a } = testbed.ministries;
    const { worker, job } = await workerOf(call.room, workers);
    const receiver = spawn(HOSTS.b.namespace, `subtitle-receiver-${uniqueLocalpart("r")}`, [RECEIVER, testbed.livekit.a.url, call.jwt.bob]);
    const receiverConnected = await receiver.waitFor("connected", (r) => r.event === "connected", 30_000);

    const aliceSaid = await say(call.jwt.alice, speech.alice, "alice");
    await worker.waitFor("subscribed to Alice", (r) => r.event === "subscribed" && r.trackSid === aliceSaid.trackSid, 30_000);
    await aliceSaid.speaker.waitFor("done", (r) => r.event === "done", speech.alice.durationMs + 30_000);
    const carolSaid = await say(call.jwt.carol, speech.carol, "carol");
    await carolSaid.speaker.waitFor("done", (r) => r.event === "done", speech.carol.durationMs + 30_000);
    for (const said of [aliceSaid, carolSaid]) {
      await worker.waitFor("closed the speaker's pipeline", (r) => r.event === "track-closed" && r.trackSid === said.trackSid, 30_000);
    }
    const subscribed = (await jobReports(worker, job)).filter((r) => r.event === "subscribed");
    assert.deepEqual(
      subscribed.map((r) => [r.trackSid, r.speaker]),
      [
        [aliceSaid.trackSid, alice.userId],
        [carolSaid.trackSid, carol.userId],
      ],
      "each track's speaker is the Matrix user from the focus token's attribute",
    );
    const sentFinals = (await jobReports(worker, job)).filter((r) => r.event === "subtitle" && r.final === true);
    await waitUntil("every final is posted", async () => (await jobReports(worker, job)).filter((r) => r.event === "posted" && r.final === true).length >= sentFinals.length, {
      timeoutMs: 15_000,
      hint: `see ${worker.process.logPath}`,
    });
    const finalsReceived = async (): Promise<JsonReport[]> =>
      (await receiver.reports()).filter((r) => r.event === "transcription" && (r.attributes as Record<string, string>)["lk.transcription_final"] === "true");
    await waitUntil("B's caller got every final subtitle", async () => (await finalsReceived()).length >= sentFinals.length, { timeoutMs: 15_000, hint: `see ${receiver.process.logPath}` });

    // Subtitles: from the hidden bridge, naming the speaker's track.
    const received = await finalsReceived();
    assert.ok(received.length >= 2);
    for (const t of received) {
      const attributes = t.attributes as Record<string, string>;
      assert.ok(t.from === "" || String(t.from).startsWith("visio-transcriber-"), `subtitles come from the hidden bridge, not "${String(t.from)}"`);
      assert.ok([aliceSaid.trackSid, carolSaid.trackSid].includes(attributes["lk.transcribed_track_id"] ?? ""));
    }
    assert.deepEqual(receiverConnected.participants, [], "the bridge was not visible to B's caller at join");
    const seen = (await receiver.reports()).filter((r) => r.event === "participant").map((r) => String(r.identity));
    assert.ok(!seen.some((identity) => identity.startsWith("visio-transcriber")), `B's caller never saw the bridge (saw ${seen.join(", ")})`);

    // The thread: one final message per utterance, from the bridge's user, attributed by Matrix user.
    const thread = await readTranscriptThread(a.clientUrl, alice.accessToken, call.roomId, meta1.thread_root);
    assert.ok(thread !== undefined, "the thread root is there");
    const { messages } = thread;
    assert.equal(messages.length, sentFinals.length, "one thread message per utterance");
    const names = { [alice.userId]: await displayName(a, alice), [carol.userId]: await displayName(a, carol) };
    let lastEnd = 0;
    for (const message of messages) {
      const fields = message.fields;
      assert.ok(fields !== undefined, `${message.eventId} has org.visio.transcript fields`);
      assert.equal(message.sender, bridgeUserId, "posted by the bridge's appservice user");
      assert.equal(fields.final, true);
      assert.ok([alice.userId, carol.userId].includes(fields.speaker), `speaker ${fields.speaker} is a Matrix user of the call`);
      assert.equal(fields.speaker_name, names[fields.speaker], "named by the display name in the room");
      assert.deepEqual([fields.language, fields.engine], ["en", "openai"]);
      assert.ok(fields.start_ms >= lastEnd && fields.end_ms > fields.start_ms, `times increase: ${JSON.stringify(fields)}`);
      lastEnd = fields.end_ms;
    }
    // In turn: all of Alice's utterances, then all of Carol's, each matching what that person said.
    const order = messages.map((m) => m.fields?.speaker);
    const firstCarol = order.indexOf(carol.userId);
    assert.ok(firstCarol > 0 && order.slice(firstCarol).every((s) => s === carol.userId), `Alice, then Carol: ${order.join(", ")}`);
    const wers: string[] = [];
    for (const [user, sentences] of [
      [alice, ALICE_SENTENCES],
      [carol, CAROL_SENTENCES],
    ] as const) {
      const hypothesis = messages.filter((m) => m.fields?.speaker === user.userId).map(spokenText).join(" ");
      const { wer } = wordErrorRate(sentences.join(" "), hypothesis);
      wers.push(wer.toFixed(3));
      assert.ok(wer <= MAX_WER, `${user.userId}: WER ${wer.toFixed(3)} above ${MAX_WER}: "${hypothesis}"`);
    }
    // Latencies (reported, not asserted): end of each sentence's audio as sent → its final subtitle at
    // B's caller, and → its final message posted, where utterances and sentences pair one to one.
    const sentenceEnds = [
      ...speech.alice.sentences.map((s) => aliceSaid.startedAt + s.endMs),
      ...speech.carol.sentences.map((s) => carolSaid.startedAt + s.endMs),
    ];
    const postedAt = (await jobReports(worker, job)).filter((r) => r.event === "posted" && r.final === true).map((r) => Number(r.at));
    const lags = (arrivals: number[]): string =>
      arrivals.length === sentenceEnds.length ? arrivals.map((t, i) => `${t - (sentenceEnds[i] ?? 0)} ms`).join(", ") : "n/a";
    process.stderr.write(
      `      thread WER per speaker (Alice, Carol): ${wers.join(", ")}; ${messages.length} messages; ` +
        `end of sentence → subtitle at B: ${lags(received.map((t) => Number(t.receivedAt)))}; → final message posted: ${lags(postedAt)}\n`,
    );
  });

  it("on the stop message, posts the WebVTT and Markdown files in the thread; the WebVTT parses, cues in order, at the speech's times", async function () {
    const { a } = testbed.ministries;
    const { worker, job } = await workerOf(call.room, workers);
    await sendStop(testbed.livekit.a, call.room);
    const posted = await worker.waitFor("posted the files", (r) => r.event === "files-posted" && r.job === job, 30_000);
    await worker.waitFor("ended the job", (r) => r.event === "job-ended" && r.job === job && r.end === "stopped", 15_000);
    const thread = await readTranscriptThread(a.clientUrl, alice.accessToken, call.roomId, meta1.thread_root);
    assert.ok(thread !== undefined);
    assert.deepEqual(
      thread.files.map((f) => [f.sender, (f.content.info as { mimetype: string }).mimetype, String(f.content.body).split(".").pop()]),
      [
        [bridgeUserId, "text/vtt", "vtt"],
        [bridgeUserId, "text/markdown", "md"],
      ],
    );
    assert.deepEqual(
      thread.files.map((f) => f.content.url),
      (posted.files as { url: string }[]).map((f) => f.url),
    );
    const vtt = await downloadMedia(a, alice.accessToken, String(thread.files[0]?.content.url));
    assert.match(vtt.contentType, /^text\/vtt/);
    const cues = parseWebVtt(vtt.text);
    assert.equal(cues.length, thread.messages.length, "one cue per utterance");
    for (let i = 1; i < cues.length; i++) assert.ok((cues[i]?.startMs ?? 0) >= (cues[i - 1]?.startMs ?? 0), "cue start times never decrease");
    assert.deepEqual(
      cues.map((c) => c.text),
      thread.messages.map(spokenText),
      "the cues say what the thread says",
    );
    // Where each sentence was in transcript time (from started_at), as its speaker sent it.
    const saidAt = (reports: JsonReport[]): number => Number(reports.find((r) => r.event === "playing")?.startedAt);
    const spokenBy = async (prefix: string): Promise<number> => {
      const speaker = started.find((p) => p.process.name.startsWith(`speaker-${prefix}-`));
      assert.ok(speaker !== undefined);
      return saidAt(await speaker.reports()) - meta1.started_at;
    };
    const offsets = { alice: await spokenBy("alice"), carol: await spokenBy("carol") };
    const sent = [
      ...speech.alice.sentences.map((s) => ({ startMs: offsets.alice + s.startMs, endMs: offsets.alice + s.endMs })),
      ...speech.carol.sentences.map((s) => ({ startMs: offsets.carol + s.startMs, endMs: offsets.carol + s.endMs })),
    ];
    const measured = cues.map((c) => `${c.startMs}-${c.endMs}`).join(", ");
    const expected = sent.map((s) => `${s.startMs}-${s.endMs}`).join(", ");
    process.stderr.write(`      cues ${measured}; sentences sent at ${expected}\n`);
    assert.equal(cues.length, sent.length, `one cue per sentence (cues ${measured}; sentences ${expected})`);
    cues.forEach((cue, i) => {
      const sentence = sent[i];
      assert.ok(sentence !== undefined);
      assert.ok(
        Math.abs(cue.startMs - sentence.startMs) <= CUE_START_TOLERANCE_MS && Math.abs(cue.endMs - sentence.endMs) <= CUE_END_TOLERANCE_MS,
        `cue ${i + 1} (${cue.startMs}-${cue.endMs}) lies on its sentence's audio (${sentence.startMs}-${sentence.endMs})`,
      );
    });
    assert.deepEqual(new Set(cues.map((c) => c.voice)), new Set(thread.messages.map((m) => m.fields?.speaker_name)));
    const markdown = await downloadMedia(a, alice.accessToken, String(thread.files[1]?.content.url));
    for (const message of thread.messages) assert.ok(markdown.text.includes(spokenText(message)), `the Markdown has "${spokenText(message)}"`);

    const rooms = new RoomServiceClient(testbed.livekit.a.controlUrl, testbed.livekit.a.apiKey, testbed.livekit.a.apiSecret);
    await waitUntil("the bridge left the call", async () => !(await rooms.listParticipants(call.room)).some((p) => p.identity === `visio-transcriber-${job}`), {
      timeoutMs: 15_000,
    });
  });

  it("a worker killed mid-meeting: after the dispatch is sent again, earlier messages stay as they were, later speech is transcribed, files come when the call ends", async function () {
    const { a } = testbed.ministries;
    const { worker: doomed, job } = await workerOf(call2.room, workers);
    const daveSaid = await say(call2.jwt, speech.dave, "dave");
    await doomed.waitFor("posted a first final", (r) => r.event === "posted" && r.final === true && r.job === job, 30_000);
    process.kill(-doomed.process.pid, "SIGKILL");
    await doomed.process.exited;
    const killedAt = Date.now();
    const before = await readTranscriptThread(a.clientUrl, dave.accessToken, call2.roomId, meta2.thread_root);
    assert.ok(before !== undefined);
    const earlier = before.messages.filter((m) => m.fields?.final === true);
    assert.ok(earlier.length >= 1);
    const restarted = await startWorker("worker-restarted");
    // What the appservice does when the bridge's participant leaves a call still being transcribed.
    await dispatchTranscription(testbed.livekit.a, call2.room, meta2);
    const resumed = await workerOf(call2.room, workers.filter((w) => w !== doomed), killedAt);
    const resumedReport = await resumed.worker.waitFor("read the thread back", (r) => r.event === "resumed" && r.job === resumed.job, 30_000);
    assert.equal(resumedReport.finals, earlier.length, "the new job found the earlier finals");
    const connected = await resumed.worker.waitFor("joined again", (r) => r.event === "connected" && r.job === resumed.job, 30_000);
    const resumedAt = Number(connected.at) - meta2.started_at;
    await daveSaid.speaker.waitFor("done", (r) => r.event === "done", speech.dave.durationMs + 30_000);
    await resumed.worker.waitFor("closed Dave's pipeline", (r) => r.event === "track-closed" && r.job === resumed.job, 30_000);
    // The call ends (its LiveKit room is closed): the transcription ends with it, files included.
    // Dave has left, so LiveKit may already have closed the room on its own: that is the same end.
    const rooms = new RoomServiceClient(testbed.livekit.a.controlUrl, testbed.livekit.a.apiKey, testbed.livekit.a.apiSecret);
    try {
      await rooms.deleteRoom(call2.room);
    } catch (err) {
      if (!/does not exist/.test((err as Error).message)) throw err;
    }
    const files = await resumed.worker.waitFor("posted the files", (r) => r.event === "files-posted" && r.job === resumed.job, 30_000);
    // LiveKit ends the job (its dispatch goes with the room) before it disconnects the participant: either way the files come.
    const ended = await resumed.worker.waitFor("ended the job", (r) => r.event === "job-ended" && r.job === resumed.job, 15_000);
    assert.ok(ended.end === "terminated" || ended.end === "call-ended", `ended as ${String(ended.end)}`);

    const after = await readTranscriptThread(a.clientUrl, dave.accessToken, call2.roomId, meta2.thread_root);
    assert.ok(after !== undefined);
    for (const message of earlier) {
      const current: ThreadMessage | undefined = after.messages.find((m) => m.eventId === message.eventId);
      assert.deepEqual(current, message, `${message.eventId} is unchanged`);
    }
    const later = after.messages.filter((m) => !earlier.some((e) => e.eventId === m.eventId));
    for (const message of after.messages) {
      assert.equal(message.fields?.final, true, "every message ends final");
      assert.equal(message.fields?.speaker, dave.userId);
    }
    // Nothing re-posted: no two messages cover the same stretch of speech.
    const spans = after.messages.map((m) => [m.fields?.start_ms ?? 0, m.fields?.end_ms ?? 0] as const).toSorted((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) assert.ok((spans[i]?.[0] ?? 0) >= (spans[i - 1]?.[1] ?? 0), `utterances do not overlap: ${JSON.stringify(spans)}`);

    // The speech after the new job joined is transcribed: sentences sent after that, against the messages
    // that start after that.
    const offset = daveSaid.startedAt - meta2.started_at;
    const heardAgain = speech.dave.sentences.filter((s) => offset + s.startMs >= resumedAt);
    assert.ok(heardAgain.length >= 1, `some speech came after the restart (${resumedAt} ms)`);
    const firstAgain = offset + (heardAgain[0]?.startMs ?? 0);
    const hypothesis = later.filter((m) => (m.fields?.start_ms ?? 0) >= firstAgain - CUE_START_TOLERANCE_MS).map(spokenText).join(" ");
    const { wer } = wordErrorRate(heardAgain.map((s) => s.text).join(" "), hypothesis);
    process.stderr.write(
      `      restart: killed at ${killedAt - meta2.started_at} ms, listening again at ${resumedAt} ms (${resumed.worker === restarted ? "the restarted" : "the other"} worker); ` +
        `${earlier.length} earlier, ${later.length} later messages; later WER ${wer.toFixed(3)}\n`,
    );
    assert.ok(wer <= MAX_WER, `after the restart: WER ${wer.toFixed(3)} above ${MAX_WER}: "${hypothesis}"`);

    // The files cover the whole meeting, earlier messages included.
    const vttUrl = (files.files as { filename: string; url: string }[]).find((f) => f.filename.endsWith(".vtt"))?.url;
    const cues = parseWebVtt((await downloadMedia(a, dave.accessToken, String(vttUrl))).text);
    assert.deepEqual(
      cues.map((c) => c.text),
      after.messages.toSorted((x, y) => (x.fields?.start_ms ?? 0) - (y.fields?.start_ms ?? 0)).map(spokenText),
    );
  });

  it("a worker shut down with SIGTERM finalises and leaves its call without posting files, and exits 0", async function () {
    // The first call is still on (B's caller is in it): the appservice dispatches it again.
    const dispatchedAt = Date.now();
    await dispatchTranscription(testbed.livekit.a, call.room, meta1);
    const running = workers.filter((w) => w.process.exitDescription() === undefined);
    const { worker, job } = await workerOf(call.room, running, dispatchedAt);
    await worker.waitFor("joined the call", (r) => r.event === "connected" && r.job === job, 30_000);
    await worker.process.stop();
    assert.equal(await worker.process.exited, 0, "exited by itself, within the harness's grace period");
    const reports = await jobReports(worker, job);
    assert.deepEqual(
      reports.filter((r) => ["ending", "job-ended", "files-posted"].includes(r.event)).map((r) => [r.event, r.reason ?? r.end]),
      [
        ["ending", "shutdown"],
        ["job-ended", "shutdown"],
      ],
    );
    const rooms = new RoomServiceClient(testbed.livekit.a.controlUrl, testbed.livekit.a.apiKey, testbed.livekit.a.apiSecret);
    assert.ok(!(await rooms.listParticipants(call.room)).some((p) => p.identity === `visio-transcriber-${job}`), "it left the call");
  });

  it("one worker process transcribes two calls at once", async function () {
    const { a } = testbed.ministries;
    // The one-call workers go; one worker that takes up to four calls comes.
    await Promise.all(workers.filter((w) => w.process.exitDescription() === undefined).map((w) => w.process.stop()));
    configPath = await writeWorkerConfig(dir, { livekit: testbed.livekit.a, homeserver: a, whisper: testbed.whisper.a, asToken: workerToken, userId: bridgeUserId, maxJobs: 4 });
    const shared = await startWorker("worker-shared");
    const dispatchedAt = Date.now();
    const meta3 = await postThreadRoot(a, botToken, call3.roomId, SESSION);
    await dispatchTranscription(testbed.livekit.a, call.room, meta1);
    await dispatchTranscription(testbed.livekit.a, call3.room, meta3);
    const [first, third] = await Promise.all([workerOf(call.room, [shared], dispatchedAt), workerOf(call3.room, [shared], dispatchedAt)]);
    await shared.waitFor("joined the first call", (r) => r.event === "connected" && r.job === first.job, 30_000);
    await shared.waitFor("joined the third call", (r) => r.event === "connected" && r.job === third.job, 30_000);

    // Alice in the first call and Dave in the third speak at the same time.
    const [aliceSaid, daveSaid] = await Promise.all([say(call.jwt.alice, speech.carol, "alice-again"), say(call3.jwt, speech.carol, "dave-parallel")]);
    await Promise.all([aliceSaid, daveSaid].map((said) => said.speaker.waitFor("done", (r) => r.event === "done", speech.carol.durationMs + 30_000)));
    for (const [job, said] of [
      [first.job, aliceSaid],
      [third.job, daveSaid],
    ] as const) {
      await shared.waitFor("closed the speaker's pipeline", (r) => r.event === "track-closed" && r.job === job && r.trackSid === said.trackSid, 30_000);
    }
    // The callers have left: LiveKit may end a call (and its job, which then posts the files) before
    // the stop message gets there, and its API refuses a message for a room that is gone.
    for (const [room, job] of [
      [call.room, first.job],
      [call3.room, third.job],
    ] as const) {
      try {
        await sendStop(testbed.livekit.a, room);
      } catch (err) {
        if (!(await jobReports(shared, job)).some((r) => r.event === "job-ended")) throw err;
      }
    }
    for (const job of [first.job, third.job]) await shared.waitFor("posted the files", (r) => r.event === "files-posted" && r.job === job, 30_000);

    const wers: string[] = [];
    for (const [roomId, meta, user, since] of [
      [call.roomId, meta1, alice, aliceSaid.startedAt],
      [call3.roomId, meta3, dave, daveSaid.startedAt],
    ] as const) {
      const thread = await readTranscriptThread(a.clientUrl, user.accessToken, roomId, meta.thread_root);
      assert.ok(thread !== undefined);
      const fresh = thread.messages.filter((m) => (m.fields?.start_ms ?? 0) >= since - meta.started_at - CUE_START_TOLERANCE_MS);
      assert.ok(fresh.every((m) => m.fields?.speaker === user.userId && m.fields.final), `${roomId}: the new utterances are ${user.userId}'s, final`);
      const { wer } = wordErrorRate(CAROL_SENTENCES.join(" "), fresh.map(spokenText).join(" "));
      wers.push(wer.toFixed(3));
      assert.ok(wer <= MAX_WER, `${roomId}: WER ${wer.toFixed(3)} above ${MAX_WER}`);
    }
    process.stderr.write(`      two calls in one process: WER ${wers.join(", ")}\n`);
  });
});
