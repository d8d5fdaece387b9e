// A transcribed multi_sfu call (real Synapse A and B, LiveKit A and B, both appservices, both
// Whisper servers, a worker per ministry): each ministry's worker transcribes the callers who publish
// on its own SFU, so no caller's audio leaves their ministry, and both write into the one thread of
// the meeting hosted by A; at stop, each posts the files of what it transcribed.
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TRANSCRIPTION_API_PATH } from "../../config/wire-types.ts";
import { wordErrorRate } from "../../bridge/src/transcript/word-error-rate.ts";
import type { TranscriptionControlRequest, TranscriptionStateContent } from "../../config/wire-types.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, SynapseServer, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { MEETING_SENTENCES, synthesizeRecording } from "../harness/speech/festival-speech.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { requestJson } from "../harness/http.ts";
import { followJsonLines, type JsonLineProcess } from "../harness/json-line-process.ts";
import { createMeeting, joinAlias, openIdToken, requestFocusToken } from "../harness/matrix-users.ts";
import { startParticipant } from "../support/participants.ts";
import { readTranscriptThread, spokenText, type TranscriptThread } from "../harness/transcript-thread.ts";
import { spawnWorker, writeWorkerConfig } from "../support/transcription-worker.ts";

const SLOT = "m.call#ROOM";
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SPEAKER = join(REPO_ROOT, "tests/harness/rtc-speaker.ts");
const MAX_WER = 0.15;

type Ministry = "a" | "b";

