// A call's transcription job with its dependencies faked: the call (a fake room listener whose
// participants speak), the engine, the thread poster and the Matrix user. What is checked is the job's
// own work: thread lines and subtitles from what is said, its end, files, and an engine outage.
import { strict as assert } from "node:assert";
import { DisconnectReason } from "@livekit/rtc-node";
import {
  MATRIX_USER_ATTRIBUTE,
  SUBTITLE_ATTRIBUTES,
  SUBTITLE_TOPIC,
  TRANSCRIBER_NOTICE_KEY,
  TRANSCRIPT_OUTAGE_KEY,
  TRANSCRIPTION_CONTROL_TOPIC,
  type TranscriptionJobMetadata,
} from "../../../config/wire-types.ts";
import { FakeRoomListener } from "../../../bridge/src/live/testing/fake-room-listener.ts";
import type { MatrixRequest } from "../../../config/matrix/matrix-http-client.ts";
import { transcriptFileStem } from "../../../bridge/src/matrix/transcript-files.ts";
import type { TranscriptPosterOptions } from "../../../bridge/src/matrix/transcript-poster.ts";
import type { SttEngine } from "../../../bridge/src/stt/engine.ts";
import { FakeSttEngine } from "../../../bridge/src/stt/testing/fake-engine.ts";
import type { TranscriptSegment } from "../../../bridge/src/transcript/segment.ts";
import { TranscriptionJob, type JobEvent, type TranscriptSink } from "../../../bridge/src/worker/transcription-job.ts";

const BRIDGE = "@visio-transcriber:a.test";
const METADATA: TranscriptionJobMetadata = { room_id: "!room:a.test", language: "en", engine: "fake", started_at: 1_790_000_000_000, thread_root: "$root" };
const ALICE = { identity: "lk-pseudonym-1", name: "not her Matrix name", attributes: { [MATRIX_USER_ATTRIBUTE]: "@alice:a.test" } };
const RATE = 16_000;
const tone = (ms: number): Int16Array =>
  Int16Array.from({ length: (ms * RATE) / 1000 }, (_, i) => Math.round(3000 * Math.sin((2 * Math.PI * 300 * i) / RATE)));
const silence = (ms: number): Int16Array => new Int16Array((ms * RATE) / 1000);
const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

