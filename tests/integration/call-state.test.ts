// Call state against the real servers: LiveKit A sends its webhooks to A's appservice, users of A
// and B publish MatrixRTC memberships on their homeservers and connect real rtc-node participants.
// Shown here: the call survives a restart of the appservice with its record complete, a kicked
// user is disconnected from LiveKit within seconds, and an MSC4140 delayed leave event (a client
// that stopped refreshing it) removes that device's participant.
import assert from "node:assert/strict";
import { RoomServiceClient } from "livekit-server-sdk";
import type { CallNoticeContent } from "../../config/wire-types.ts";
import { FOCUS_PATH_PREFIX } from "../../appservice/src/app.ts";
import { createCallStore, type Call, type CallStore } from "../../appservice/src/calls/call-store.ts";
import { liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { openDatabase } from "../../appservice/src/storage/database.ts";
import { createStore, type Store } from "../../appservice/src/storage/store.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, SynapseServer, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { createMeeting, joinAlias, requestFocusToken, waitForJoins } from "../harness/matrix-users.ts";
import { startParticipant, type Participant } from "../support/participants.ts";

const SLOT = "m.call#ROOM";
const CALL_MEMBER = "org.matrix.msc3401.call.member";

describe("call state and lifecycle (real Synapse A, B, LiveKit A with webhooks)", function () {
  this.timeout(180_000);
  let testbed: Testbed;
  let appservice: AppserviceProcess;
  let db: { store: Store; calls: CallStore; close(): Promise<void> };
  let livekitApi: RoomServiceClient;
  let roomId: string;
  let livekitRoom: string;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  const participants: Participant[] = [];

  const as = (server: SynapseServer, token: string) =>
    <T>(method: "GET" | "POST" | "PUT", path: string, body?: unknown): Promise<T> => matrixRequest<T>(server.clientUrl, token, method, path, body);
  const room = (): string => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;
  const memberStateKey = (user: RegisteredUser): string => `_${user.userId}_${user.deviceId}`;
  const membershipContent = (user: RegisteredUser) => ({
    application: "m.call",
    call_id: "",
    scope: "m.room",
    device_id: user.deviceId,
    focus_active: { type: "livekit", focus_selection: "oldest_membership" },
    foci_preferred: [{ type: "livekit", livekit_service_url: `http://${HOSTS.a.address}:${HOSTS.a.appservicePort}${FOCUS_PATH_PREFIX}`, livekit_alias: roomId }],
    expires: 3_600_000,
  });

  /** What a MatrixRTC client does to join: membership event, focus token, LiveKit connection. */
  const joinCall = async (server: SynapseServer, user: RegisteredUser, namespace: string, mode: "publish" | "listen"): Promise<Participant> => {
    await as(server, user.accessToken)("PUT", `${room()}/state/${CALL_MEMBER}/${encodeURIComponent(memberStateKey(user))}`, membershipContent(user));
    const res = await requestFocusToken(appservice.url, roomId, server, user, SLOT);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // Publishing and listening far longer than the test: only a removal ends these connections.
    const participant = startParticipant(testbed, namespace, mode, String(res.body.url), String(res.body.jwt), mode === "publish" ? 600 : 10_000_000);
    participants.push(participant);
    await participant.waitFor("connected");
    return participant;
  };

  const notices = async (): Promise<CallNoticeContent[]> => {
    const res = await as(testbed.ministries.a, alice.accessToken)<{ chunk: { sender: string; content: Record<string, unknown> }[] }>(
      "GET",
      `${room()}/messages?dir=f&limit=100`,
    );
    return res.chunk
      .filter((e) => e.sender === "@visio:ministry-a.test" && e.content.msgtype === "m.notice" && "org.visio.call" in e.content)
      .map((e) => e.content as unknown as CallNoticeContent);
  };

  const activeCall = async (): Promise<Call> => {
    const call = await db.calls.activeCall(roomId);
    assert.ok(call, "a call is running");
    return call;
  };

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    appservice = await startAppservice("a");
    const knex = await openDatabase(appservice.config.database);
    db = { store: createStore(knex), calls: createCallStore(knex), close: () => knex.destroy() };
    const livekit = testbed.livekit.a;
    livekitApi = new RoomServiceClient(livekit.controlUrl, livekit.apiKey, livekit.apiSecret);
    const { a, b } = testbed.ministries;
    alice = await a.registerUser(uniqueLocalpart("alice"));
    bob = await b.registerUser(uniqueLocalpart("bob"));
    let alias: string;
    ({ roomId, alias } = await createMeeting(appservice, a, alice, "État de l'appel"));
    await joinAlias(b, bob, alias);
    livekitRoom = liveKitRoomAlias(roomId, SLOT);
    await waitForJoins(db.store, roomId, [alice, bob]);
  });
  after(async () => {
    await Promise.all(participants.map((p) => p.process.stop()));
    await db?.close();
  });

  it("keeps a call going across an appservice restart, disconnects a kicked user within seconds, honours a delayed leave, and records it all", async () => {
    const { a, b } = testbed.ministries;
    const speaker = await joinCall(a, alice, HOSTS.a.namespace, "publish");
    await speaker.waitFor("published");
    const listener = await joinCall(b, bob, HOSTS.b.namespace, "listen");
    await listener.waitFor("subscribed");

    // LiveKit's webhooks and the membership events became one call with four presences.
    await waitUntil(
      "both LiveKit participants recorded from the webhooks",
      async () => {
        const call = await db.calls.activeCall(roomId);
        return call !== null && (await db.calls.openPresences(call.id)).filter((p) => p.source === "livekit").length === 2;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const call = await activeCall();
    await waitUntil("the start notice in the room", async () => (await notices()).length === 1, { timeoutMs: 20_000 });

    // Restart in the middle of the call.
    appservice = await startAppservice("a");
    assert.deepEqual(
      (await listener.reports()).concat(await speaker.reports()).filter((r) => r.event === "disconnected"),
      [],
      "nobody was disconnected by the restart",
    );
    assert.equal((await livekitApi.listParticipants(livekitRoom)).length, 2);

    // A kick by a moderator (the room's bot here) disconnects bob's LiveKit participant.
    const kickedAt = Date.now();
    await as(a, appservice.config.appservice.as_token)("POST", `${room()}/kick`, { user_id: bob.userId, reason: "test" });
    await listener.waitFor("disconnected", 10_000);
    const kickToDisconnect = Date.now() - kickedAt;
    assert.ok(kickToDisconnect < 5000, `kicked user disconnected after ${kickToDisconnect} ms`);
    assert.equal(await db.calls.activeCall(roomId).then((c) => c?.id), call.id, "alice's call goes on");

    // Alice's client schedules its leave (MSC4140) and then stops refreshing it, as a crashed
    // client would: the homeserver sends it, and her LiveKit participant must not stay a ghost.
    const delayedAt = Date.now();
    await as(a, alice.accessToken)(
      "PUT",
      `${room()}/state/${CALL_MEMBER}/${encodeURIComponent(memberStateKey(alice))}?org.matrix.msc4140.delay=1500`,
      {},
    );
    await speaker.waitFor("disconnected", 15_000);
    assert.ok(Date.now() - delayedAt >= 1500, "removed after the delay, not before");

    await waitUntil("the call ended", async () => (await db.calls.call(call.id))?.endedAt != null, { timeoutMs: 20_000, intervalMs: 200 });
    const ended = await db.calls.call(call.id);
    assert.ok(ended?.endedAt);
    assert.equal(ended.participantCount, 2);
    assert.equal(ended.maxConcurrent, 2);
    const presences = await db.calls.presences(call.id);
    assert.deepEqual(
      presences.map((p) => [p.source, p.userId]).sort(),
      [
        ["livekit", alice.userId],
        ["livekit", bob.userId],
        ["matrixrtc", alice.userId],
        ["matrixrtc", bob.userId],
      ].sort(),
    );
    for (const p of presences) {
      assert.ok(p.leftAt !== null && p.leftAt >= p.joinedAt, `presence of ${p.userId} (${p.source}) closed`);
    }
    const bobLiveKit = presences.find((p) => p.source === "livekit" && p.userId === bob.userId);
    assert.ok(bobLiveKit?.leftAt && bobLiveKit.leftAt >= Math.floor(kickedAt / 1000) * 1000, "bob left at the kick, after the restart");

    await waitUntil("the end notice in the room", async () => (await notices()).length === 2, { timeoutMs: 20_000 });
    const [started, endNotice] = await notices();
    assert.equal(started?.body, "Appel démarré");
    assert.match(endNotice?.body ?? "", /^Appel terminé · 2 participants · (< 1|1) min$/);
    assert.equal(endNotice?.["org.visio.call"].call_id, call.id);
    assert.deepEqual([...(endNotice?.["org.visio.call"].participant_ids ?? [])].sort(), [alice.userId, bob.userId].sort());

    await waitUntil(
      "the LiveKit room closed",
      async () => !(await livekitApi.listRooms([livekitRoom])).some((r) => r.name === livekitRoom),
      { timeoutMs: 15_000, intervalMs: 250 },
    );
  });
});