describe("transcription of a multi_sfu call: each ministry's worker on its own SFU, one thread", function () {
  this.timeout(300_000);
  let testbed: Testbed;
  let appservices: Record<Ministry, AppserviceProcess>;
  const started: { process: JsonLineProcess["process"] }[] = [];

  const bridgeUser = (m: Ministry): string => `@${appservices[m].config.transcription.bridge_localpart}:${HOSTS[m].serverName}`;
  const server = (m: Ministry): SynapseServer => testbed.ministries[m];

  /** A call token from the ministry's own focus: in multi_sfu, each publishes at home. */
  const homeToken = async (m: Ministry, roomId: string, user: RegisteredUser): Promise<{ url: string; jwt: string }> => {
    const res = await requestFocusToken(appservices[m].url, roomId, server(m), user, SLOT);
    assert.equal(res.status, 200, `${m}'s focus for ${user.userId}: ${JSON.stringify(res.body)}`);
    return { url: String(res.body.url), jwt: String(res.body.jwt) };
  };

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    const [a, b] = await Promise.all([startAppservice("a", { sfuSelection: "multi_sfu" }), startAppservice("b", { sfuSelection: "multi_sfu" })]);
    appservices = { a, b };
  });
  after(async () => {
    await Promise.all(started.map((p) => p.process.stop()));
  });

  it("transcribes A's speaker with A's worker and B's speaker with B's worker, into the meeting's one thread, each posting its files at stop", async () => {
    const dir = await mkdtemp(join(testbed.runDir, "multi-sfu-transcription-"));
    const users = {
      alice: await server("a").registerUser(uniqueLocalpart("alice")),
      carol: await server("a").registerUser(uniqueLocalpart("carol")),
      bruno: await server("b").registerUser(uniqueLocalpart("bruno")),
      dora: await server("b").registerUser(uniqueLocalpart("dora")),
    };
    const { roomId, alias } = await createMeeting(appservices.a, server("a"), users.alice, "Transcription sur deux SFU");
    await joinAlias(server("a"), users.carol, alias);
    await joinAlias(server("b"), users.bruno, alias);
    await joinAlias(server("b"), users.dora, alias);
    const [aliceSpeech, brunoSpeech] = await Promise.all([
      synthesizeRecording(await mkdtemp(join(dir, "alice-")), MEETING_SENTENCES.slice(0, 1)),
      synthesizeRecording(await mkdtemp(join(dir, "bruno-")), MEETING_SENTENCES.slice(1, 2)),
    ]);

    // A worker per ministry, each with its own LiveKit, homeserver and Whisper server.
    const workers = {} as Record<Ministry, JsonLineProcess>;
    for (const m of ["a", "b"] as const) {
      const livekit = testbed.livekit[m];
      assert.ok(livekit);
      const config = await writeWorkerConfig(dir, {
        livekit,
        homeserver: server(m),
        whisper: testbed.whisper[m],
        asToken: appservices[m].transcriber.asToken,
        userId: bridgeUser(m),
        maxJobs: 1,
      });
      workers[m] = spawnWorker(testbed, HOSTS[m].namespace, config, `bridge-multi-${m}-${uniqueLocalpart("w")}`);
      started.push(workers[m]);
    }
    await Promise.all((["a", "b"] as const).map((m) => workers[m].waitFor(`${m}'s worker registered`, (r) => r.event === "registered", 60_000)));

    // Carol (A) and dora (B) are in the call on their own SFUs: the call runs on both.
    for (const [m, user] of [["a", users.carol], ["b", users.dora]] as const) {
      const call = await homeToken(m, roomId, user);
      const listener = startParticipant(testbed, HOSTS[m].namespace, "listen", call.url, call.jwt, 10_000_000);
      started.push(listener);
      await listener.waitFor("connected");
    }

    // Alice starts the transcription through A's API; B's appservice learns it from the room state.
    const request: TranscriptionControlRequest = { room_id: roomId, action: "start", language: "en", openid_token: await openIdToken(server("a"), users.alice) };
    const start = await requestJson("POST", `${appservices.a.url}${TRANSCRIPTION_API_PATH}`, { body: request });
    assert.equal(start.status, 200, JSON.stringify(start.body));
    const state = start.body.state as TranscriptionStateContent;
    assert.ok(state.thread_root);
    for (const m of ["a", "b"] as const) {
      const job = await workers[m].waitFor(`${m}'s worker took the call on ${m}'s SFU`, (r) => r.event === "job-started" && r.matrixRoom === roomId, 60_000);
      await workers[m].waitFor(`${m}'s worker joined the call`, (r) => r.event === "connected" && r.job === job.job, 30_000);
    }

    // Alice speaks on A's SFU, bruno on B's, at the same time.
    const speak = async (m: Ministry, user: RegisteredUser, wavPath: string): Promise<void> => {
      const call = await homeToken(m, roomId, user);
      const speaker = followJsonLines(
        testbed.spawnInNamespace(HOSTS[m].namespace, process.execPath, [SPEAKER, call.url, call.jwt, wavPath], { logName: `speaker-multi-${m}-${uniqueLocalpart("s")}`, cwd: REPO_ROOT }),
      );
      started.push(speaker);
      await speaker.waitFor("done", (r) => r.event === "done", 120_000);
    };
    await Promise.all([speak("a", users.alice, aliceSpeech.wavPath), speak("b", users.bruno, brunoSpeech.wavPath)]);

    const finalsOf = (thread: TranscriptThread | undefined, speaker: RegisteredUser) =>
      (thread?.messages ?? []).filter((msg) => msg.fields?.final === true && msg.fields.speaker === speaker.userId);
    const read = () => readTranscriptThread(server("a").clientUrl, users.alice.accessToken, roomId, state.thread_root);
    let thread: TranscriptThread | undefined;
    await waitUntil(
      "both speakers' final lines in the thread",
      async () => {
        thread = await read();
        return finalsOf(thread, users.alice).length > 0 && finalsOf(thread, users.bruno).length > 0;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    for (const [m, user, speech] of [["a", users.alice, aliceSpeech], ["b", users.bruno, brunoSpeech]] as const) {
      const finals = finalsOf(thread, user);
      assert.deepEqual([...new Set(finals.map((f) => f.sender))], [bridgeUser(m)], `${user.userId} is transcribed by ${m}'s bridge only`);
      // Each body is "<speaker name>: <what was said>".
      const said = finals.map(spokenText).join(" ");
      const { wer } = wordErrorRate(speech.sentences.map((s) => s.text).join(" "), said);
      assert.ok(wer <= MAX_WER, `WER ${wer.toFixed(3)} > ${MAX_WER} for ${user.userId}: "${said}"`);
    }

    // Stop at A: B's appservice tells its own transcriber too; each posts the files of its part.
    const stop = await requestJson("POST", `${appservices.a.url}${TRANSCRIPTION_API_PATH}`, {
      body: { room_id: roomId, action: "stop", openid_token: await openIdToken(server("a"), users.alice) } satisfies TranscriptionControlRequest,
    });
    assert.equal(stop.status, 200, JSON.stringify(stop.body));
    await waitUntil(
      "each ministry's WebVTT and Markdown files in the thread",
      async () => {
        thread = await read();
        return (["a", "b"] as const).every((m) => thread?.files.filter((f) => f.sender === bridgeUser(m)).length === 2);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    for (const m of ["a", "b"] as const) {
      const files = thread?.files.filter((f) => f.sender === bridgeUser(m)) ?? [];
      const info = files.map((f) => (f.content.info as { mimetype?: string } | undefined)?.mimetype).sort();
      assert.deepEqual(info, ["text/markdown", "text/vtt"], `${m}'s files`);
    }
  });
});
