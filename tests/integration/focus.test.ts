// The focus service against the real servers: OpenID tokens from each ministry's own Synapse,
// checked over federation by A's appservice, LiveKit tokens used by real rtc-node participants.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { TokenVerifier } from "livekit-server-sdk";
import type { FocusGetTokenRequest, OpenIdToken } from "../../config/wire-types.ts";
import { FOCUS_PATH_PREFIX } from "../../appservice/src/app.ts";
import { liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { openDatabase } from "../../appservice/src/storage/database.ts";
import { createStore, type Store } from "../../appservice/src/storage/store.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { requestJson } from "../harness/http.ts";
import { createMeeting, joinAlias, openIdToken, waitForJoins } from "../harness/matrix-users.ts";
import { startParticipant } from "../support/participants.ts";

const SLOT = "m.call#ROOM";

describe("focus service (real Synapse A, B, C and LiveKit, oldest_membership)", function () {
  this.timeout(120_000);
  let testbed: Testbed;
  let appservice: AppserviceProcess;
  let store: Store;
  let roomId: string;
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  const getToken = (body: unknown) => requestJson("POST", `${appservice.url}${FOCUS_PATH_PREFIX}/get_token`, { body });
  const request = (user: RegisteredUser, token: OpenIdToken, device = user.deviceId): FocusGetTokenRequest => ({
    room_id: roomId,
    slot_id: SLOT,
    openid_token: token,
    member: { id: `member-${device}`, claimed_user_id: user.userId, claimed_device_id: device },
  });

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    appservice = await startAppservice("a");
    store = createStore(await openDatabase(appservice.config.database));
    const { a, b } = testbed.ministries;
    alice = await a.registerUser(uniqueLocalpart("alice"));
    bob = await b.registerUser(uniqueLocalpart("bob"));
    let alias: string;
    ({ roomId, alias } = await createMeeting(appservice, a, alice, "Appel"));
    await joinAlias(b, bob, alias);
    await waitForJoins(store, roomId, [alice, bob]);
  });
  after(async () => {
    await store?.close();
  });

  it("is discoverable through the homeserver's .well-known and the MSC4143 transports endpoint", async () => {
    const focusUrl = `http://${HOSTS.a.address}:${HOSTS.a.appservicePort}${FOCUS_PATH_PREFIX}`;
    const wellKnown = (await requestJson("GET", `${testbed.ministries.a.clientUrl}/.well-known/matrix/client`)).body;
    assert.deepEqual(wellKnown["org.matrix.msc4143.rtc_foci"], [{ type: "livekit", livekit_service_url: focusUrl }]);
    const transports = await matrixRequest<{ rtc_transports: unknown[] }>(
      testbed.ministries.a.clientUrl,
      alice.accessToken,
      "GET",
      "/_matrix/client/unstable/org.matrix.msc4143/rtc/transports",
    );
    assert.deepEqual(transports.rtc_transports, [{ type: "livekit", livekit_service_url: focusUrl }]);
  });

  it("puts users of A and B in the same LiveKit room, and B receives A's audio", async () => {
    const { a, b } = testbed.ministries;
    const livekit = testbed.livekit.a;
    assert.ok(livekit);
    const forAlice = await getToken(request(alice, await openIdToken(a, alice)));
    const forBob = await getToken(request(bob, await openIdToken(b, bob)));
    assert.equal(forAlice.status, 200, JSON.stringify(forAlice.body));
    assert.equal(forBob.status, 200, JSON.stringify(forBob.body));
    assert.equal(forAlice.body.url, livekit.url);
    assert.equal(forBob.body.url, livekit.url);

    const verifier = new TokenVerifier(livekit.apiKey, livekit.apiSecret);
    const aliceClaims = await verifier.verify(String(forAlice.body.jwt));
    const bobClaims = await verifier.verify(String(forBob.body.jwt));
    const room = liveKitRoomAlias(roomId, SLOT);
    assert.equal(aliceClaims.video?.room, room);
    assert.equal(bobClaims.video?.room, room);
    assert.equal(aliceClaims.video?.roomCreate, false);
    assert.equal(bobClaims.video?.canPublish, true, "oldest_membership: everyone publishes on the one SFU");
    assert.notEqual(aliceClaims.sub, bobClaims.sub);

    const listener = startParticipant(testbed, HOSTS.b.namespace, "listen", livekit.url, String(forBob.body.jwt), 100);
    await listener.waitFor("connected");
    const speaker = startParticipant(testbed, HOSTS.a.namespace, "publish", livekit.url, String(forAlice.body.jwt), 10);
    await speaker.waitFor("published");
    const received = await listener.waitFor("received", 45_000);
    assert.equal(received.from, aliceClaims.sub, "the audio comes from alice's participant");
    await Promise.all([listener.process.stop(), speaker.process.stop()]);
  });

  it("answers the legacy /sfu/get with the same checks", async () => {
    const res = await requestJson("POST", `${appservice.url}${FOCUS_PATH_PREFIX}/sfu/get`, {
      body: { room: roomId, openid_token: await openIdToken(testbed.ministries.b, bob), device_id: bob.deviceId },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(typeof res.body.jwt, "string");
  });

  describe("refusals: a clear error and no token", () => {
    const refused = (res: { status: number; body: Record<string, unknown> }, status: number, errcode: string): void => {
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(res.body.errcode, errcode);
      assert.equal(typeof res.body.error, "string");
      assert.equal(res.body.jwt, undefined);
    };

    it("a forged OpenID token", async () => {
      const forged = { access_token: "forged-token", token_type: "Bearer", matrix_server_name: "ministry-b.test", expires_in: 3600 };
      refused(await getToken(request(bob, forged)), 401, "M_UNAUTHORIZED");
    });

    it("a token whose owner is not the claimed user", async () => {
      const bobsToken = await openIdToken(testbed.ministries.b, bob);
      const claimsAlice = { ...request(bob, bobsToken), member: { id: "m", claimed_user_id: alice.userId, claimed_device_id: "X" } };
      refused(await getToken(claimsAlice), 401, "M_UNAUTHORIZED");
    });

    it("a user who is not joined to the room", async () => {
      const carl = await testbed.ministries.b.registerUser(uniqueLocalpart("carl"));
      refused(await getToken(request(carl, await openIdToken(testbed.ministries.b, carl))), 403, "M_FORBIDDEN");
    });

    it("a user whose server is not on the allowlist, with a real token from it", async () => {
      const { c } = testbed.ministries;
      const dora = await c.registerUser(uniqueLocalpart("dora"));
      refused(await getToken(request(dora, await openIdToken(c, dora))), 403, "M_FORBIDDEN");
    });

    it("a malformed body", async () => {
      refused(await requestJson("POST", `${appservice.url}${FOCUS_PATH_PREFIX}/get_token`, { rawBody: "{nope" }), 400, "M_NOT_JSON");
      refused(await getToken({ room_id: roomId }), 400, "M_BAD_JSON");
    });
  });

  it("asked five times about a room it cannot see, joins it at most once: one join at A, at most one make_join at B, per room", async () => {
    const { a, b } = testbed.ministries;
    // A room of B the bot may not join (invite only), and a room that exists nowhere.
    const { room_id: privateRoom } = await matrixRequest<{ room_id: string }>(b.clientUrl, bob.accessToken, "POST", "/_matrix/client/v3/createRoom", {
      preset: "private_chat",
    });
    const unknownRoom = `!${uniqueLocalpart("nowhere")}:ministry-b.test`;
    const bobToken = await openIdToken(b, bob);
    for (const room of [privateRoom, unknownRoom]) {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await getToken({ ...request(bob, bobToken), room_id: room })).status);
      assert.deepEqual(statuses, [403, 403, 403, 403, 403], room);
    }
    // Synapse writes a request's access-log line once it has answered it; the last refusal came after them all.
    const countIn = (logPath: string, pattern: RegExp): number => readFileSync(logPath, "utf8").split("\n").filter((line) => pattern.test(line)).length;
    for (const room of [privateRoom, unknownRoom]) {
      const encoded = encodeURIComponent(room).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      const joinsAtA = countIn(a.logPath, new RegExp(`"POST /_matrix/client/v3/join/${encoded}[?" ]`));
      const makeJoinsAtB = countIn(b.logPath, new RegExp(`"GET /_matrix/federation/v1/make_join/${encoded}/`));
      assert.equal(joinsAtA, 1, `joins of ${room} at A`);
      assert.ok(makeJoinsAtB <= 1, `${makeJoinsAtB} make_join of ${room} at B`);
    }
  });

  it("limits requests per user and per homeserver: 429 M_LIMIT_EXCEEDED with retry_after_ms, then served again", async () => {
    const { a, b } = testbed.ministries;
    // Low limits, so that a test reaches them: each user 3 at once then one per 2 s; B's users 5 at once.
    appservice = await startAppservice("a", { rateLimits: { focus: { per_user: { per_second: 0.5, burst: 3 }, per_server: { per_second: 0.5, burst: 5 } } } });
    try {
      const bobToken = await openIdToken(b, bob);
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await getToken(request(bob, bobToken))).status);
      assert.deepEqual(statuses, [200, 200, 200]);
      const limited = await getToken(request(bob, bobToken));
      assert.equal(limited.status, 429, JSON.stringify(limited.body));
      assert.equal(limited.body.errcode, "M_LIMIT_EXCEEDED");
      const retryAfter = Number(limited.body.retry_after_ms);
      assert.ok(retryAfter > 0 && retryAfter <= 2000, `retry_after_ms ${retryAfter}`);
      // Another user of A is not held back by bob; B as a whole has one request left.
      assert.equal((await getToken(request(alice, await openIdToken(a, alice)))).status, 200);
      const carol = await b.registerUser(uniqueLocalpart("carol"));
      const carolToken = await openIdToken(b, carol);
      assert.equal((await getToken(request(carol, carolToken))).status, 403, "carol is not in the room: refused after the limits, as before");
      const serverLimited = await getToken(request(carol, carolToken));
      assert.equal(serverLimited.status, 429, "B's bucket is empty");
      assert.match(String(serverLimited.body.error), /homeserver/);
      // Waited out, bob is served again.
      await new Promise((resolve) => setTimeout(resolve, retryAfter + 100));
      assert.equal((await getToken(request(bob, bobToken))).status, 200);
    } finally {
      appservice = await startAppservice("a");
    }
  });
});
