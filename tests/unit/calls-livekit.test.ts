// Call state against LiveKit, in one process (tests/unit/support/calls-harness.ts: a real appservice,
// a fake homeserver and LiveKit room API): webhooks verified and applied once, members who leave or are
// removed disconnected from LiveKit, a call's record completed across a restart, the focus's tokens
// recorded for the webhooks to map back.
import assert from "node:assert/strict";
import { postWebhook, signWebhook, webhookBody } from "../../appservice/src/calls/testing/livekit-webhooks.ts";
import { requestJson } from "../harness/http.ts";
import { ALICE, API_KEY, API_SECRET, BOB, MIN, MOD, T0, callsHarness } from "./support/calls-harness.ts";

describe("call state and LiveKit (in-process appservice, fake homeserver and LiveKit)", () => {
  const h = callsHarness();
  const { txn, member, callMember, rtcContent, identityOf, giveToken, ok, joined, left, activeCall, notices, waitFor } = h;

  describe("webhook verification", () => {
    it("refuses a wrong signature, a body that is not the signed one and no signature with 401, storing nothing", async () => {
      await giveToken(ALICE, "DA");
      const body = webhookBody({ event: "participant_joined", room: h.lkRoom, identity: identityOf(ALICE, "DA"), id: "EV_forged" });
      const url = `${h.running.url}/livekit/webhook`;
      const forged = await postWebhook(url, await signWebhook(body, API_KEY, "another-secret-0123456789abcdefghijklmn"));
      assert.equal(forged.status, 401);
      assert.equal(forged.body.errcode, "M_UNAUTHORIZED");
      const signedOther = await signWebhook(body.replace("participant_joined", "participant_left"), API_KEY, API_SECRET);
      const tampered = await postWebhook(url, { body, authorization: signedOther.authorization });
      assert.equal(tampered.status, 401);
      const unsigned = await postWebhook(url, { body, authorization: "" });
      assert.equal(unsigned.status, 401);
      assert.equal(await activeCall(), null);
      // The refused attempts did not burn the event id: the genuine delivery is applied.
      assert.equal((await postWebhook(url, await signWebhook(body, API_KEY, API_SECRET))).status, 200);
      assert.ok(await activeCall());
    });

    it("answers 400 to an authentic body that is not a webhook event", async () => {
      const url = `${h.running.url}/livekit/webhook`;
      for (const body of ["not json", '{"event":5}', '{"room":{"name":"x"}}']) {
        const res = await postWebhook(url, await signWebhook(body, API_KEY, API_SECRET));
        assert.equal(res.status, 400, body);
        assert.equal(res.body.errcode, "M_BAD_JSON");
      }
    });

    it("applies a webhook delivered twice (LiveKit retries) once, even when the retry comes after later events", async () => {
      await giveToken(ALICE, "DA");
      const signed = await signWebhook(
        webhookBody({ event: "participant_joined", room: h.lkRoom, identity: identityOf(ALICE, "DA"), id: "EV_twice", at: T0 }),
        API_KEY,
        API_SECRET,
      );
      const url = `${h.running.url}/livekit/webhook`;
      assert.equal((await postWebhook(url, signed)).status, 200);
      assert.equal((await postWebhook(url, signed)).status, 200);
      const call = await activeCall();
      assert.ok(call);
      assert.equal((await h.running.callStore.presences(call.id)).length, 1);
      await left(ALICE, "DA", T0 + MIN);
      // A late retry of the join must not bring a ghost back, nor start another call.
      assert.equal((await postWebhook(url, signed)).status, 200);
      assert.equal(await activeCall(), null);
      await waitFor("end notice", () => notices("ended").length > 0);
      assert.deepEqual(
        notices().map((n) => n.content["org.visio.call"].state),
        ["started", "ended"],
      );
    });

    it("ignores participants the focus service did not issue (a bridge, an agent)", async () => {
      await ok({ event: "participant_joined", identity: "transcription-bridge", at: T0 });
      assert.equal(await activeCall(), null);
    });
  });

  describe("lifecycle", () => {
    it("disconnects a kicked user from LiveKit within seconds, and again if they come back with their token", async () => {
      await giveToken(ALICE, "DA");
      await giveToken(BOB, "DB");
      for (const [user, device] of [[ALICE, "DA"], [BOB, "DB"]] as const) {
        await txn([callMember(user, device, rtcContent(device))]);
        h.livekit.connect(h.lkRoom, identityOf(user, device));
        await joined(user, device, Date.now());
      }
      const kickedAt = Date.now();
      await txn([member(BOB, "leave", MOD)]);
      await waitFor("bob removed from LiveKit", () => h.livekit.removed.length > 0);
      assert.ok(Date.now() - kickedAt < 2000);
      assert.deepEqual(h.livekit.removed, [{ room: h.lkRoom, identity: identityOf(BOB, "DB") }]);
      await left(BOB, "DB", Date.now());
      const call = await activeCall();
      assert.ok(call, "alice's call goes on");
      assert.deepEqual(
        (await h.running.callStore.openPresences(call.id)).map((p) => p.userId),
        [ALICE, ALICE],
        "bob's call membership ended with his room membership",
      );

      // LiveKit tokens cannot be revoked: a rejoin with the old token is removed at once.
      h.livekit.connect(h.lkRoom, identityOf(BOB, "DB"));
      await joined(BOB, "DB", Date.now(), "PA_bob_back");
      await waitFor("bob removed again", () => h.livekit.removed.length === 2);
      assert.deepEqual((await h.running.callStore.openPresences(call.id)).map((p) => p.userId), [ALICE, ALICE]);
    });

    it("disconnects a banned user too", async () => {
      await giveToken(BOB, "DB");
      h.livekit.connect(h.lkRoom, identityOf(BOB, "DB"));
      await joined(BOB, "DB", Date.now());
      await txn([member(BOB, "ban", MOD)]);
      await waitFor("bob removed", () => h.livekit.removed.length === 1);
    });

    it("honours a delayed leave event (crashed client): that device's LiveKit participant is removed, not the others", async () => {
      await giveToken(ALICE, "DA");
      await giveToken(ALICE, "DA2");
      const connectedAt = Date.now() - 5000;
      h.livekit.connect(h.lkRoom, identityOf(ALICE, "DA"), connectedAt);
      h.livekit.connect(h.lkRoom, identityOf(ALICE, "DA2"), connectedAt);
      await txn([callMember(ALICE, "DA", rtcContent("DA"), connectedAt), callMember(ALICE, "DA2", rtcContent("DA2"), connectedAt)]);
      await joined(ALICE, "DA", connectedAt);
      await joined(ALICE, "DA2", connectedAt);
      // What the homeserver sends on the crashed client's behalf once its delay runs out.
      await txn([callMember(ALICE, "DA", {})]);
      await waitFor("the ghost removed", () => h.livekit.removed.length === 1);
      assert.deepEqual(h.livekit.removed, [{ room: h.lkRoom, identity: identityOf(ALICE, "DA") }]);
      assert.ok(await activeCall());
    });

    it("leaves a device that rejoined LiveKit after its leave event alone", async () => {
      await giveToken(ALICE, "DA");
      const leaveAt = Date.now() - 10_000;
      h.livekit.connect(h.lkRoom, identityOf(ALICE, "DA"), Date.now());
      await txn([callMember(ALICE, "DA", {}, leaveAt)]);
      await waitFor("effects done", async () => (await h.running.callStore.pendingEffects(10, Number.MAX_SAFE_INTEGER)).length === 0);
      assert.deepEqual(h.livekit.removed, []);
    });

    it("keeps the LiveKit room when someone is back before it is closed", async () => {
      await giveToken(ALICE, "DA");
      await joined(ALICE, "DA", T0);
      // Her client connected again (a new SID) before LiveKit reported the old connection gone.
      h.livekit.connect(h.lkRoom, identityOf(ALICE, "DA"), Date.now(), "PA_back");
      await left(ALICE, "DA", T0 + MIN);
      await waitFor("effects done", async () => (await h.running.callStore.pendingEffects(10, Number.MAX_SAFE_INTEGER)).length === 0);
      assert.deepEqual(h.livekit.deleted, []);
    });
  });

  describe("restart", () => {
    it("completes the record of a call that goes on across a restart of the appservice", async () => {
      await giveToken(ALICE, "DA");
      await giveToken(BOB, "DB");
      await joined(ALICE, "DA", T0);
      await joined(BOB, "DB", T0 + MIN);
      await waitFor("start notice", () => notices().length === 1);
      const call = await activeCall();
      assert.ok(call);

      await h.running.stop();
      h.running = await h.boot();

      await left(BOB, "DB", T0 + 20 * MIN);
      await joined(BOB, "DB", T0 + 21 * MIN, "PA_bob_2");
      await left(BOB, "DB", T0 + 30 * MIN, "PA_bob_2");
      await left(ALICE, "DA", T0 + 42 * MIN);
      assert.deepEqual(await h.running.callStore.call(call.id), { ...call, endedAt: T0 + 42 * MIN, participantCount: 2, maxConcurrent: 2 });
      assert.equal((await h.running.callStore.presences(call.id)).length, 3);
      await waitFor("end notice", () => notices("ended").length === 1);
      assert.deepEqual(
        notices().map((n) => n.content.body),
        ["Appel démarré", "Appel terminé · 2 participants · 42 min"],
      );
    });

    it("posts after the restart a notice the homeserver could not take before it", async () => {
      await giveToken(ALICE, "DA");
      h.homeserver.failing = new Error("homeserver down");
      await joined(ALICE, "DA", T0);
      await waitFor("a failed attempt", async () => ((await h.running.callStore.pendingEffects(10, Number.MAX_SAFE_INTEGER))[0]?.attempts ?? 0) > 0);
      await h.running.stop();
      h.homeserver.failing = null;
      h.running = await h.boot();
      await waitFor("start notice", () => notices().length === 1);
      assert.equal(notices()[0]?.content.body, "Appel démarré");
    });
  });

  it("records the identity of every token the focus service issues, for the webhooks to map back", async () => {
    const res = await requestJson("POST", `${h.running.url}/livekit/jwt/get_token`, {
      body: {
        room_id: h.room,
        slot_id: "m.call#ROOM",
        openid_token: { access_token: "t", token_type: "Bearer", matrix_server_name: "ministry-a.test", expires_in: 3600 },
        member: { id: "member-DA", claimed_user_id: ALICE, claimed_device_id: "DA" },
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const recorded = await h.running.callStore.identity(h.lkRoom, identityOf(ALICE, "DA"));
    assert.deepEqual(recorded && { ...recorded, issuedAt: 0 }, {
      livekitRoom: h.lkRoom,
      identity: identityOf(ALICE, "DA"),
      roomId: h.room,
      userId: ALICE,
      deviceId: "DA",
      issuedAt: 0,
    });
    await joined(ALICE, "DA", T0);
    assert.ok(await activeCall());
  });
});
