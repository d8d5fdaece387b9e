// The live bridge's transcript in the Matrix timeline: a caller of ministry A says Festival sentences into
// a call on A's LiveKit, the bridge (its own process in A's namespace) transcribes them with PocketSphinx
// and posts them on A's homeserver as a thread under a "Transcription started" notice, one message per
// utterance, edited until final, with `org.visio.transcript` fields.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import yaml from "js-yaml";
import { liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { openDatabase } from "../../appservice/src/storage/database.ts";
import { createStore, type Store } from "../../appservice/src/storage/store.ts";
import { wordErrorRate } from "../../bridge/src/transcript/word-error-rate.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { MEETING_SENTENCES, synthesizeRecording, type SpeechRecording } from "../speech/festival-speech.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { followJsonLines, type JsonLineProcess } from "../support/json-line-process.ts";
import { joinAlias, requestFocusToken, waitForJoins } from "../support/matrix-users.ts";
import { readTranscriptThread } from "../support/transcript-thread.ts";

const SLOT = "m.call#ROOM";
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LISTEN = join(REPO_ROOT, "bridge/src/live/listen.ts");
const SPEAKER = join(REPO_ROOT, "tests/support/rtc-speaker.ts");

// As in bridge-subtitles.test.ts: three sentences, and its bound for the live path.
const SENTENCES = MEETING_SENTENCES.slice(0, 3);
const MAX_WER = 0.2;

describe("transcript thread from the transcription bridge (real LiveKit and Synapse A, PocketSphinx)", function () {
  this.timeout(120_000);
  let testbed: Testbed;
  let appservice: AppserviceProcess;
  let store: Store;
  let roomId: string;
  let alice: RegisteredUser;
  let scribe: RegisteredUser;
  let dir: string;
  let recording: SpeechRecording;
  const started: JsonLineProcess[] = [];

  const spawn = (logName: string, args: string[]): JsonLineProcess => {
    const follower = followJsonLines(testbed.spawnInNamespace(HOSTS.a.namespace, process.execPath, args, { logName, cwd: REPO_ROOT }));
    started.push(follower);
    return follower;
  };

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    dir = await mkdtemp(join(tmpdir(), "visio-bridge-thread-"));
    const speech = synthesizeRecording(dir, SENTENCES);
    appservice = await startAppservice("a");
    store = createStore(await openDatabase(appservice.config.database));
    const { a } = testbed.ministries;
    alice = await a.registerUser(uniqueLocalpart("alice"));
    // The bridge posts as an ordinary account in the room; a dedicated bridge account, puppeted through
    // the appservice, is future work.
    scribe = await a.registerUser(uniqueLocalpart("scribe"));
    const alias = `#visio-call-${uniqueLocalpart("thread")}:ministry-a.test`;
    roomId = await joinAlias(a, alice, alias);
    await joinAlias(a, scribe, alias);
    await waitForJoins(store, roomId, [alice]);
    recording = await speech;
  });

  after(async () => {
    await Promise.all(started.map((p) => p.process.stop()));
    await store?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("posts one thread message per utterance under a Transcription started notice, final after edits", async function () {
    const livekit = testbed.livekit.a;
    const homeserver = testbed.ministries.a;
    // The focus creates the LiveKit room when it issues the first token; the bridge may only join it.
    const res = await requestFocusToken(appservice.url, roomId, homeserver, alice, SLOT);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const aliceJwt = String(res.body.jwt);

    const configPath = join(dir, "live-bridge.yaml");
    await writeFile(
      configPath,
      yaml.dump({
        livekit: { url: livekit.url, api_key: livekit.apiKey, api_secret: livekit.apiSecret },
        // The homeserver's client listener, reachable from inside A's namespace where the bridge runs.
        matrix: { homeserver_url: homeserver.clientUrl, access_token: scribe.accessToken, room_id: roomId },
      }),
    );
    const bridge = spawn(`bridge-thread-${uniqueLocalpart("b")}`, [LISTEN, "--config", configPath, "--room", liveKitRoomAlias(roomId, SLOT)]);
    await bridge.waitFor("connected", (r) => r.event === "connected", 30_000);

    const speaker = spawn(`speaker-${uniqueLocalpart("s")}`, [SPEAKER, livekit.url, aliceJwt, recording.wavPath]);
    const published = await speaker.waitFor("published", (r) => r.event === "published", 30_000);
    const trackSid = String(published.trackSid);
    await bridge.waitFor("subscribed to the microphone", (r) => r.event === "subscribed" && r.trackSid === trackSid, 30_000);
    await speaker.waitFor("done", (r) => r.event === "done", recording.durationMs + 30_000);
    await bridge.waitFor("closed the speaker's pipeline", (r) => r.event === "track-closed" && r.trackSid === trackSid, 30_000);
    const finalSubtitles = (await bridge.reports()).filter((r) => r.event === "subtitle" && r.final === true).length;
    const postedFinals = async (): Promise<number> => (await bridge.reports()).filter((r) => r.event === "posted" && r.final === true).length;
    await waitUntil("the bridge posted every final version", async () => (await postedFinals()) >= finalSubtitles, {
      timeoutMs: 15_000,
      hint: `see ${bridge.process.logPath}`,
    });

    const thread = await readTranscriptThread(homeserver.clientUrl, alice.accessToken, roomId);
    assert.ok(thread !== undefined, "a Transcription started notice is in the room");
    assert.equal(thread.root.sender, scribe.userId);
    assert.equal(thread.root.content.msgtype, "m.notice");
    assert.equal(thread.root.content.body, "Transcription started");
    assert.deepEqual(thread.session, { language: "en", engine: "pocketsphinx" });

    const { messages } = thread;
    assert.ok(messages.length >= 1, "at least one utterance in the thread");
    assert.equal(messages.length, finalSubtitles, "one thread message per utterance");
    let lastEnd = 0;
    for (const message of messages) {
      const fields = message.fields;
      assert.ok(fields !== undefined, `${message.eventId} has org.visio.transcript fields`);
      assert.equal(fields.final, true, `${message.eventId}'s latest version is final`);
      assert.ok(message.versions.slice(0, -1).every((v) => v?.final === false), "only the last version is final");
      assert.ok(fields.speaker.length > 0 && fields.speaker_name.length > 0, "the speaker is named");
      assert.equal(fields.speaker, messages[0]?.fields?.speaker, "one speaker throughout");
      assert.equal(fields.language, "en");
      assert.equal(fields.engine, "pocketsphinx");
      assert.ok(fields.start_ms >= lastEnd && fields.end_ms > fields.start_ms, `times increase: ${JSON.stringify(fields)}`);
      lastEnd = fields.end_ms;
      assert.ok(message.body.startsWith(`${fields.speaker_name}: `), `body names the speaker: ${message.body}`);
    }

    const hypothesis = messages.map((m) => m.body.slice(`${m.fields?.speaker_name ?? ""}: `.length)).join(" ");
    const { wer } = wordErrorRate(SENTENCES.join(" "), hypothesis);
    process.stderr.write(`      thread WER ${wer.toFixed(3)}; ${messages.length} messages, ${messages.map((m) => m.versions.length).join("/")} versions\n`);
    assert.ok(wer <= MAX_WER, `WER ${wer.toFixed(3)} above ${MAX_WER}: "${hypothesis}"`);
  });
});
