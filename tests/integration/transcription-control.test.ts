// Transcription control against the real servers: Synapse A and B, LiveKit A sending its webhooks to
// A's appservice, which hosts the meeting. Shown here: a user of B starts the transcription of a
// meeting on A through the appservice's API (found in A's .well-known), the state reaches both
// servers and nobody else can write it, the refusals, the chat command, the power-level setting, and
// during a call the LiveKit agent dispatch (made when the call starts later, made again when the
// transcriber leaves, withdrawn at stop), and with the real bridge workers: a start with no worker
// running is said in the thread, and so is the worker that then takes it; the next one takes over from
// a killed one, a stop gets the transcript files posted in the thread. The set-up and the clients' requests:
// support/transcription-control-bed.ts.
import assert from "node:assert/strict";
import { ParticipantInfo_Kind } from "@livekit/protocol";
import { AccessToken, RoomServiceClient, type AgentDispatch } from "livekit-server-sdk";
import { liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { NO_WORKER_NOTICE_MS } from "../../appservice/src/transcription/transcription-effects.ts";
import {
  TRANSCRIBER_AGENT_NAME,
  TRANSCRIPTION_API_PATH,
  TRANSCRIBER_NOTICE_KEY,
  TRANSCRIPT_SESSION_KEY,
  TRANSCRIPTION_STATE_EVENT,
  WELL_KNOWN_APPSERVICE_KEY,
  type TranscriberNoticeFields,
  type TranscriptionJobMetadata,
  type TranscriptionStateContent,
} from "../../config/wire-types.ts";
import { requestJson } from "../harness/http.ts";
import type { JsonLineProcess } from "../harness/json-line-process.ts";
import { matrixRequest, MatrixRequestError } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, SynapseServer } from "../harness/testbed.ts";
import { uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { startAppservice } from "../support/appservice-process.ts";
import { startParticipant } from "../support/participants.ts";
import { spawnWorker, writeWorkerConfig } from "../support/transcription-worker.ts";
import { SLOT, transcriptionControlBed } from "./support/transcription-control-bed.ts";

const BOT = `@visio:${HOSTS.a.serverName}`;
const BRIDGE_USER = `@visio-transcriber:${HOSTS.a.serverName}`;

describe("transcription control (real Synapse A, B, LiveKit A, appservice A)", function () {
  this.timeout(240_000);
  const bed = transcriptionControlBed();

  it("a user of B starts it through the API of A's appservice; both servers see the state; refusals are clear; stop", async () => {
    const { testbed, appservice, alice, bob, carol, path, as, control, stateSeenBy, newMeeting } = bed;
    const { a, b } = testbed.ministries;
    // The client finds the appservice in the hosting server's .well-known.
    const wellKnown = await (await fetch(`${a.clientUrl}/.well-known/matrix/client`)).json() as Record<string, unknown>;
    assert.deepEqual(wellKnown[WELL_KNOWN_APPSERVICE_KEY], { url: `http://${HOSTS.a.address}:${HOSTS.a.appservicePort}` });

    const roomId = await newMeeting("transcribed");
    const started = await control(b, bob, roomId, "start", "en-GB");
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const state = started.body.state as TranscriptionStateContent;
    assert.equal(state.active, true);
    assert.equal(state.requested_by, bob.userId);
    assert.equal(state.language, "en-GB");
    assert.equal(state.engine, appservice.config.transcription.engine);
    assert.ok(state.thread_root?.startsWith("$"));
    assert.ok(typeof state.started_at === "number" && Math.abs(state.started_at - Date.now()) < 60_000);

    // The room state, on A and over federation on B.
    assert.deepEqual(await stateSeenBy(a, alice, roomId), state);
    await waitUntil("B sees the transcription state", async () => (await stateSeenBy(b, bob, roomId))?.active === true, { timeoutMs: 20_000 });
    assert.deepEqual(await stateSeenBy(b, bob, roomId), state);

    // The thread root, posted by the bot; the bridge's user is invited (its worker joins when it takes the job).
    const root = await as(a, alice)<{ sender: string; content: Record<string, unknown> }>("GET", `${path(roomId)}/event/${encodeURIComponent(state.thread_root ?? "")}`);
    assert.equal(root.sender, BOT);
    assert.equal(root.content.msgtype, "m.notice");
    assert.equal(root.content.body, "Transcription started");
    assert.deepEqual(root.content[TRANSCRIPT_SESSION_KEY], { language: "en-GB", engine: state.engine });
    const bridgeMember = await as(a, alice)<{ membership: string }>("GET", `${path(roomId)}/state/m.room.member/${encodeURIComponent(BRIDGE_USER)}`);
    assert.ok(["invite", "join"].includes(bridgeMember.membership), `the bridge's user is invited: ${bridgeMember.membership}`);

    // Only the bot may write the state: a member's forgery is refused by the homeserver.
    await assert.rejects(
      as(a, alice)("PUT", `${path(roomId)}/state/${TRANSCRIPTION_STATE_EVENT}/`, { ...state, active: false }),
      (err: unknown) => err instanceof MatrixRequestError && err.status === 403,
    );

    const twice = await control(a, alice, roomId, "start");
    assert.equal(twice.status, 409);
    assert.equal(twice.body.errcode, "ORG.VISIO.TRANSCRIPTION_ACTIVE");
    const outsider = await control(b, carol, roomId, "stop");
    assert.equal(outsider.status, 403);
    assert.equal(outsider.body.errcode, "M_FORBIDDEN");
    assert.match(String(outsider.body.error), /not joined/);
    const unknown = await control(a, alice, `!unknown${uniqueLocalpart("r")}:${HOSTS.a.serverName}`, "start");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, "M_NOT_FOUND");
    const malformed = await requestJson("POST", `${appservice.url}${TRANSCRIPTION_API_PATH}`, { body: { room_id: roomId, action: "pause" } });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.errcode, "M_INVALID_PARAM");
    const forged = await requestJson("POST", `${appservice.url}${TRANSCRIPTION_API_PATH}`, {
      body: { room_id: roomId, action: "stop", openid_token: { access_token: "forged", token_type: "Bearer", matrix_server_name: HOSTS.b.serverName, expires_in: 3600 } },
    });
    assert.equal(forged.status, 401);
    assert.equal(forged.body.errcode, "M_UNAUTHORIZED");
    assert.equal((await stateSeenBy(a, alice, roomId))?.active, true, "refusals changed nothing");

    // CORS, for the web client served from elsewhere.
    const preflight = await fetch(`${appservice.url}${TRANSCRIPTION_API_PATH}`, { method: "OPTIONS", headers: { origin: "https://client.example" } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "*");

    const stopped = await control(a, alice, roomId, "stop");
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    const after = stopped.body.state as TranscriptionStateContent;
    assert.equal(after.active, false);
    assert.equal(after.requested_by, alice.userId);
    assert.equal(after.thread_root, state.thread_root);
    assert.ok((after.stopped_at ?? 0) >= (state.started_at ?? Infinity));
    await waitUntil("B sees the stop", async () => (await stateSeenBy(b, bob, roomId))?.active === false, { timeoutMs: 20_000 });
    const again = await control(b, bob, roomId, "stop");
    assert.equal(again.status, 409);
    assert.equal(again.body.errcode, "ORG.VISIO.TRANSCRIPTION_INACTIVE");
  });

  it("the chat command starts and stops it, and refusals get a reply", async () => {
    const { testbed, alice, bob, path, as, stateSeenBy, newMeeting } = bed;
    const { a, b } = testbed.ministries;
    const roomId = await newMeeting("command");
    const say = (server: SynapseServer, user: RegisteredUser, body: string) =>
      as(server, user)<{ event_id: string }>("PUT", `${path(roomId)}/send/m.room.message/${uniqueLocalpart("txn")}`, { msgtype: "m.text", body });

    await say(b, bob, "!transcribe start en");
    await waitUntil("the command started it", async () => (await stateSeenBy(a, alice, roomId))?.active === true, { timeoutMs: 20_000 });
    assert.equal((await stateSeenBy(a, alice, roomId))?.requested_by, bob.userId);

    const { event_id: wrong } = await say(a, alice, "!transcribe start");
    const replies = async () =>
      (await as(a, alice)<{ chunk: { sender: string; content: Record<string, unknown> }[] }>("GET", `${path(roomId)}/messages?dir=b&limit=50`)).chunk.filter(
        (e) => e.sender === BOT && (e.content["m.relates_to"] as { "m.in_reply_to"?: { event_id?: string } } | undefined)?.["m.in_reply_to"]?.event_id === wrong,
      );
    await waitUntil("the bot answers the refused command", async () => (await replies()).length === 1, { timeoutMs: 20_000 });
    const [reply] = await replies();
    assert.equal(reply?.content.msgtype, "m.notice");
    // In the server's language (French by default), whatever the meeting's.
    assert.equal(reply?.content.body, "Transcription non démarrée : cette réunion est déjà transcrite");

    await say(a, alice, "!transcribe stop");
    await waitUntil("the command stopped it", async () => (await stateSeenBy(b, bob, roomId))?.active === false, { timeoutMs: 20_000 });
    assert.equal((await stateSeenBy(a, alice, roomId))?.requested_by, alice.userId);
  });

  it("during a call: dispatched when the call starts, again when the transcriber leaves, withdrawn at stop; restarted during a call it dispatches at once", async () => {
    const { testbed, alice, bob, participants, control, newMeeting, joinCall, dispatchesIn } = bed;
    const { a, b } = testbed.ministries;
    const roomId = await newMeeting("call");
    const livekitRoom = liveKitRoomAlias(roomId, SLOT);
    const livekit = testbed.livekit.a;
    const ours = (): Promise<AgentDispatch[]> => dispatchesIn(livekitRoom);

    // Transcribed before anyone is in the call: nothing to dispatch to yet.
    const started = await control(a, alice, roomId, "start");
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const state = started.body.state as TranscriptionStateContent;
    const expected: TranscriptionJobMetadata = {
      room_id: roomId,
      language: state.language,
      engine: state.engine,
      started_at: state.started_at ?? 0,
      thread_root: state.thread_root ?? "",
    };

    // The call starts.
    const callers = [await joinCall(roomId, a, alice, HOSTS.a.namespace, "publish"), await joinCall(roomId, b, bob, HOSTS.b.namespace, "listen")];

    await waitUntil("a dispatch once the call started", async () => (await ours()).length === 1, { timeoutMs: 30_000, intervalMs: 250 });
    const [first] = await ours();
    assert.ok(first);
    assert.deepEqual(JSON.parse(first.metadata), expected);

    // A transcriber joins (as a bridge worker's job would) and dies: dispatched again.
    const token = new AccessToken(livekit.apiKey, livekit.apiSecret, { identity: `${TRANSCRIBER_AGENT_NAME}-test`, name: "Transcription" });
    token.addGrant({ room: livekitRoom, roomJoin: true, hidden: true, canPublish: false, canSubscribe: true, canPublishData: true });
    const url = `ws://${HOSTS.a.address}:${HOSTS.a.livekit.port}`;
    const transcriber = startParticipant(testbed, HOSTS.a.namespace, "listen", url, await token.toJwt(), 10_000_000);
    participants.push(transcriber);
    await transcriber.waitFor("connected");
    await transcriber.process.stop();
    await waitUntil(
      "dispatched again after the transcriber left",
      async () => {
        const now = await ours();
        return now.length === 1 && now[0]?.id !== first.id;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.deepEqual(JSON.parse((await ours())[0]?.metadata ?? "{}"), expected, "the same session: the thread goes on");

    // Stop: no transcriber is connected, so the dispatch is withdrawn at once.
    const stopped = await control(b, bob, roomId, "stop");
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    await waitUntil("the dispatch withdrawn", async () => (await ours()).length === 0, { timeoutMs: 20_000, intervalMs: 250 });

    // Started again while the call goes on: dispatched right away, for the new session.
    const restarted = await control(b, bob, roomId, "start");
    assert.equal(restarted.status, 200, JSON.stringify(restarted.body));
    const second = restarted.body.state as TranscriptionStateContent;
    await waitUntil("a dispatch for the new session", async () => (await ours()).length === 1, { timeoutMs: 20_000, intervalMs: 250 });
    const metadata = JSON.parse((await ours())[0]?.metadata ?? "{}") as TranscriptionJobMetadata;
    assert.equal(metadata.started_at, second.started_at);
    assert.equal(metadata.thread_root, second.thread_root);
    assert.notEqual(metadata.thread_root, expected.thread_root);

    // Left as found: no transcribed call keeps asking for a worker in the next test.
    assert.equal((await control(a, alice, roomId, "stop")).status, 200);
    await Promise.all(callers.map((p) => p.process.stop()));
  });

  it("with real bridge workers: a start brings one into the call, a worker killed is replaced by the next one, a stop gets the files posted", async () => {
    const { testbed, appservice, alice, bob, workers, path, as, control, newMeeting, joinCall, dispatchesIn } = bed;
    const { a, b } = testbed.ministries;
    const roomId = await newMeeting("bridged");
    const livekitRoom = liveKitRoomAlias(roomId, SLOT);
    await joinCall(roomId, a, alice, HOSTS.a.namespace, "publish");
    await joinCall(roomId, b, bob, HOSTS.b.namespace, "listen");
    const configPath = await writeWorkerConfig(testbed.runDir, {
      livekit: testbed.livekit.a,
      homeserver: a,
      whisper: testbed.whisper.a,
      asToken: appservice.transcriber.asToken,
      userId: BRIDGE_USER,
      maxJobs: 1,
    });
    const startWorker = async (name: string): Promise<JsonLineProcess> => {
      const worker = spawnWorker(testbed, HOSTS.a.namespace, configPath, `bridge-${name}-${uniqueLocalpart("w")}`);
      workers.push(worker);
      await worker.waitFor("registered with LiveKit", (r) => r.event === "registered", 60_000);
      return worker;
    };
    const agentsInCall = async (): Promise<number> =>
      (await new RoomServiceClient(testbed.livekit.a.controlUrl, testbed.livekit.a.apiKey, testbed.livekit.a.apiSecret).listParticipants(livekitRoom)).filter(
        (p) => p.kind === ParticipantInfo_Kind.AGENT,
      ).length;

    const transcriberNotices = async (): Promise<TranscriberNoticeFields[]> => {
      const page = await as(a, alice)<{ chunk: { sender: string; content: Record<string, unknown> }[] }>("GET", `${path(roomId)}/messages?dir=f&limit=200`);
      return page.chunk.filter((e) => e.sender === BOT && e.content[TRANSCRIBER_NOTICE_KEY] !== undefined).map((e) => e.content[TRANSCRIBER_NOTICE_KEY] as TranscriberNoticeFields);
    };

    // Started while no worker is running: the thread is told, and told again when one takes the call.
    const started = await control(b, bob, roomId, "start");
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const state = started.body.state as TranscriptionStateContent;
    await waitUntil("the 'no worker' notice in the thread", async () => (await transcriberNotices()).length > 0, { timeoutMs: NO_WORKER_NOTICE_MS + 20_000, intervalMs: 1000 });
    const first = await startWorker("first");
    const job1 = await first.waitFor("took the job", (r) => r.event === "job-started" && r.matrixRoom === roomId, 30_000);
    await first.waitFor("joined the call", (r) => r.event === "connected" && r.job === job1.job, 30_000);
    await waitUntil("the transcriber is in the call as an agent", async () => (await agentsInCall()) === 1, { timeoutMs: 15_000 });
    await waitUntil("the 'running' notice in the thread", async () => (await transcriberNotices()).length === 2, { timeoutMs: 20_000, intervalMs: 500 });
    assert.deepEqual(await transcriberNotices(), [
      { state: "waiting", server_name: HOSTS.a.serverName },
      { state: "running", server_name: HOSTS.a.serverName },
    ]);

    // The worker goes away mid-meeting; the next worker to register gets the call.
    await first.process.stop();
    const second = await startWorker("second");
    const job2 = await second.waitFor("took the job again", (r) => r.event === "job-started" && r.matrixRoom === roomId, 60_000);
    await second.waitFor("joined the call", (r) => r.event === "connected" && r.job === job2.job, 30_000);
    const [dispatch] = await dispatchesIn(livekitRoom);
    assert.deepEqual(JSON.parse(dispatch?.metadata ?? "{}"), {
      room_id: roomId,
      language: state.language,
      engine: state.engine,
      started_at: state.started_at,
      thread_root: state.thread_root,
    });

    // Stop: the stop message makes it post the files in the thread and leave; the dispatch goes.
    const stopped = await control(a, alice, roomId, "stop");
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    const posted = await second.waitFor("posted the files", (r) => r.event === "files-posted" && r.job === job2.job, 30_000);
    await second.waitFor("ended the job on the stop message", (r) => r.event === "job-ended" && r.job === job2.job && r.end === "stopped", 15_000);
    const files = posted.files as { eventId: string }[];
    assert.equal(files.length, 2);
    for (const file of files) {
      const event = await as(a, alice)<{ sender: string; content: Record<string, unknown> }>("GET", `${path(roomId)}/event/${encodeURIComponent(file.eventId)}`);
      assert.equal(event.sender, BRIDGE_USER);
      assert.equal((event.content["m.relates_to"] as { event_id?: string } | undefined)?.event_id, state.thread_root, "in the session's thread");
    }
    await waitUntil("the transcriber left and its dispatch was withdrawn", async () => (await agentsInCall()) === 0 && (await dispatchesIn(livekitRoom)).length === 0, {
      timeoutMs: 30_000,
      intervalMs: 500,
    });
  });

  it("a French meeting on a worker with only the English model is refused at start, in French, and the transcription stops", async () => {
    const { testbed, appservice, alice, bob, workers, path, as, control, stateSeenBy, newMeeting, joinCall, dispatchesIn } = bed;
    const { a, b } = testbed.ministries;
    // Only this worker takes jobs of A's LiveKit.
    await Promise.all(workers.splice(0).map((w) => w.process.stop()));
    const roomId = await newMeeting("englishonly");
    await joinCall(roomId, a, alice, HOSTS.a.namespace, "publish");
    const configPath = await writeWorkerConfig(testbed.runDir, {
      livekit: testbed.livekit.a,
      homeserver: a,
      whisper: testbed.whisper.a,
      asToken: appservice.transcriber.asToken,
      userId: BRIDGE_USER,
      maxJobs: 1,
      models: ["tiny.en"],
    });
    const worker = spawnWorker(testbed, HOSTS.a.namespace, configPath, `bridge-english-only-${uniqueLocalpart("w")}`);
    workers.push(worker);
    await worker.waitFor("registered with LiveKit", (r) => r.event === "registered", 60_000);

    // No language named: the server's default, French.
    const started = await control(b, bob, roomId, "start");
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const state = started.body.state as TranscriptionStateContent;
    assert.equal(state.language, "fr");
    const refused = await worker.waitFor("refused the job", (r) => r.event === "refused", 60_000);
    assert.match(String(refused.reason), /no configured Whisper model transcribes language fr \(tiny\.en: en\)/);
    await worker.waitFor("ended the refused job", (r) => r.event === "job-ended" && r.end === "refused", 15_000);
    await waitUntil("the transcription stopped", async () => (await stateSeenBy(a, alice, roomId))?.active === false, { timeoutMs: 30_000 });
    assert.equal((await stateSeenBy(a, alice, roomId))?.requested_by, BRIDGE_USER);

    // The state is written first; the stop notice, which only marks the moment, follows it.
    type Timeline = { sender: string; content: Record<string, unknown> }[];
    let timeline: Timeline = [];
    await waitUntil("the stop notice posted", async () => {
      timeline = (await as(a, alice)<{ chunk: Timeline }>("GET", `${path(roomId)}/messages?dir=f&limit=100`)).chunk;
      return timeline.some((e) => e.sender === BOT && e.content[TRANSCRIPTION_STATE_EVENT] !== undefined);
    }, { timeoutMs: 15_000, intervalMs: 250 });
    const root = timeline.find((e) => e.sender === BOT && e.content[TRANSCRIPT_SESSION_KEY] !== undefined);
    assert.equal(root?.content.body, "Transcription démarrée");
    const notice = timeline.find((e) => e.sender === BRIDGE_USER && e.content[TRANSCRIBER_NOTICE_KEY] !== undefined);
    assert.match(String(notice?.content.body), /^La transcription ne peut pas démarrer : le service de transcription de ministry-a\.test n'a aucun modèle pour la langue fr/);
    assert.equal((notice?.content["m.relates_to"] as { event_id?: string } | undefined)?.event_id, state.thread_root, "in the session's thread");
    const stopped = timeline.find((e) => e.sender === BOT && e.content[TRANSCRIPTION_STATE_EVENT] !== undefined);
    assert.equal(stopped?.content.body, "Transcription arrêtée : le service de transcription de ministry-a.test ne transcrit pas la langue de la réunion.");
    await waitUntil("the refused dispatch withdrawn", async () => (await dispatchesIn(liveKitRoomAlias(roomId, SLOT))).length === 0, { timeoutMs: 30_000, intervalMs: 500 });

    // The same meeting in English: the English model takes it.
    const english = await control(a, alice, roomId, "start", "en");
    assert.equal(english.status, 200, JSON.stringify(english.body));
    const job = await worker.waitFor("took the English session", (r) => r.event === "job-started" && r.matrixRoom === roomId && r.job !== refused.job, 60_000);
    await worker.waitFor("joined the call", (r) => r.event === "connected" && r.job === job.job, 30_000);
    assert.equal((await control(a, alice, roomId, "stop")).status, 200);
    await worker.waitFor("ended the English session with its files", (r) => r.event === "job-ended" && r.job === job.job && r.end === "stopped", 30_000);
  });

  it("with control_power_level 50, members below it are refused and moderators are not", async () => {
    bed.appservice = await startAppservice("a", { transcription: { control_power_level: 50 } });
    const { testbed, appservice, bob, path, control, newMeeting } = bed;
    const { a, b } = testbed.ministries;
    const roomId = await newMeeting("moderated");
    const low = await control(b, bob, roomId, "start");
    assert.equal(low.status, 403);
    assert.equal(low.body.errcode, "M_FORBIDDEN");
    assert.match(String(low.body.error), /power level 50/);

    // The bot (room admin) makes bob a moderator.
    const botAs = <T>(method: "GET" | "PUT", p: string, body?: unknown) => matrixRequest<T>(a.clientUrl, appservice.config.appservice.as_token, method, p, body);
    const levels = await botAs<{ users: Record<string, number> }>("GET", `${path(roomId)}/state/m.room.power_levels/`);
    await botAs("PUT", `${path(roomId)}/state/m.room.power_levels/`, { ...levels, users: { ...levels.users, [bob.userId]: 50 } });
    const ok = await control(b, bob, roomId, "start");
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await control(b, bob, roomId, "stop")).status, 200);
  });
});