/** Waits for what the job does on its own (decoding ends after the audio): at most 5 s. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !done(); waited += 5) {
    if (waited > 5000) assert.fail(`still waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

class FakePoster implements TranscriptSink {
  readonly versions: { trackSid: string; speaker: string; text: string; final: boolean }[] = [];
  readonly finalised: string[] = [];
  async post(trackSid: string, segment: TranscriptSegment): Promise<void> {
    this.versions.push({ trackSid, speaker: segment.speaker.name, text: segment.text, final: segment.final });
  }
  async finalise(eventId: string): Promise<void> {
    this.finalised.push(eventId);
  }
  async flush(): Promise<void> {}
}

function setup(engine: SttEngine, options: { joinRoom?: () => void; language?: string } = {}) {
  const sent: { content: Record<string, unknown>; txnId: string }[] = [];
  const uploads: { filename: string; text: string }[] = [];
  const events: JobEvent[] = [];
  const requests: string[] = [];
  const posterOptions: TranscriptPosterOptions[] = [];
  const poster = new FakePoster();
  const listener = new FakeRoomListener();
  const matrix = {
    joinRoom: async () => options.joinRoom?.(),
    request: async <T>(request: MatrixRequest): Promise<T> => {
      requests.push(request.path.slice(-2).join(" "));
      return (request.path.includes("relations") ? { chunk: [] } : { joined: { "@alice:a.test": { display_name: "Alice" } } }) as T;
    },
    sendEvent: async (_room: string, _type: string, content: Record<string, unknown>, txnId: string) => (sent.push({ content, txnId }), `$sent${sent.length}`),
    upload: async (data: Uint8Array, _type: string, filename: string) => (uploads.push({ filename, text: new TextDecoder().decode(data) }), `mxc://a.test/${uploads.length}`),
  };
  const job = new TranscriptionJob(
    {
      metadata: { ...METADATA, language: options.language ?? METADATA.language },
      url: "ws://livekit.test",
      token: "job-token",
      bridgeUserId: BRIDGE,
      report: (event) => events.push(event),
      now: () => METADATA.started_at + 60_000,
    },
    { engine, matrix, listener, poster: (o) => (posterOptions.push(o), poster) },
  );
  return { job, listener, poster, posterOptions, sent, uploads, events, requests };
}

describe("a transcription job", function () {
  it("posts what is said to the thread and as subtitles, interim then final, and on a stop finalises, posts the files and leaves", async function () {
    const { job, listener, poster, posterOptions, uploads, events } = setup(new FakeSttEngine({ sentences: ["hello everyone", "shall we start"] }));
    const ended = job.run();
    await listener.joined;
    assert.deepEqual(listener.joinedWith, { url: "ws://livekit.test", token: "job-token" });
    assert.deepEqual(posterOptions.map((o) => [o.roomId, o.threadRoot]), [[METADATA.room_id, "$root"]]);
    listener.speak("TR_alice", ALICE, silence(500), tone(1200), silence(1000));
    await until(() => poster.versions.some((v) => v.final), "the first utterance's final");
    // Still speaking when the stop comes: the utterance is finalised before the job leaves.
    listener.speak("TR_alice", ALICE, tone(900));
    listener.dataFromServer(encode({ action: "stop" }), TRANSCRIPTION_CONTROL_TOPIC);
    assert.equal(await ended, "stopped");

    assert.deepEqual(
      poster.versions.filter((v) => v.final),
      [
        { trackSid: "TR_alice", speaker: "Alice", text: "hello everyone", final: true },
        { trackSid: "TR_alice", speaker: "Alice", text: "shall we start", final: true },
      ],
    );
    assert.deepEqual(poster.versions[0], { trackSid: "TR_alice", speaker: "Alice", text: "hello", final: false }, "an interim line first");

    assert.ok(listener.subtitles.every((s) => s.topic === SUBTITLE_TOPIC && s.attributes[SUBTITLE_ATTRIBUTES.trackId] === "TR_alice"));
    const segmentIds = [...new Set(listener.subtitles.map((s) => s.attributes[SUBTITLE_ATTRIBUTES.segmentId]))];
    assert.equal(segmentIds.length, 2, "one subtitle segment per utterance");
    for (const [id, text] of [
      [segmentIds[0], "hello everyone"],
      [segmentIds[1], "shall we start"],
    ]) {
      const versions = listener.subtitles.filter((s) => s.attributes[SUBTITLE_ATTRIBUTES.segmentId] === id);
      assert.deepEqual(versions.map((s) => s.attributes[SUBTITLE_ATTRIBUTES.final]), [...versions.slice(1).map(() => "false"), "true"], `${text}: interim versions, then one final`);
      assert.equal(versions.at(-1)?.text, text);
      assert.ok(versions.length > 1, `${text}: interim subtitles before the final one`);
    }

    assert.equal(listener.closed, true, "the job left the room");
    const stem = transcriptFileStem(METADATA.started_at, "en");
    assert.deepEqual(uploads.map((u) => u.filename), [`${stem}.vtt`, `${stem}.md`]);
    assert.match(uploads[0]?.text ?? "", /<v Alice>hello everyone[\s\S]*<v Alice>shall we start/);
    const names = events.map((e) => e.event);
    assert.deepEqual(events.find((e) => e.event === "ending"), { event: "ending", reason: "stopped" });
    assert.equal(names.at(-1), "files-posted");
    assert.ok(names.includes("subscribed") && names.includes("track-closed"));
  });

  it("says so in the thread when the engine fails, goes on, and says so again when it is back", async function () {
    const failing = new FakeSttEngine({ sentences: [], failWith: "the Whisper server answered 503" });
    const working = new FakeSttEngine({ sentences: ["we are back"] });
    let streams = 0;
    const engine: SttEngine = {
      name: working.name,
      language: working.language,
      checkReady: () => working.checkReady(),
      modelFor: (language) => working.modelFor(language),
      start: (options) => (streams++ === 0 ? failing : working).start(options),
    };
    const { job, listener, poster, sent, events } = setup(engine);
    const ended = job.run();
    await listener.joined;
    listener.speak("TR_alice", ALICE, silence(500), tone(1200), silence(1000));
    const outage = (state: string) => sent.find((m) => (m.content[TRANSCRIPT_OUTAGE_KEY] as { state?: string } | undefined)?.state === state);
    await until(() => outage("interrupted") !== undefined, "the outage notice");
    assert.deepEqual(outage("interrupted")?.content[TRANSCRIPT_OUTAGE_KEY], { state: "interrupted", engine: "fake" });
    assert.match(String(outage("interrupted")?.content.body), /503/);

    listener.speak("TR_alice", ALICE, tone(1200), silence(1000));
    await until(() => outage("resumed") !== undefined, "the notice that transcription is back");
    assert.deepEqual(outage("resumed")?.content[TRANSCRIPT_OUTAGE_KEY], { state: "resumed", engine: "fake", lost_utterances: 1 });
    assert.deepEqual(poster.versions.filter((v) => v.final).map((v) => v.text), ["we are back"], "the lost utterance has no line");

    // The call ends: LiveKit deletes the room. The transcript is complete, with the files.
    listener.disconnect(DisconnectReason.ROOM_DELETED);
    assert.equal(await ended, "call-ended");
    assert.deepEqual(
      events.filter((e) => e.event === "engine-outage"),
      [
        { event: "engine-outage", state: "interrupted", lost: 0 },
        { event: "engine-outage", state: "resumed", lost: 1 },
      ],
    );
    assert.equal(sent.filter((m) => m.content.msgtype === "m.file").length, 2);
  });

  it("terminated before it joined the call (its dispatch replaced) goes away: no LiveKit connection, no files", async function () {
    let job: TranscriptionJob | undefined;
    // LiveKit terminates the job while it is still setting up.
    const s = setup(new FakeSttEngine({ sentences: [] }), { joinRoom: () => job?.stop("terminated") });
    job = s.job;
    assert.equal(await job.run(), "withdrawn");
    assert.deepEqual(s.requests, [`${METADATA.room_id} joined_members`, "$root m.thread"], "the thread was read back before the termination was seen");
    assert.equal(s.listener.joinedWith, undefined);
    assert.deepEqual(s.sent, []);
    assert.deepEqual(s.uploads, []);
    assert.deepEqual(s.events, [{ event: "ending", reason: "withdrawn" }]);
  });

  it("in a language no model of the worker covers is refused in the thread, in that language, before any LiveKit connection", async function () {
    const { job, listener, sent, uploads, events, requests } = setup(new FakeSttEngine({ sentences: [], languages: ["en"] }), { language: "fr" });
    assert.equal(await job.run(), "refused");
    assert.deepEqual(requests, [], "nothing read for a refused job");
    assert.equal(listener.joinedWith, undefined);
    assert.deepEqual(uploads, []);
    assert.equal(sent.length, 1);
    const [notice] = sent;
    assert.match(String(notice?.content.body), /^La transcription ne peut pas démarrer : le service de transcription de a\.test n'a aucun modèle pour la langue fr \(no fake model transcribes fr \(it does: en\)\)\.$/);
    assert.deepEqual(notice?.content[TRANSCRIBER_NOTICE_KEY], { state: "refused", server_name: "a.test", language: "fr", reason: "no fake model transcribes fr (it does: en)" });
    assert.equal((notice?.content["m.relates_to"] as { event_id: string }).event_id, "$root");
    assert.equal(notice?.txnId, `visio-transcript.refused.${METADATA.started_at}`, "a job dispatched again refuses once");
    assert.deepEqual(events.map((e) => e.event), ["refused", "ending"]);
  });
});
