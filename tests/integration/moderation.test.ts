// Moderation across federation, against the real servers (Synapse A and B, one LiveKit per ministry,
// multi_sfu): a moderator of A (the meeting's creator, power level 50) acts on participants of B, who
// publish on B's SFU, through B's appservice, which checks her power level in its own homeserver's
// view of the room and applies the action with LiveKit's server API. Shown here: a non-moderator is
// refused; a mute reaches LiveKit; a removal disconnects the participant, who gets no new token for a
// while; an end empties B's LiveKit room, refuses tokens, and A's bot posts the notice.
import assert from "node:assert/strict";
import { RoomServiceClient, TrackType } from "livekit-server-sdk";
import { MODERATION_API_PATH, type ModerationRequest } from "../../config/wire-types.ts";
import { CALL_SLOT, liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, SynapseServer, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { requestJson, type JsonResponse } from "../harness/http.ts";
import { createMeeting, joinAlias, openIdToken, publishCallMembership, requestFocusToken } from "../harness/matrix-users.ts";
import { startParticipant, type Participant } from "../support/participants.ts";

describe("moderation through each ministry's appservice (real Synapse A and B, LiveKit A and B, multi_sfu)", function () {
  this.timeout(180_000);
  let testbed: Testbed;
  let appservices: Record<"a" | "b", AppserviceProcess>;
  let livekitB: RoomServiceClient;
  let roomId: string;
  let livekitRoom: string;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let carol: RegisteredUser;
  const participants: Participant[] = [];

  const moderate = async (ministry: "a" | "b", server: SynapseServer, user: RegisteredUser, request: Omit<ModerationRequest, "openid_token">): Promise<JsonResponse> =>
    requestJson("POST", `${appservices[ministry].url}${MODERATION_API_PATH}`, { body: { ...request, openid_token: await openIdToken(server, user) } });

  /** A user of B joins the call as a MatrixRTC client does, publishing a microphone on B's SFU. */
  const joinCallOnB = async (user: RegisteredUser): Promise<Participant> => {
    const b = testbed.ministries.b;
    await publishCallMembership(b, user, roomId);
    const res = await requestFocusToken(appservices.b.url, roomId, b, user, CALL_SLOT);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const participant = startParticipant(testbed, HOSTS.b.namespace, "publish", String(res.body.url), String(res.body.jwt), 600);
    participants.push(participant);
    await participant.waitFor("published", 30_000);
    return participant;
  };

  const microphonesOf = async (userId: string) =>
    (await livekitB.listParticipants(livekitRoom))
      .filter((p) => p.attributes["org.visio.matrix_user_id"] === userId)
      .flatMap((p) => p.tracks.filter((t) => t.type === TrackType.AUDIO));

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    const [a, b] = await Promise.all([startAppservice("a", { sfuSelection: "multi_sfu" }), startAppservice("b", { sfuSelection: "multi_sfu" })]);
    appservices = { a, b };
    const livekit = testbed.livekit.b;
    assert.ok(livekit);
    livekitB = new RoomServiceClient(livekit.controlUrl, livekit.apiKey, livekit.apiSecret);
    alice = await testbed.ministries.a.registerUser(uniqueLocalpart("alice"));
    bob = await testbed.ministries.b.registerUser(uniqueLocalpart("bob"));
    carol = await testbed.ministries.b.registerUser(uniqueLocalpart("carol"));
    const meeting = await createMeeting(a, testbed.ministries.a, alice, "Modération");
    roomId = meeting.roomId;
    livekitRoom = liveKitRoomAlias(roomId, CALL_SLOT);
    await joinAlias(testbed.ministries.b, bob, meeting.alias);
    await joinAlias(testbed.ministries.b, carol, meeting.alias);
  });
  after(async () => {
    await Promise.all(participants.map((p) => p.process.stop()));
  });

  it("lets A's moderator mute and remove a participant of B on B's SFU, and refuses a non-moderator", async () => {
    const { a, b } = testbed.ministries;
    const bobOnB = await joinCallOnB(bob);
    await waitUntil("bob's microphone on B's SFU", async () => (await microphonesOf(bob.userId)).length === 1, { timeoutMs: 20_000 });

    // Carol is a member, not a moderator.
    const refused = await moderate("b", b, carol, { room_id: roomId, action: "mute", target: bob.userId });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.equal(refused.body.errcode, "M_FORBIDDEN");
    assert.equal((await microphonesOf(bob.userId))[0]?.muted, false, "the refusal muted nothing");
    // Bad input and unknown rooms are told so.
    assert.equal((await moderate("b", a, alice, { room_id: roomId, action: "mute" })).status, 400);
    assert.equal((await moderate("b", a, alice, { room_id: "!nowhere:ministry-a.test", action: "end" })).status, 404);

    const muted = await moderate("b", a, alice, { room_id: roomId, action: "mute", target: bob.userId });
    assert.equal(muted.status, 200, JSON.stringify(muted.body));
    assert.equal(muted.body.affected, 1);
    await waitUntil("bob's microphone muted on B's SFU", async () => (await microphonesOf(bob.userId))[0]?.muted === true, { timeoutMs: 10_000 });

    const removed = await moderate("b", a, alice, { room_id: roomId, action: "remove", target: bob.userId });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    const disconnected = await bobOnB.waitFor("disconnected", 10_000);
    assert.equal(disconnected.reason, 4, `PARTICIPANT_REMOVED, got ${JSON.stringify(disconnected)}`);
    const again = await requestFocusToken(appservices.b.url, roomId, b, bob, CALL_SLOT);
    assert.equal(again.status, 403, "a removed participant gets no new token at once");
    assert.match(String(again.body.error), /moderator/);
    // Asked of A too (as the client does: every ministry in the call), A's focus refuses him as well.
    assert.equal((await requestFocusToken(appservices.a.url, roomId, a, alice, CALL_SLOT)).status, 200, "alice opens the call on A's SFU");
    assert.equal((await requestFocusToken(appservices.a.url, roomId, b, bob, CALL_SLOT)).status, 200, "A's focus had not been asked to refuse him yet");
    const removedOnA = await moderate("a", a, alice, { room_id: roomId, action: "remove", target: bob.userId });
    assert.equal(removedOnA.status, 200, JSON.stringify(removedOnA.body));
    assert.equal((await requestFocusToken(appservices.a.url, roomId, b, bob, CALL_SLOT)).status, 403);
    // Carol is not concerned.
    assert.equal((await requestFocusToken(appservices.b.url, roomId, b, carol, CALL_SLOT)).status, 200);
  });

  it("ends the call: B's LiveKit room emptied, tokens refused for a while, the end announced in the meeting by A's bot", async () => {
    const { a, b } = testbed.ministries;
    const carolOnB = await joinCallOnB(carol);
    const refused = await moderate("b", b, carol, { room_id: roomId, action: "end" });
    assert.equal(refused.status, 403);
    for (const ministry of ["a", "b"] as const) {
      const ended = await moderate(ministry, a, alice, { room_id: roomId, action: "end" });
      assert.equal(ended.status, 200, `${ministry}: ${JSON.stringify(ended.body)}`);
    }
    const disconnected = await carolOnB.waitFor("disconnected", 10_000);
    assert.equal(disconnected.reason, 5, `ROOM_DELETED, got ${JSON.stringify(disconnected)}`);
    assert.deepEqual(await livekitB.listRooms([livekitRoom]), []);
    assert.equal((await requestFocusToken(appservices.b.url, roomId, b, carol, CALL_SLOT)).status, 403);
    const notices = async () =>
      (
        await matrixRequest<{ chunk: { sender: string; content: Record<string, unknown> }[] }>(
          a.clientUrl,
          alice.accessToken,
          "GET",
          `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=50`,
        )
      ).chunk.filter((e) => e.content.body === "L'animateur a mis fin à l'appel");
    await waitUntil("the end notice in the meeting", async () => (await notices()).length > 0, { timeoutMs: 10_000 });
    assert.deepEqual((await notices()).map((e) => e.sender), [`@${appservices.a.config.appservice.sender_localpart}:${a.serverName}`]);
  });
});
