// A call's record and its notices, in one process (tests/unit/support/calls-harness.ts: a real
// appservice, a fake homeserver and LiveKit room API): who was in the call when, one start and one end
// notice, the LiveKit room closed, LiveKit restarts and lost webhooks reconciled, delegated leaves sent.
import assert from "node:assert/strict";
import { ALICE, BOB, BOT, MIN, MOD, T0, callsHarness } from "./support/calls-harness.ts";

describe("call state and lifecycle (in-process appservice, fake homeserver and LiveKit)", () => {
  const h = callsHarness();
  const { txn, member, callMember, rtcContent, identityOf, giveToken, ok, joined, left, activeCall, notices, waitFor } = h;

  describe("call record and notices", () => {
    it("records who joined when and for how long, posts one start and one end notice, and closes the LiveKit room", async () => {
      await giveToken(ALICE, "DA");
      await giveToken(BOB, "DB");
      await joined(ALICE, "DA", T0);
      await joined(BOB, "DB", T0 + MIN);
      await left(BOB, "DB", T0 + 30 * MIN);
      await joined(BOB, "DB", T0 + 31 * MIN, "PA_bob_again");
      await left(BOB, "DB", T0 + 40 * MIN, "PA_bob_again");
      const running1 = await activeCall();
      assert.ok(running1, "alice is still in the call");
      await left(ALICE, "DA", T0 + 42 * MIN);
      assert.equal(await activeCall(), null);

      const call = await h.running.callStore.call(running1.id);
      assert.deepEqual(call, { ...running1, endedAt: T0 + 42 * MIN, participantCount: 2, maxConcurrent: 2 });
      assert.equal(call?.startedAt, T0);
      const presences = await h.running.callStore.presences(running1.id);
      assert.deepEqual(
        presences.map((p) => [p.userId, p.deviceId, p.joinedAt - T0, (p.leftAt ?? 0) - T0]),
        [
          [ALICE, "DA", 0, 42 * MIN],
          [BOB, "DB", MIN, 30 * MIN],
          [BOB, "DB", 31 * MIN, 40 * MIN],
        ],
      );

      await waitFor("end notice", () => notices("ended").length > 0);
      await waitFor("LiveKit room closed", () => h.livekit.deleted.includes(h.lkRoom));
      assert.deepEqual(
        notices().map((n) => n.content.body),
        ["Appel démarré", "Appel terminé · 2 participants · 42 min"],
      );
      const ended = notices("ended")[0]?.content;
      assert.deepEqual(ended?.["org.visio.call"], {
        call_id: running1.id,
        state: "ended",
        started_at: T0,
        ended_at: T0 + 42 * MIN,
        duration_ms: 42 * MIN,
        participants: 2,
        participant_ids: [ALICE, BOB],
      });
      assert.equal(ended?.msgtype, "m.notice");
      assert.deepEqual(
        notices().map((n) => n.txnId),
        [`visio-call-${running1.id}-started`, `visio-call-${running1.id}-ended`],
      );
    });

    it("never ends a presence before it began: LiveKit dates a departure in whole seconds, an arrival in milliseconds", async () => {
      await giveToken(ALICE, "DA");
      await joined(ALICE, "DA", T0 + 400);
      const call = await activeCall();
      assert.ok(call);
      await left(ALICE, "DA", T0 + 900);
      assert.equal(await activeCall(), null);
      const [presence] = await h.running.callStore.presences(call.id);
      assert.deepEqual([presence?.joinedAt, presence?.leftAt], [T0 + 400, T0 + 400]);
    });

    it("counts a call.member join and the LiveKit connection of the same call as one call with one start notice", async () => {
      await giveToken(ALICE, "DA");
      await txn([callMember(ALICE, "DA", rtcContent("DA"))]);
      await joined(ALICE, "DA", Date.now());
      await txn([callMember(BOB, "DB", rtcContent("DB"))]);
      const call = await activeCall();
      assert.ok(call);
      assert.equal((await h.running.callStore.presences(call.id)).length, 3);
      await waitFor("start notice", () => notices().length > 0);
      // A refreshed membership is no new presence and no new notice.
      await txn([callMember(ALICE, "DA", rtcContent("DA", { expires: 28_800_000 }))]);
      assert.equal((await h.running.callStore.presences(call.id)).length, 3);
      assert.equal(notices().length, 1);
    });

    it("posts nothing in meetings hosted by another ministry (followed for multi_sfu), but still records the call", async () => {
      h.room = `!elsewhere${h.roomNumber}:ministry-b.test`;
      await txn([member(BOT, "join"), member(ALICE, "join")]);
      await txn([callMember(ALICE, "DA", rtcContent("DA"))]);
      assert.ok(await activeCall());
      await txn([callMember(ALICE, "DA", {})]);
      assert.equal(await activeCall(), null);
      await waitFor("effects done", async () => (await h.running.callStore.pendingEffects(10, Number.MAX_SAFE_INTEGER)).length === 0);
      assert.equal(notices().length, 0);
    });

    it("ends the call on room_finished", async () => {
      await giveToken(ALICE, "DA");
      await joined(ALICE, "DA", T0);
      await ok({ event: "room_finished", at: T0 + 5 * MIN });
      assert.equal(await activeCall(), null);
      await waitFor("end notice", () => notices("ended").length === 1);
      assert.equal(notices("ended")[0]?.content.body, "Appel terminé · 1 participant · 5 min");
    });

    it("a LiveKit room started again (LiveKit restarted, its participants lost without a word) closes their presences; the call goes on", async () => {
      await giveToken(ALICE, "DA");
      await txn([callMember(ALICE, "DA", rtcContent("DA"))]);
      await joined(ALICE, "DA", T0, "PA_before");
      const call = await activeCall();
      assert.ok(call);
      // A room created before the participant joined (the first start) changes nothing.
      await ok({ event: "room_started", at: T0 + 1, createdAt: T0 - 1000 });
      assert.equal((await h.running.callStore.openPresencesInLiveKitRoom(h.lkRoom)).length, 1);
      // LiveKit restarted: the room is created again, then alice's client connects again.
      const restartedAt = T0 + 10 * MIN;
      await ok({ event: "room_started", at: restartedAt, createdAt: restartedAt });
      assert.deepEqual(await h.running.callStore.openPresencesInLiveKitRoom(h.lkRoom), [], "the lost connection is closed");
      const lost = (await h.running.callStore.presences(call.id)).find((p) => p.key === "PA_before");
      assert.equal(lost?.leftAt, restartedAt);
      await joined(ALICE, "DA", restartedAt + 2000, "PA_after");
      assert.equal((await activeCall())?.id, call.id, "one call throughout: her membership never ended");
      assert.deepEqual((await h.running.callStore.openPresencesInLiveKitRoom(h.lkRoom)).map((p) => p.key), ["PA_after"]);
      assert.equal(notices("started").length, 1);
    });

    it("a connection LiveKit no longer lists (its participant_left lost) is closed by the reconciler, and the call ends", async () => {
      await h.running.stop();
      h.running = await h.boot({ callReconcileMs: 100 });
      for (const device of ["DA", "DB", "DB2"]) await giveToken(device === "DA" ? ALICE : BOB, device);
      const now = Date.now();
      await joined(ALICE, "DA", now - 10 * MIN);
      await joined(BOB, "DB", now - 5 * MIN);
      // Just joined, not listed by LiveKit's room API yet: left alone.
      await ok({ event: "participant_joined", identity: identityOf(BOB, "DB2"), at: now });
      // A webhook that never came: bob's first connection is gone from LiveKit, not from the record.
      h.livekit.disconnect(h.lkRoom, `PA_${identityOf(BOB, "DB").slice(0, 8)}`);
      await waitFor("bob's lost connection closed", async () => (await h.running.callStore.openPresencesInLiveKitRoom(h.lkRoom)).length === 2);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual((await h.running.callStore.openPresencesInLiveKitRoom(h.lkRoom)).map((p) => p.deviceId).sort(), ["DA", "DB2"], "the listed and the new one stay");

      await ok({ event: "participant_left", identity: identityOf(BOB, "DB2"), at: Date.now() });
      h.livekit.disconnect(h.lkRoom, `PA_${identityOf(ALICE, "DA").slice(0, 8)}`);
      await waitFor("the call ended", async () => (await activeCall()) === null);
      await waitFor("end notice", () => notices("ended").length === 1);
    });

    describe("delegated leave (a client's MSC4140 delayed leave handed to the focus)", () => {
      const delegate = (userId: string, device: string, delayId: string, delegatedAt = Date.now()) => {
        h.homeserver.delayedEvents.add(delayId);
        return h.running.callStore.delegateLeave({ livekitRoom: h.lkRoom, identity: identityOf(userId, device), roomId: h.room, userId, delayId, delayTimeoutMs: 3_600_000, delegatedAt });
      };

      it("has the homeserver send it when the participant's LiveKit connection goes, not when a reconnection replaces it", async () => {
        await giveToken(ALICE, "DA");
        await giveToken(MOD, "DM");
        await delegate(ALICE, "DA", "syd_alice");
        await delegate(MOD, "DM", "syd_mod");
        const now = Date.now();
        await joined(ALICE, "DA", now, "PA_first");
        await joined(MOD, "DM", now);
        // Alice's client reconnects: LiveKit replaces the first connection with the second.
        await joined(ALICE, "DA", now + 1000, "PA_second");
        await ok({ event: "participant_left", identity: identityOf(ALICE, "DA"), sid: "PA_first", at: now + 1000, disconnectReason: "DUPLICATE_IDENTITY" });
        // The same without a reason: another connection of hers is open.
        await ok({ event: "participant_left", identity: identityOf(ALICE, "DA"), sid: "PA_first", at: now + 1000, id: "EV_again" });
        await new Promise((resolve) => setTimeout(resolve, 200));
        assert.deepEqual(h.homeserver.sentDelayedEvents, []);
        // Her tab closes: LiveKit lets her second connection go.
        await ok({ event: "participant_left", identity: identityOf(ALICE, "DA"), sid: "PA_second", at: now + 5000, disconnectReason: "CLIENT_INITIATED" });
        await waitFor("alice's delayed leave sent", () => h.homeserver.sentDelayedEvents.length === 1);
        assert.deepEqual(h.homeserver.sentDelayedEvents, ["syd_alice"]);
        assert.equal(await h.running.callStore.takeDelegatedLeave(h.lkRoom, identityOf(ALICE, "DA")), null, "used once");
        assert.ok(h.homeserver.delayedEvents.has("syd_mod"), "the moderator's is still waiting");
      });

      it("sends one whose participant LiveKit does not have a while after it was handed over (left before, never came)", async () => {
        await h.running.stop();
        h.running = await h.boot({ callReconcileMs: 100 });
        await delegate(ALICE, "DA", "syd_gone", Date.now() - 3 * MIN);
        await delegate(BOB, "DB", "syd_recent", Date.now() - 10_000);
        await giveToken(MOD, "DM");
        await joined(MOD, "DM", Date.now() - 5 * MIN);
        await delegate(MOD, "DM", "syd_here", Date.now() - 3 * MIN);
        await waitFor("the missing participant's delayed leave sent", () => h.homeserver.sentDelayedEvents.length === 1);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepEqual(h.homeserver.sentDelayedEvents, ["syd_gone"], "not the one just handed over, nor the connected participant's");
      });
    });

    it("ends a call whose last membership expired without a leave event", async () => {
      const now = Date.now();
      await txn([callMember(ALICE, "DA", rtcContent("DA", { created_ts: now - 10_000, expires: 5_000 }), now - 10_000)]);
      await waitFor("the call ended by the sweep", async () => (await activeCall()) === null);
      await waitFor("end notice", () => notices("ended").length === 1);
      assert.match(notices("ended")[0]?.content.body ?? "", /^Appel terminé · 1 participant · < 1 min$/);
    });
  });
});
