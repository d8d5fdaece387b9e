// The transcription bridge as LiveKit agent workers, against the real servers: two worker processes in
// ministry A's namespace register with A's LiveKit under the transcriber's agent name; the test plays
// the appservice (posts the "Transcription started" root as its bot, creates the agent dispatch with
// the job metadata, sends the stop message through LiveKit's server API). Callers join with tokens from
// the real focus service, so the speakers' Matrix user IDs reach the bridge as participant attributes.
// Each worker takes one call at a time here (max_jobs 1), which makes LiveKit spread the two calls over
// the two processes and lets the restart case know which process to kill. The set-up:
// support/bridge-worker-bed.ts.
import assert from "node:assert/strict";
import { ParticipantInfo_Kind } from "@livekit/protocol";
import { RoomServiceClient } from "livekit-server-sdk";
import { parseWebVtt } from "../../bridge/src/transcript/webvtt.ts";
import { wordErrorRate } from "../../bridge/src/transcript/word-error-rate.ts";
import type { TranscriptionJobMetadata } from "../../config/wire-types.ts";
import type { JsonReport } from "../harness/json-line-process.ts";
import { HOSTS } from "../harness/network.ts";
import { readTranscriptThread, spokenText, type ThreadMessage } from "../harness/transcript-thread.ts";
import { uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { dispatchTranscription, downloadMedia, postThreadRoot, sendStop, writeWorkerConfig } from "../support/transcription-worker.ts";
import { ALICE_SENTENCES, CAROL_SENTENCES, RECEIVER, setUpBridgeWorkerBed, type BridgeWorkerBed } from "./support/bridge-worker-bed.ts";

const SESSION = { language: "en", engine: "openai" };
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
  let bed: BridgeWorkerBed;
  let meta1: TranscriptionJobMetadata;
  let meta2: TranscriptionJobMetadata;

  before(async function () {
    this.timeout(300_000);
    bed = await setUpBridgeWorkerBed();
  });

  after(async () => {
    await bed?.close();
  });

  it("two worker processes take one dispatched call each and join as hidden agents that publish nothing", async function () {
    const { testbed, botToken, call, call2, workers, workerOf } = bed;
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
    const { testbed, bridgeUserId, alice, carol, call, speech, workers, spawn, workerOf, jobReports, displayName, say } = bed;
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
    const { testbed, bridgeUserId, alice, call, speech, workers, started, workerOf } = bed;
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
    const { testbed, dave, call2, speech, workers, startWorker, workerOf, say } = bed;
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
    const { testbed, call, workers, workerOf, jobReports } = bed;
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
    const { testbed, dir, botToken, workerToken, bridgeUserId, alice, dave, call, call3, speech, workers, startWorker, workerOf, jobReports, say } = bed;
    const { a } = testbed.ministries;
    // The one-call workers go; one worker that takes up to four calls comes.
    await Promise.all(workers.filter((w) => w.process.exitDescription() === undefined).map((w) => w.process.stop()));
    bed.configPath = await writeWorkerConfig(dir, { livekit: testbed.livekit.a, homeserver: a, whisper: testbed.whisper.a, asToken: workerToken, userId: bridgeUserId, maxJobs: 4 });
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
