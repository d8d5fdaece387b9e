// The focus API in an HTTP server with fakes for the verifier, the store and LiveKit's room API, and
// real LiveKit tokens, checked with livekit-server-sdk's TokenVerifier (tests/unit/support/focus-fixture.ts).
import assert from "node:assert/strict";
import type { DelegatedLeave } from "../../appservice/src/calls/call-store.ts";
import { CALL_SLOT, legacyLiveKitIdentity, liveKitIdentity, liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import type { RateLimit } from "../../appservice/src/rate-limiter.ts";
import { MATRIX_USER_ATTRIBUTE } from "../../config/wire-types.ts";
import { requestJson } from "../harness/http.ts";
import { ALICE, BOB, CAROL, ROOM, SLOT, assertRefused, claims, focusRoomsExist, getTokenBody, openid, startFocus, type Focus } from "./support/focus-fixture.ts";

describe("focus API (fakes, real LiveKit tokens)", () => {
  describe("oldest_membership", () => {
    let focus: Focus;
    beforeEach(async () => {
      focus = await startFocus("oldest_membership");
    });
    afterEach(() => focus.close());
    const post = (path: string, body: unknown) => requestJson("POST", `${focus.url}${path}`, { body });

    it("gives a joined local user a publishing token for the derived room, creating the LiveKit room", async () => {
      const res = await post("/get_token", getTokenBody(ALICE, "alice-token"));
      const c = await claims(res);
      const alias = liveKitRoomAlias(ROOM, SLOT);
      assert.equal(c.sub, liveKitIdentity(ALICE, "DEVICE1", "member-1"));
      assert.deepEqual(
        { ...c.video },
        { room: alias, roomJoin: true, roomCreate: false, canPublish: true, canPublishData: false, canSubscribe: true, canUpdateOwnMetadata: false, hidden: false },
      );
      assert.deepEqual(c.attributes, { [MATRIX_USER_ATTRIBUTE]: ALICE });
      assert.equal((c.exp ?? 0) - (c.nbf ?? 0), 300);
      assert.deepEqual(focus.rooms.created, [alias]);
      assert.deepEqual(focus.verifier.calls, [{ accessToken: "alice-token", serverName: "ministry-a.test", expiresInSeconds: 3600 }]);
    });

    it("lets an allowlisted remote user publish on the call's SFU, once the call exists", async () => {
      focus.rooms.existing.add(liveKitRoomAlias(ROOM, SLOT));
      const c = await claims(await post("/get_token", getTokenBody(BOB, "bob-token")));
      assert.equal(c.video?.canPublish, true);
      assert.deepEqual(focus.rooms.created, [], "only full-access users create rooms");
    });

    it("refuses a remote user while no local user has started the call", async () => {
      assertRefused(await post("/get_token", getTokenBody(BOB, "bob-token")), 403, "M_FORBIDDEN");
      assert.deepEqual(focus.rooms.created, []);
    });

    it("serves the legacy /sfu/get with lk-jwt-service's legacy derivations", async () => {
      const res = await post("/sfu/get", { room: ROOM, openid_token: openid("alice-token", "ministry-a.test"), device_id: "DEVICE1" });
      const c = await claims(res);
      assert.equal(c.sub, legacyLiveKitIdentity(ALICE, "DEVICE1"));
      assert.equal(c.video?.room, liveKitRoomAlias(ROOM, CALL_SLOT));
      assert.equal(c.video?.canPublish, true);
    });

    it("answers a forged or expired OpenID token with 401 M_UNAUTHORIZED, as lk-jwt-service does", async () => {
      assertRefused(await post("/get_token", getTokenBody(ALICE, "forged-token")), 401, "M_UNAUTHORIZED");
      assertRefused(await post("/sfu/get", { room: ROOM, openid_token: openid("expired", "ministry-a.test"), device_id: "D" }), 401, "M_UNAUTHORIZED");
    });

    it("answers 503 M_UNAVAILABLE while the token's homeserver cannot be reached: the token may be good, try again later", async () => {
      const res = await post("/get_token", getTokenBody(BOB, "down-token"));
      assertRefused(res, 503, "M_UNAVAILABLE");
      assert.match(String(res.body.error), /could not be reached/);
    });

    it("refuses a claimed user who does not own the token with 401 M_UNAUTHORIZED", async () => {
      const body = getTokenBody(ALICE, "bob-token", { openid_token: openid("bob-token", "ministry-b.test") });
      assertRefused(await post("/get_token", body), 401, "M_UNAUTHORIZED");
      assert.deepEqual(focus.rooms.created, []);
    });

    it("refuses users who are not joined to the room with 403", async () => {
      assertRefused(await post("/get_token", getTokenBody(CAROL, "carol-token")), 403, "M_FORBIDDEN");
      assertRefused(await post("/get_token", getTokenBody(ALICE, "alice-token", { room_id: "!other:ministry-a.test" })), 403, "M_FORBIDDEN");
      assert.deepEqual(focus.rooms.created, []);
    });

    it("refuses a server off the allowlist with 403 before asking it anything", async () => {
      assertRefused(await post("/get_token", getTokenBody("@eve:evil.test", "eve-token")), 403, "M_FORBIDDEN");
      assert.deepEqual(focus.verifier.calls, []);
    });

    it("names what is wrong with a malformed body", async () => {
      const notJson = await requestJson("POST", `${focus.url}/get_token`, { rawBody: "{nope" });
      assertRefused(notJson, 400, "M_NOT_JSON");
      const cases: [unknown, string, RegExp][] = [
        [[], "M_BAD_JSON", /'body' must be a JSON object/],
        [getTokenBody(ALICE, "alice-token", { member: undefined }), "M_BAD_JSON", /'member' must be a JSON object/],
        [getTokenBody(ALICE, "alice-token", { slot_id: 7 }), "M_BAD_JSON", /'slot_id' must be a non-empty string/],
        // Any other slot would be a LiveKit room of its own, made up by the caller.
        [getTokenBody(ALICE, "alice-token", { slot_id: "m.call#mine" }), "M_INVALID_PARAM", /'slot_id' must be "m\.call#ROOM"/],
        [getTokenBody(ALICE, "alice-token", { extra: 1 }), "M_BAD_JSON", /Unknown field 'extra'/],
        [getTokenBody(ALICE, "alice-token", { room_id: "#alias:ministry-a.test" }), "M_INVALID_PARAM", /'room_id' must be a room ID/],
        [
          getTokenBody(ALICE, "alice-token", { openid_token: { ...openid("alice-token", "ministry-a.test"), token_type: "Mac" } }),
          "M_INVALID_PARAM",
          /token_type/,
        ],
        [
          getTokenBody(ALICE, "alice-token", { openid_token: openid("alice-token", "not a server") }),
          "M_INVALID_PARAM",
          /matrix_server_name/,
        ],
        [{ room: ROOM, openid_token: openid("alice-token", "ministry-a.test") }, "M_BAD_JSON", /'device_id'/],
      ];
      for (const [body, errcode, message] of cases) {
        const path = body !== null && typeof body === "object" && "room" in body ? "/sfu/get" : "/get_token";
        const res = await post(path, body);
        assertRefused(res, 400, errcode);
        assert.match(String(res.body.error), message);
      }
      assert.deepEqual(focus.rooms.created, [], "no refused request created a LiveKit room");
      const huge = await requestJson("POST", `${focus.url}/get_token`, { rawBody: JSON.stringify({ pad: "x".repeat(32 * 1024) }) });
      assertRefused(huge, 413, "M_TOO_LARGE");
      assert.deepEqual(focus.verifier.calls, []);
    });

    it("answers 503 when LiveKit's room API is down", async () => {
      focus.rooms.failing = true;
      assertRefused(await post("/get_token", getTokenBody(ALICE, "alice-token")), 503, "M_UNAVAILABLE");
    });

    it("answers CORS preflights and marks every answer readable by any origin", async () => {
      for (const path of ["/get_token", "/sfu/get"]) {
        const res = await fetch(`${focus.url}${path}`, {
          method: "OPTIONS",
          headers: { origin: "https://call.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
        });
        assert.equal(res.status, 204);
        assert.equal(res.headers.get("access-control-allow-origin"), "*");
        assert.match(res.headers.get("access-control-allow-methods") ?? "", /POST/);
        assert.match(res.headers.get("access-control-allow-headers") ?? "", /Content-Type/);
      }
      const refused = await fetch(`${focus.url}/get_token`, { method: "POST", body: "{nope" });
      assert.equal(refused.headers.get("access-control-allow-origin"), "*");
    });

    it("answers a path under its prefix that it does not serve with a 404 a browser can read (Element Call's delegate_delayed_leave probe)", async () => {
      const prefixed = await startFocus("oldest_membership", "/livekit/jwt");
      try {
        const preflight = await fetch(`${prefixed.url}/livekit/jwt/delegate_delayed_leave`, { method: "OPTIONS" });
        assert.equal(preflight.status, 204);
        assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
        const probe = await fetch(`${prefixed.url}/livekit/jwt/delegate_delayed_leave`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
        assert.equal(probe.status, 404);
        assert.equal(probe.headers.get("access-control-allow-origin"), "*");
        assert.equal(((await probe.json()) as { errcode?: string }).errcode, "M_UNRECOGNIZED");
        assert.equal((await fetch(`${prefixed.url}/elsewhere`, { method: "POST" })).headers.get("access-control-allow-origin"), null, "outside its prefix: not the focus's");
      } finally {
        await prefixed.close();
      }
    });

    describe("delegated leave (MSC4140 delayed leave events handed to the focus, as Element Call does)", () => {
      let delegated: DelegatedLeave[];
      let delegating: Focus;
      beforeEach(async () => {
        delegated = [];
        delegating = await startFocus("oldest_membership", "/livekit/jwt", undefined, delegated);
      });
      afterEach(() => delegating.close());
      const postTo = (path: string, body: unknown) => requestJson("POST", `${delegating.url}/livekit/jwt${path}`, { body });
      const delay = { delay_id: "syd_alice1", delay_timeout: 3_600_000, delay_cs_api_url: "https://elsewhere.test" };

      it("keeps a local user's delayed leave with the token, for the participant the token is for (get_token and sfu/get)", async () => {
        const c = await claims(await postTo("/get_token", getTokenBody(ALICE, "alice-token", delay)));
        const legacy = await claims(await postTo("/sfu/get", { room: ROOM, openid_token: openid("alice-token", "ministry-a.test"), device_id: "DEVICE2", ...delay, delay_id: "syd_alice2" }));
        assert.deepEqual(
          delegated.map(({ delegatedAt: _, ...d }) => d),
          [
            { livekitRoom: c.video?.room, identity: c.sub, roomId: ROOM, userId: ALICE, delayId: "syd_alice1", delayTimeoutMs: 3_600_000 },
            { livekitRoom: legacy.video?.room, identity: legacy.sub, roomId: ROOM, userId: ALICE, delayId: "syd_alice2", delayTimeoutMs: 3_600_000 },
          ],
        );
        assert.doesNotMatch(delegating.logs.join(""), /syd_alice|elsewhere/, "the delay ID is a capability: never logged");
      });

      it("answers Element Call's probe of delegate_delayed_leave with a 400, not a 404, and takes a whole request there", async () => {
        const probe = await fetch(`${delegating.url}/livekit/jwt/delegate_delayed_leave`, { method: "POST" });
        assert.equal(probe.status, 400);
        assert.equal(probe.headers.get("access-control-allow-origin"), "*");
        const res = await postTo("/delegate_delayed_leave", getTokenBody(ALICE, "alice-token", delay));
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(res.body, {});
        assert.equal(delegated[0]?.identity, liveKitIdentity(ALICE, "DEVICE1", "member-1"));
        assertRefused(await postTo("/delegate_delayed_leave", getTokenBody(ALICE, "alice-token")), 400, "M_BAD_JSON");
        assertRefused(await postTo("/delegate_delayed_leave", getTokenBody(CAROL, "carol-token", delay)), 403, "M_FORBIDDEN");
        assert.equal(delegated.length, 1, "refused requests keep nothing");
      });

      it("refuses, with the M_BAD_JSON Element Call answers by asking again without them, delay fields it cannot honour", async () => {
        focusRoomsExist(delegating);
        const cases: [Record<string, unknown>, RegExp][] = [
          [getTokenBody(BOB, "bob-token", delay), /own homeserver/],
          [getTokenBody(ALICE, "alice-token", { ...delay, delay_timeout: 0 }), /delay_timeout/],
          [getTokenBody(ALICE, "alice-token", { ...delay, delay_timeout: 1.5 }), /delay_timeout/],
          [getTokenBody(ALICE, "alice-token", { ...delay, delay_timeout: 2 * 24 * 3_600_000 }), /delay_timeout/],
          [getTokenBody(ALICE, "alice-token", { delay_id: "syd_x" }), /delay_timeout/],
          [getTokenBody(ALICE, "alice-token", { delay_timeout: 1000 }), /delay_id/],
          [getTokenBody(ALICE, "alice-token", { ...delay, delay_cs_api_url: 7 }), /delay_cs_api_url/],
        ];
        for (const [body, message] of cases) {
          const res = await postTo("/get_token", body);
          assertRefused(res, 400, "M_BAD_JSON");
          assert.match(String(res.body.error), message);
        }
        assert.deepEqual(delegated, []);
        assert.deepEqual(delegating.verifier.calls, [], "refused before any OpenID check");
        // Asked again without them, as Element Call does: served.
        assert.equal((await postTo("/get_token", getTokenBody(BOB, "bob-token"))).status, 200);
      });
    });

    it("answers other methods with 405 and oversized bodies with 413, as Matrix errors", async () => {
      const get = await requestJson("GET", `${focus.url}/get_token`);
      assert.equal(get.status, 405);
      assert.equal(get.body.errcode, "M_UNRECOGNIZED");
      const huge = await requestJson("POST", `${focus.url}/sfu/get`, { rawBody: `{"room":"${"x".repeat(20_000)}"}` });
      assert.equal(huge.status, 413);
      assert.equal(huge.body.errcode, "M_TOO_LARGE");
      // The service still answers afterwards.
      assert.equal((await post("/get_token", getTokenBody(ALICE, "alice-token"))).status, 200);
    });

    it("logs refusals with errcode, user and room, never the token", async () => {
      await post("/get_token", getTokenBody(CAROL, "carol-token"));
      await post("/get_token", getTokenBody(ALICE, "forged-token"));
      const text = focus.logs.join("");
      assert.doesNotMatch(text, /carol-token|forged-token/);
      const refusals = focus.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === "focus request refused");
      assert.deepEqual(
        refusals.map((r) => [r.errcode, r.userId, r.roomId]),
        [
          ["M_FORBIDDEN", CAROL, ROOM],
          ["M_UNAUTHORIZED", undefined, ROOM],
        ],
      );
      assert.equal(refusals[1]?.claimedUserId, ALICE);
      assert.equal(refusals[1]?.reason, "rejected");
    });
  });

  describe("multi_sfu", () => {
    let focus: Focus;
    beforeEach(async () => {
      focus = await startFocus("multi_sfu");
    });
    afterEach(() => focus.close());
    const post = (path: string, body: unknown) => requestJson("POST", `${focus.url}${path}`, { body });

    it("lets local users publish and allowlisted users of other ministries only subscribe", async () => {
      const local = await claims(await post("/get_token", getTokenBody(ALICE, "alice-token")));
      assert.equal(local.video?.canPublish, true);
      const remote = await claims(await post("/get_token", getTokenBody(BOB, "bob-token", { member: { id: "m-b", claimed_user_id: BOB, claimed_device_id: "B" } })));
      assert.equal(remote.video?.canPublish, false);
      assert.equal(remote.video?.canSubscribe, true);
      assert.equal(remote.video?.roomJoin, true);
      assert.equal(remote.video?.room, local.video?.room);
      assert.equal(remote.sub, liveKitIdentity(BOB, "B", "m-b"));
      assert.deepEqual(focus.rooms.created, [liveKitRoomAlias(ROOM, SLOT)]);
    });
  });

  describe("rate limits", () => {
    let focus: Focus | undefined;
    afterEach(() => focus?.close());
    const post = (body: unknown) => requestJson("POST", `${focus?.url ?? ""}/get_token`, { body });
    const slow = (burst: number): RateLimit => ({ per_second: 0.01, burst });
    const many: RateLimit = { per_second: 1000, burst: 1000 };

    it("a user beyond their burst gets 429 M_LIMIT_EXCEEDED with retry_after_ms; another user still gets tokens", async () => {
      focus = await startFocus("oldest_membership", undefined, { per_user: slow(2), per_server: many });
      for (let i = 0; i < 2; i++) assert.equal((await post(getTokenBody(ALICE, "alice-token"))).status, 200);
      const refused = await post(getTokenBody(ALICE, "alice-token"));
      assertRefused(refused, 429, "M_LIMIT_EXCEEDED");
      const retry = Number(refused.body.retry_after_ms);
      assert.ok(retry > 0 && retry <= 100_000, `retry_after_ms: ${retry}`);
      assert.equal((await post(getTokenBody(BOB, "bob-token"))).status, 200);
    });

    it("a homeserver beyond its burst is refused before its token is checked: no verification, no federation request", async () => {
      focus = await startFocus("oldest_membership", undefined, { per_user: many, per_server: slow(1) });
      assert.equal((await post(getTokenBody(ALICE, "alice-token"))).status, 200);
      const verified = focus.verifier.calls.length;
      assertRefused(await post(getTokenBody(CAROL, "carol-token")), 429, "M_LIMIT_EXCEEDED");
      assert.equal(focus.verifier.calls.length, verified, "the refused request cost no verification");
      assert.equal((await post(getTokenBody(BOB, "bob-token"))).status, 200, "another homeserver has its own limit");
    });

    it("a server off the allowlist is still refused as such (403), not counted", async () => {
      focus = await startFocus("oldest_membership", undefined, { per_user: many, per_server: slow(1) });
      for (let i = 0; i < 3; i++) assertRefused(await post(getTokenBody("@eve:evil.test", "eve-token")), 403, "M_FORBIDDEN");
    });
  });
});
