// A recording posted in a meeting, transcribed on request (real Synapse A and B, LiveKit A, appservice A,
// a worker of A with A's Whisper server): a member of B posts an Ogg/Opus recording, or a video, from
// B's media repository, a member of A replies `!transcribe` to it, and the WebVTT and Markdown files
// come in a thread under the recording, fetched by A across the federation. Asking for what is not a recording
// gets a reply saying so; a recording that cannot be decoded gets a notice in its thread.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { RECORDING_API_PATH } from "../../config/wire-types.ts";
import { parseWebVtt } from "../../bridge/src/transcript/webvtt.ts";
import { wordErrorRate } from "../../bridge/src/transcript/word-error-rate.ts";
import type { RecordingTranscriptionRequest, RoomEvent } from "../../config/wire-types.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, SynapseServer, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { MEETING_SENTENCES, synthesizeRecording } from "../harness/speech/festival-speech.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { requestJson } from "../harness/http.ts";
import type { JsonLineProcess } from "../harness/json-line-process.ts";
import { createMeeting, joinAlias, openIdToken, waitForJoins } from "../harness/matrix-users.ts";
import { openDatabase } from "../../appservice/src/storage/database.ts";
import { createStore } from "../../appservice/src/storage/store.ts";
import { downloadMedia, spawnWorker, writeWorkerConfig } from "../support/transcription-worker.ts";

const run = promisify(execFile);
const MAX_WER = 0.15;

