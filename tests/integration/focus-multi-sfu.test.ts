// multi_sfu: each ministry's users publish on their own ministry's LiveKit and subscribe to the
// others' SFUs with subscribe-only tokens from that ministry's focus service. The meeting is hosted
// by A; B's appservice follows it when its first user asks for a token.
import assert from "node:assert/strict";
import { TokenVerifier } from "livekit-server-sdk";
import { FOCUS_PATH_PREFIX } from "../../appservice/src/app.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, SynapseServer, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { requestJson } from "../harness/http.ts";
import { createMeeting, joinAlias, openIdToken, requestFocusToken } from "../harness/matrix-users.ts";
import { startParticipant } from "../support/participants.ts";

const SLOT = "m.call#ROOM";

describe("focus service in multi_sfu mode (an SFU per ministry)", function () {
  this.timeout(180_000);
  let testbed: Testbed;
  let focus: Record<"a" | "b", AppserviceProcess>;
  let roomId: string;
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  const tokenFrom = async (ministry: "a" | "b", server: SynapseServer, user: RegisteredUser) => {
    const res = await requestFocusToken(focus[ministry].url, roomId, server, user, SLOT);
    assert.equal(res.status, 200, `${ministry}'s focus for ${user.userId}: ${JSON.stringify(res.body)}`);
    const livekit = testbed.livekit[ministry];
    assert.ok(livekit);
    assert.equal(res.body.url, livekit.url);
    const claims = await new TokenVerifier(livekit.apiKey, livekit.apiSecret).verify(String(res.body.jwt));
    return { url: livekit.url, jwt: String(res.body.jwt), canPublish: claims.video?.canPublish, identity: claims.sub };
  };

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    const [a, b] = await Promise.all([startAppservice("a", { sfuSelection: "multi_sfu" }), startAppservice("b", { sfuSelection: "multi_sfu" })]);
    focus = { a, b };
    alice = await testbed.ministries.a.registerUser(uniqueLocalpart("alice"));
    bob = await testbed.ministries.b.registerUser(uniqueLocalpart("bob"));
    const meeting = await createMeeting(a, testbed.ministries.a, alice, "Deux SFU");
    roomId = meeting.roomId;
    await joinAlias(testbed.ministries.b, bob, meeting.alias);
  });

  it("lets each user publish at home and only subscribe abroad, and each hears the other", async () => {
    const { a, b } = testbed.ministries;
    // Publishing at home first: a ministry's own users open the call on its SFU.
    const alicePublishes = await tokenFrom("a", a, alice);
    const bobPublishes = await tokenFrom("b", b, bob);
    assert.equal(alicePublishes.canPublish, true);
    assert.equal(bobPublishes.canPublish, true);
    const aliceSubscribes = await tokenFrom("b", a, alice);
    const bobSubscribes = await tokenFrom("a", b, bob);
    assert.equal(aliceSubscribes.canPublish, false, "a user of A only subscribes on B's SFU");
    assert.equal(bobSubscribes.canPublish, false, "a user of B only subscribes on A's SFU");

    // Each listens on the other's SFU, from inside their own ministry's namespace.
    const aliceHears = startParticipant(testbed, HOSTS.a.namespace, "listen", aliceSubscribes.url, aliceSubscribes.jwt, 100);
    const bobHears = startParticipant(testbed, HOSTS.b.namespace, "listen", bobSubscribes.url, bobSubscribes.jwt, 100);
    await Promise.all([aliceHears.waitFor("connected"), bobHears.waitFor("connected")]);
    const aliceSpeaks = startParticipant(testbed, HOSTS.a.namespace, "publish", alicePublishes.url, alicePublishes.jwt, 12);
    const bobSpeaks = startParticipant(testbed, HOSTS.b.namespace, "publish", bobPublishes.url, bobPublishes.jwt, 12);
    const [heardByAlice, heardByBob] = await Promise.all([aliceHears.waitFor("received", 60_000), bobHears.waitFor("received", 60_000)]);
    assert.equal(heardByAlice.from, bobPublishes.identity, "alice hears bob, on B's SFU");
    assert.equal(heardByBob.from, alicePublishes.identity, "bob hears alice, on A's SFU");
    await Promise.all([aliceHears, bobHears, aliceSpeaks, bobSpeaks].map((p) => p.process.stop()));
  });

  it("refuses a subscribe token on an SFU where no local user has started the call", async () => {
    const { a, b } = testbed.ministries;
    const carol = await a.registerUser(uniqueLocalpart("carol"));
    const { roomId: quietRoom, alias } = await createMeeting(focus.a, a, carol, "Calme");
    const dave = await b.registerUser(uniqueLocalpart("dave"));
    await joinAlias(b, dave, alias);
    const ask = async () =>
      requestJson("POST", `${focus.a.url}${FOCUS_PATH_PREFIX}/get_token`, {
        body: {
          room_id: quietRoom,
          slot_id: SLOT,
          openid_token: await openIdToken(b, dave),
          member: { id: "m-dave", claimed_user_id: dave.userId, claimed_device_id: dave.deviceId },
        },
      });
    // Until A's appservice has seen dave's join, the refusal is "not joined"; then it must be this one.
    let res = await ask();
    await waitUntil("a refusal for the call not started", async () => /not been started/.test(String((res = await ask()).body.error)), {
      timeoutMs: 30_000,
    });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.body.errcode, "M_FORBIDDEN");
    assert.equal(res.body.jwt, undefined);
  });
});
