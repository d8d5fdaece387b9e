// Transcription control wired in a real appservice process (in-process, SQLite file) with homeserver,
// federation and LiveKit doubles: the HTTP API, the chat command from a transaction, and the call
// lifecycle's hooks (a call's first participant and a transcriber leaving, from signed webhooks).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ParticipantInfo_Kind } from "@livekit/protocol";
import { Room } from "livekit-server-sdk";
import { start, type RunningAppservice } from "../../appservice/src/app.ts";
import { FakeLiveKitRoomService } from "../../appservice/src/calls/testing/fake-livekit-room-service.ts";
import { postWebhook, signWebhook, webhookBody, type WebhookFields } from "../../appservice/src/calls/testing/livekit-webhooks.ts";
import type { FederationGet } from "../../appservice/src/focus/federation-client.ts";
import { liveKitIdentity, liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { createLogger } from "../../appservice/src/log.ts";
import { FakeHomeserver } from "../../appservice/src/testing/fake-homeserver.ts";
import { FakeTranscriberLiveKit } from "../../appservice/src/transcription/testing/fake-transcriber-livekit.ts";
import { parseConfig } from "../../config/load.ts";
import { TRANSCRIPTION_API_PATH, TRANSCRIBER_AGENT_NAME, TRANSCRIPTION_STATE_EVENT, type RoomEvent, type TranscriptionStateContent } from "../../config/wire-types.ts";
import { waitUntil } from "../harness/wait.ts";
import { requestJson } from "../harness/http.ts";

const API_KEY = "transcription-test-key";
const API_SECRET = "transcription-test-secret-0123456789abcdef";
const HS_TOKEN = "hs-token-for-tests-0123456789abcdefghij";
const BOT = "@visio:ministry-a.test";
const ALICE = "@alice:ministry-a.test";
const BOB = "@bob:ministry-b.test";
const ROOM = "!visio-weekly:fake.test";
const SLOT = "m.call#ROOM";
const token = (name: string) => ({ access_token: `${name}-token`, token_type: "Bearer", matrix_server_name: name === "bob" ? "ministry-b.test" : "ministry-a.test", expires_in: 3600 });

describe("transcription control in the appservice (in-process, doubles)", () => {
  let dir: string;
  let running: RunningAppservice;
  let homeserver: FakeHomeserver;
  let transcription: FakeTranscriberLiveKit;
  let txnCounter = 0;
  let eventCounter = 0;
  const lkRoom = liveKitRoomAlias(ROOM, SLOT);

  const federationGet: FederationGet = async (_target, path) => {
    if (path.startsWith("/.well-known/")) return { status: 404, body: null };
    if (path.includes("alice-token")) return { status: 200, body: { sub: ALICE } };
    if (path.includes("bob-token")) return { status: 200, body: { sub: BOB } };
    return { status: 401, body: { errcode: "M_UNKNOWN_TOKEN" } };
  };
  const txn = async (events: RoomEvent[]): Promise<void> => {
    const res = await requestJson("PUT", `${running.url}/_matrix/app/v1/transactions/t${++txnCounter}`, { token: HS_TOKEN, body: { events } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const event = (type: string, sender: string, content: Record<string, unknown>, stateKey?: string): RoomEvent => ({
    event_id: `$ev${++eventCounter}`,
    room_id: ROOM,
    type,
    sender,
    origin_server_ts: Date.now(),
    content,
    ...(stateKey !== undefined ? { state_key: stateKey } : {}),
  });
  const webhook = async (fields: Omit<WebhookFields, "room">, kind?: ParticipantInfo_Kind): Promise<void> => {
    const body = JSON.parse(webhookBody({ room: lkRoom, ...fields })) as { participant?: Record<string, unknown> };
    // protojson names enum values; AGENT is what LiveKit sends for a worker's participant.
    if (kind === ParticipantInfo_Kind.AGENT && body.participant) body.participant.kind = "AGENT";
    const res = await postWebhook(`${running.url}/livekit/webhook`, await signWebhook(JSON.stringify(body), API_KEY, API_SECRET));
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const state = (): TranscriptionStateContent | undefined =>
    homeserver.state.get(ROOM)?.get(`${TRANSCRIPTION_STATE_EVENT}\u0000`) as TranscriptionStateContent | undefined;
  const api = (body: unknown) => requestJson("POST", `${running.url}${TRANSCRIPTION_API_PATH}`, { body });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "visio-transcription-"));
    homeserver = new FakeHomeserver();
    transcription = new FakeTranscriberLiveKit();
    const config = parseConfig({
      homeserver: { server_name: "ministry-a.test", url: "http://127.0.0.1:1" },
      appservice: { url: "http://127.0.0.1:9000", port: 0, as_token: "as-token-for-tests-0123456789abcdefghij", hs_token: HS_TOKEN },
      database: { client: "sqlite", filename: join(dir, "as.db") },
      federation: { allowlist: ["ministry-a.test", "ministry-b.test"] },
      focus: { livekit: { url: "ws://127.0.0.1:1", api_key: API_KEY, api_secret: API_SECRET } },
      logging: { level: "error" },
    });
    running = await start(config, {
      homeserver,
      livekit: new FakeLiveKitRoomService(),
      transcription: { dispatches: transcription, rooms: transcription },
      log: createLogger("error"),
      callTickMs: 50,
      callReconcileMs: 200,
      focus: { federationGet, rooms: { listRooms: async () => [], createRoom: async (o: { name: string }) => new Room({ name: o.name }) } },
    });
    // A meeting of this ministry (as the meetings API records one), with alice and bob joined.
    await running.store.saveMeetingRoom({ roomId: ROOM, alias: "#visio-weekly:ministry-a.test", slug: "weekly", createdAt: Date.now() });
    await txn([ALICE, BOB, BOT].map((u) => event("m.room.member", u, { membership: "join" }, u)));
    await homeserver.setState(ROOM, "m.room.power_levels", "", { users: { [BOT]: 100 } });
  });
  after(async () => {
    await running.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers the API with Matrix errors and CORS, and starts through it", async () => {
    const preflight = await fetch(`${running.url}${TRANSCRIPTION_API_PATH}`, { method: "OPTIONS" });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
    assert.equal((await requestJson("POST", `${running.url}${TRANSCRIPTION_API_PATH}`, { rawBody: "{" })).body.errcode, "M_NOT_JSON");
    const forged = await api({ room_id: ROOM, action: "start", openid_token: token("mallory") });
    assert.deepEqual([forged.status, forged.body.errcode], [401, "M_UNAUTHORIZED"]);
    const evil = await api({ room_id: ROOM, action: "start", openid_token: { ...token("bob"), matrix_server_name: "evil.test" } });
    assert.deepEqual([evil.status, evil.body.errcode], [403, "M_FORBIDDEN"]);
    assert.equal(state(), undefined);

    const res = await api({ room_id: ROOM, action: "start", language: "fr", openid_token: token("bob") });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual((res.body.state as TranscriptionStateContent | undefined)?.requested_by, BOB);
    assert.deepEqual(state(), res.body.state);
    const again = await api({ room_id: ROOM, action: "start", openid_token: token("alice") });
    assert.deepEqual([again.status, again.body.errcode], [409, "ORG.VISIO.TRANSCRIPTION_ACTIVE"]);
  });

  it("dispatches when the call gets its first participant, and again when the transcriber leaves", async () => {
    const identity = liveKitIdentity(ALICE, "DA", "member-DA");
    await running.callStore.recordIdentity({ livekitRoom: lkRoom, identity, roomId: ROOM, userId: ALICE, deviceId: "DA", issuedAt: Date.now() });
    transcription.connect(lkRoom, identity);
    await webhook({ event: "participant_joined", identity });
    await waitUntil("a dispatch", () => Promise.resolve(transcription.ofAgent(lkRoom, TRANSCRIBER_AGENT_NAME).length === 1), { timeoutMs: 5000, intervalMs: 20 });
    const first = transcription.ofAgent(lkRoom, TRANSCRIBER_AGENT_NAME)[0];
    assert.ok(first);
    assert.equal(JSON.parse(first.metadata).thread_root, state()?.thread_root);

    // A worker takes it and joins; then it dies.
    transcription.takeJob(lkRoom, first.id);
    const agent = `${TRANSCRIBER_AGENT_NAME}-AJ_1`;
    transcription.connect(lkRoom, agent, ParticipantInfo_Kind.AGENT);
    transcription.disconnect(lkRoom, agent);
    await webhook({ event: "participant_left", identity: "agent-AJ_1", at: Date.now() + 1000 }, ParticipantInfo_Kind.AGENT);
    await waitUntil(
      "dispatched again",
      () => Promise.resolve(transcription.ofAgent(lkRoom, TRANSCRIBER_AGENT_NAME).some((d) => d.id !== first.id)),
      { timeoutMs: 5000, intervalMs: 20 },
    );
    assert.equal(transcription.ofAgent(lkRoom, TRANSCRIBER_AGENT_NAME).length, 1, "the lost worker's dispatch is replaced, not kept");
  });

  it("the reconciler dispatches again when LiveKit lost the dispatch and no webhook said so", async () => {
    const [lost] = transcription.ofAgent(lkRoom, TRANSCRIBER_AGENT_NAME);
    assert.ok(lost);
    await transcription.deleteDispatch(lost.id, lkRoom);
    await waitUntil("dispatched by the reconciler", () => Promise.resolve(transcription.ofAgent(lkRoom, TRANSCRIBER_AGENT_NAME).length === 1), {
      timeoutMs: 5000,
      intervalMs: 20,
    });
    assert.notEqual(transcription.ofAgent(lkRoom, TRANSCRIBER_AGENT_NAME)[0]?.id, lost.id);
  });

  it("stops on the chat command from a transaction, and the dispatch is withdrawn", async () => {
    await txn([event("m.room.message", ALICE, { msgtype: "m.text", body: "!transcribe stop" })]);
    await waitUntil("stopped", () => Promise.resolve(state()?.active === false), { timeoutMs: 5000, intervalMs: 20 });
    assert.equal(state()?.requested_by, ALICE);
    assert.equal(transcription.ofAgent(lkRoom, TRANSCRIBER_AGENT_NAME).length, 1, "the stop follows from the state, once the homeserver delivers it");
    // The homeserver delivers the bot's state event back, as Synapse does.
    await txn([event(TRANSCRIPTION_STATE_EVENT, BOT, { ...state() }, "")]);
    await waitUntil("withdrawn", () => Promise.resolve(transcription.ofAgent(lkRoom, TRANSCRIBER_AGENT_NAME).length === 0), { timeoutMs: 5000, intervalMs: 20 });
    // The same transaction delivered again is not a second command.
    const replies = homeserver.messages.length;
    const res = await requestJson("PUT", `${running.url}/_matrix/app/v1/transactions/t${txnCounter}`, {
      token: HS_TOKEN,
      body: { events: [event("m.room.message", ALICE, { msgtype: "m.text", body: "!transcribe stop" })] },
    });
    assert.equal(res.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(homeserver.messages.length, replies, "no reply to a redelivered transaction");
  });
});
