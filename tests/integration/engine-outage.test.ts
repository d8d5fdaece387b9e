// The Whisper server of ministry A goes down in the middle of a transcribed call (real Synapse, LiveKit,
// Whisper server, worker): the thread says so at once, what is said meanwhile is reported lost, and
// once the server is back the transcription resumes by itself, with a notice saying so.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { openDatabase } from "../../appservice/src/storage/database.ts";
import { createStore } from "../../appservice/src/storage/store.ts";
import { TRANSCRIPT_OUTAGE_KEY, type RoomEvent } from "../../config/wire-types.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import { getTestbed, uniqueLocalpart, type Testbed } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { MEETING_SENTENCES, synthesizeRecording } from "../harness/speech/festival-speech.ts";
import { startAppservice } from "../support/appservice-process.ts";
import { followJsonLines, type JsonLineProcess } from "../harness/json-line-process.ts";
import { createMeeting, joinAlias, requestFocusToken, waitForJoins } from "../harness/matrix-users.ts";
import { startParticipant } from "../support/participants.ts";
import { readTranscriptThread } from "../harness/transcript-thread.ts";
import { dispatchTranscription, postThreadRoot, spawnWorker, writeWorkerConfig } from "../support/transcription-worker.ts";

const SLOT = "m.call#ROOM";
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SPEAKER = join(REPO_ROOT, "tests/harness/rtc-speaker.ts");

describe("speech-to-text engine down mid-call (real Whisper server, worker, Synapse, LiveKit)", function () {
  this.timeout(300_000);
  let testbed: Testbed;
  let dir: string;
  const started: { process: JsonLineProcess["process"] }[] = [];

  before(async function () {
    testbed = await getTestbed();
    dir = await mkdtemp(join(tmpdir(), "visio-engine-outage-"));
  });
  after(async function () {
    await Promise.all(started.map((p) => p.process.stop()));
    // The Whisper server is the test bed's: whatever happened, the next tests get it running.
    if (testbed?.whisper.a.process.exitDescription() !== undefined) testbed.whisper.a = await testbed.whisper.a.restart();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("posts a notice when the engine fails, reports what was lost, and resumes with a notice when it is back", async function () {
    const { a } = testbed.ministries;
    const appservice = await startAppservice("a");
    const store = createStore(await openDatabase(appservice.config.database));
    const botToken = appservice.config.appservice.as_token;
    const { asToken: workerToken, userId: bridgeUserId } = appservice.transcriber;
    const alice = await a.registerUser(uniqueLocalpart("alice"));
    const carol = await a.registerUser(uniqueLocalpart("carol"));
    const { roomId, alias } = await createMeeting(appservice, a, alice, "Panne du moteur");
    await joinAlias(a, carol, alias);
    await waitForJoins(store, roomId, [alice, carol]);
    const [during, afterwards] = await Promise.all([
      synthesizeRecording(await mkdtemp(join(dir, "during-")), MEETING_SENTENCES.slice(0, 2)),
      synthesizeRecording(await mkdtemp(join(dir, "after-")), MEETING_SENTENCES.slice(2, 3)),
    ]);
    const token = await requestFocusToken(appservice.url, roomId, a, alice, SLOT);
    assert.equal(token.status, 200, JSON.stringify(token.body));
    const jwt = String(token.body.jwt);
    // Carol listens throughout, so that the call goes on between alice's two turns.
    const carolToken = await requestFocusToken(appservice.url, roomId, a, carol, SLOT);
    assert.equal(carolToken.status, 200, JSON.stringify(carolToken.body));
    const carolListens = startParticipant(testbed, HOSTS.a.namespace, "listen", String(carolToken.body.url), String(carolToken.body.jwt), 10_000_000);
    started.push(carolListens);
    await carolListens.waitFor("connected");
    const configPath = await writeWorkerConfig(dir, { livekit: testbed.livekit.a, homeserver: a, whisper: testbed.whisper.a, asToken: workerToken, userId: bridgeUserId, maxJobs: 1 });
    const worker = spawnWorker(testbed, HOSTS.a.namespace, configPath, `bridge-outage-${uniqueLocalpart("w")}`);
    started.push(worker);
    await worker.waitFor("registered", (r) => r.event === "registered", 60_000);

    const speak = async (wavPath: string, name: string): Promise<void> => {
      const speaker = followJsonLines(testbed.spawnInNamespace(HOSTS.a.namespace, process.execPath, [SPEAKER, testbed.livekit.a.url, jwt, wavPath], { logName: `speaker-${name}-${uniqueLocalpart("s")}`, cwd: REPO_ROOT }));
      started.push(speaker);
      await speaker.waitFor("done", (r) => r.event === "done", 120_000);
    };
    const notices = async (): Promise<Record<string, unknown>[]> => {
      const page = await matrixRequest<{ chunk: RoomEvent[] }>(a.clientUrl, alice.accessToken, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=200`);
      return page.chunk.filter((e) => e.sender === bridgeUserId && e.content[TRANSCRIPT_OUTAGE_KEY] !== undefined).map((e) => e.content[TRANSCRIPT_OUTAGE_KEY] as Record<string, unknown>).reverse();
    };

    // The worker joins; the Whisper server goes away before alice's first words are decoded.
    const metadata = await postThreadRoot(a, botToken, roomId, { language: "en", engine: "openai" });
    const first = speak(during.wavPath, "during");
    await dispatchTranscription(testbed.livekit.a, liveKitRoomAlias(roomId, SLOT), metadata);
    await worker.waitFor("joined the call", (r) => r.event === "subscribed", 30_000);
    await testbed.whisper.a.process.stop();
    await first;
    await waitUntil("the interruption notice in the thread", async () => (await notices()).some((n) => n.state === "interrupted"), { timeoutMs: 30_000 });

    testbed.whisper.a = await testbed.whisper.a.restart();
    await speak(afterwards.wavPath, "after");
    await waitUntil("the resumed notice in the thread", async () => (await notices()).some((n) => n.state === "resumed"), { timeoutMs: 30_000 });
    const [interrupted, resumed, ...more] = await notices();
    assert.equal(interrupted?.state, "interrupted");
    assert.equal(interrupted?.engine, "openai");
    assert.equal(resumed?.state, "resumed");
    assert.ok(Number(resumed?.lost_utterances) >= 1, `lost utterances reported: ${JSON.stringify(resumed)}`);
    assert.equal(more.length, 0, "one notice per outage, not one per lost utterance");
    const thread = await readTranscriptThread(a.clientUrl, alice.accessToken, roomId, metadata.thread_root);
    const finals = (thread?.messages ?? []).filter((m) => m.fields?.final === true && m.fields.speaker === alice.userId);
    assert.ok(finals.some((m) => /decision on the budget/i.test(m.body)), `the sentence said after the restart is in the thread: ${finals.map((m) => m.body).join(" | ")}`);
  });
});