describe("transcribing a recording posted in a meeting (real Synapse A and B, LiveKit A, worker, Whisper)", function () {
  this.timeout(240_000);
  let testbed: Testbed;
  let appservice: AppserviceProcess;
  let worker: JsonLineProcess;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let roomId: string;
  let bridgeUserId: string;
  let dir: string;

  const send = async (server: SynapseServer, user: RegisteredUser, content: Record<string, unknown>): Promise<string> =>
    (
      await matrixRequest<{ event_id: string }>(
        server.clientUrl,
        user.accessToken,
        "PUT",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${uniqueLocalpart("txn")}`,
        content,
      )
    ).event_id;

  const upload = async (server: SynapseServer, user: RegisteredUser, data: Uint8Array<ArrayBuffer>, contentType: string, filename: string): Promise<string> => {
    const res = await fetch(`${server.clientUrl}/_matrix/media/v3/upload?filename=${encodeURIComponent(filename)}`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.accessToken}`, "content-type": contentType },
      body: data,
      signal: AbortSignal.timeout(30_000),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return String(((await res.json()) as { content_uri: string }).content_uri);
  };

  /** Waits until A's homeserver has an event of B (the federation delivers it first: a person replies to what they see). */
  const seenByA = async (eventId: string): Promise<void> => {
    await waitUntil(
      "the event at A",
      async () =>
        matrixRequest(testbed.ministries.a.clientUrl, alice.accessToken, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(eventId)}`).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
  };

  /** The messages in the thread under an event, oldest first. */
  const threadUnder = async (eventId: string): Promise<RoomEvent[]> => {
    const page = await matrixRequest<{ chunk: RoomEvent[] }>(
      testbed.ministries.a.clientUrl,
      alice.accessToken,
      "GET",
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=200`,
    );
    return page.chunk
      .filter((e) => {
        const relation = e.content["m.relates_to"] as { rel_type?: string; event_id?: string } | undefined;
        return relation?.rel_type === "m.thread" && relation.event_id === eventId;
      })
      .reverse();
  };

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    appservice = await startAppservice("a");
    dir = await mkdtemp(join(testbed.runDir, "recording-"));
    const { a, b } = testbed.ministries;
    alice = await a.registerUser(uniqueLocalpart("alice"));
    bob = await b.registerUser(uniqueLocalpart("bob"));
    let alias: string;
    ({ roomId, alias } = await createMeeting(appservice, a, alice, "Enregistrement"));
    await joinAlias(b, bob, alias);
    const knex = await openDatabase(appservice.config.database);
    await waitForJoins(createStore(knex), roomId, [alice, bob]);
    await knex.destroy();
    bridgeUserId = `@${appservice.config.transcription.bridge_localpart}:${HOSTS.a.serverName}`;
    const configPath = await writeWorkerConfig(dir, {
      livekit: testbed.livekit.a,
      homeserver: a,
      whisper: testbed.whisper.a,
      asToken: appservice.transcriber.asToken,
      userId: bridgeUserId,
      maxJobs: 2,
    });
    worker = spawnWorker(testbed, HOSTS.a.namespace, configPath, `bridge-recording-${uniqueLocalpart("w")}`);
    await worker.waitFor("registered", (r) => r.event === "registered", 60_000);
  });
  after(async () => {
    await worker?.process.stop();
  });

  it("answers `!transcribe en` in reply to an Ogg/Opus recording of B with the WebVTT and Markdown files in a thread under it", async () => {
    const { a, b } = testbed.ministries;
    const speech = await synthesizeRecording(dir, MEETING_SENTENCES.slice(0, 3));
    const opusPath = join(dir, "minutes.opus");
    await run("opusenc", ["--quiet", "--bitrate", "32", speech.wavPath, opusPath]);
    const data = new Uint8Array(await readFile(opusPath));
    const url = await upload(b, bob, data, "audio/ogg", "minutes.opus");
    const recording = await send(b, bob, { msgtype: "m.audio", body: "minutes.opus", url, info: { mimetype: "audio/ogg", size: data.byteLength, duration: speech.durationMs } });
    await seenByA(recording);
    await send(a, alice, { msgtype: "m.text", body: "!transcribe en", "m.relates_to": { "m.in_reply_to": { event_id: recording } } });

    let thread: RoomEvent[] = [];
    await waitUntil(
      "the transcript files in the recording's thread",
      async () => (thread = await threadUnder(recording)).filter((e) => e.sender === bridgeUserId && e.content.msgtype === "m.file").length === 2,
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const [ack] = thread;
    assert.equal(ack?.sender, `@${appservice.config.appservice.sender_localpart}:${HOSTS.a.serverName}`);
    assert.match(String(ack?.content.body), /^Transcribing minutes\.opus \(language: en\)/);
    const files = thread.filter((e) => e.content.msgtype === "m.file");
    assert.deepEqual(files.map((f) => (f.content.info as { mimetype: string }).mimetype).sort(), ["text/markdown", "text/vtt"]);
    const markdownEvent = files.find((f) => (f.content.info as { mimetype: string }).mimetype === "text/markdown");
    const vttEvent = files.find((f) => (f.content.info as { mimetype: string }).mimetype === "text/vtt");
    const markdown = await downloadMedia(a, alice.accessToken, String(markdownEvent?.content.url));
    assert.match(markdown.text, /^# Transcript of minutes\.opus/);
    const vtt = await downloadMedia(a, alice.accessToken, String(vttEvent?.content.url));
    assert.match(vtt.text, /^WEBVTT/);
    const cues = parseWebVtt(vtt.text);
    assert.ok(cues.length >= 3, `a cue or more per sentence: ${vtt.text}`);
    assert.ok(cues.every((c) => c.voice === "minutes.opus"), "the recording is the cues' voice");
    const said = cues.map((c) => c.text).join(" ");
    const { wer } = wordErrorRate(speech.sentences.map((s) => s.text).join(" "), said);
    assert.ok(wer <= MAX_WER, `WER ${wer.toFixed(3)} > ${MAX_WER}: ${said}`);
  });

  it("transcribes the sound of a video (MP4: H.264 and AAC, as phones record) posted by B as m.video; a video without sound gets a notice saying so", async () => {
    const { a, b } = testbed.ministries;
    const speech = await synthesizeRecording(dir, MEETING_SENTENCES.slice(3, 5));
    const videoPath = join(dir, "briefing.mp4");
    const picture = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=10"];
    await run("ffmpeg", ["-nostdin", "-loglevel", "error", ...picture, "-i", speech.wavPath, "-shortest", "-c:v", "libx264", "-c:a", "aac", "-b:a", "64k", videoPath]);
    const data = new Uint8Array(await readFile(videoPath));
    const url = await upload(b, bob, data, "video/mp4", "briefing.mp4");
    const video = await send(b, bob, { msgtype: "m.video", body: "briefing.mp4", url, info: { mimetype: "video/mp4", size: data.byteLength } });
    await seenByA(video);
    await send(a, alice, { msgtype: "m.text", body: "!transcribe en", "m.relates_to": { "m.in_reply_to": { event_id: video } } });
    let files: RoomEvent[] = [];
    await waitUntil(
      "the transcript files in the video's thread",
      async () => (files = (await threadUnder(video)).filter((e) => e.sender === bridgeUserId && e.content.msgtype === "m.file")).length === 2,
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const vttEvent = files.find((f) => (f.content.info as { mimetype: string }).mimetype === "text/vtt");
    const cues = parseWebVtt((await downloadMedia(a, alice.accessToken, String(vttEvent?.content.url))).text);
    const said = cues.map((c) => c.text).join(" ");
    const { wer } = wordErrorRate(speech.sentences.map((s) => s.text).join(" "), said);
    assert.ok(wer <= MAX_WER, `WER ${wer.toFixed(3)} > ${MAX_WER}: ${said}`);

    const silentPath = join(dir, "silent.mp4");
    await run("ffmpeg", ["-nostdin", "-loglevel", "error", ...picture, "-t", "2", "-c:v", "libx264", silentPath]);
    const silentData = new Uint8Array(await readFile(silentPath));
    const silentUrl = await upload(b, bob, silentData, "video/mp4", "silent.mp4");
    const silent = await send(b, bob, { msgtype: "m.video", body: "silent.mp4", url: silentUrl, info: { mimetype: "video/mp4", size: silentData.byteLength } });
    await seenByA(silent);
    await send(a, alice, { msgtype: "m.text", body: "!transcribe en", "m.relates_to": { "m.in_reply_to": { event_id: silent } } });
    await waitUntil(
      "the notice that the video has no sound",
      async () => (await threadUnder(silent)).some((e) => e.sender === bridgeUserId && /^silent\.mp4 could not be transcribed: it has no sound track/.test(String(e.content.body))),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  });

  it("refuses to transcribe what is not a recording, and says so in the thread when a recording cannot be decoded", async () => {
    const { a, b } = testbed.ministries;
    // The chat command on a text message: a reply saying why.
    const text = await send(b, bob, { msgtype: "m.text", body: "the agenda" });
    await seenByA(text);
    const command = await send(a, alice, { msgtype: "m.text", body: "!transcribe", "m.relates_to": { "m.in_reply_to": { event_id: text } } });
    await waitUntil(
      "the refusal in reply to the command",
      async () => {
        const page = await matrixRequest<{ chunk: RoomEvent[] }>(a.clientUrl, alice.accessToken, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=50`);
        return page.chunk.some(
          (e) =>
            (e.content["m.relates_to"] as { "m.in_reply_to"?: { event_id?: string } } | undefined)?.["m.in_reply_to"]?.event_id === command &&
            // In the server's language, French by default.
            e.content.body === "Enregistrement non transcrit : ce message n'est pas un enregistrement audio ou vidéo",
        );
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );

    // Through the API: a recording whose bytes are no audio is taken, then reported in its thread.
    const url = await upload(b, bob, new TextEncoder().encode("not audio at all"), "audio/ogg", "broken.ogg");
    const broken = await send(b, bob, { msgtype: "m.audio", body: "broken.ogg", url, info: { mimetype: "audio/ogg" } });
    await seenByA(broken);
    const request = async (eventId: string) =>
      requestJson("POST", `${appservice.url}${RECORDING_API_PATH}`, {
        body: { room_id: roomId, event_id: eventId, openid_token: await openIdToken(b, bob) } satisfies RecordingTranscriptionRequest,
      });
    const refused = await request(text);
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.errcode, "M_INVALID_PARAM");
    const missing = await request("$nosuchevent");
    assert.equal(missing.status, 404, JSON.stringify(missing.body));
    const queued = await request(broken);
    assert.equal(queued.status, 202, JSON.stringify(queued.body));
    assert.deepEqual(queued.body, { event_id: broken, filename: "broken.ogg", language: "fr" }, "French unless asked otherwise");
    await waitUntil(
      "the failure notice in the recording's thread, in the request's language",
      async () => (await threadUnder(broken)).some((e) => e.sender === bridgeUserId && /^broken\.ogg n'a pas pu être transcrit : son audio n'a pas pu être décodé/.test(String(e.content.body))),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.equal((await threadUnder(broken)).filter((e) => e.content.msgtype === "m.file").length, 0, "no files for a recording that gave nothing");
  });
});
