// Call state end to end in one process: a real appservice (SQLite file) receiving signed LiveKit
// webhooks and appservice transactions, with a fake homeserver and a fake LiveKit room API.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Room } from "livekit-server-sdk";
import { start, type RunningAppservice } from "../../appservice/src/app.ts";
import { FakeLiveKitRoomService } from "../../appservice/src/calls/testing/fake-livekit-room-service.ts";
import { postWebhook, signWebhook, webhookBody, type WebhookFields } from "../../appservice/src/calls/testing/livekit-webhooks.ts";
import type { FederationGet } from "../../appservice/src/focus/federation-client.ts";
import { liveKitIdentity, liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { createLogger } from "../../appservice/src/log.ts";
import { FakeHomeserver } from "../../appservice/src/testing/fake-homeserver.ts";
import { parseConfig } from "../../config/load.ts";
import type { AppserviceConfig } from "../../config/schema.ts";
import type { RoomEvent } from "../../config/wire-types.ts";
import { waitUntil } from "../harness/wait.ts";
import { requestJson } from "../support/http.ts";

const API_KEY = "calls-test-key";
const API_SECRET = "calls-test-secret-0123456789abcdefghijkl";
const HS_TOKEN = "hs-token-for-tests-0123456789abcdefghij";
const BOT = "@visio:ministry-a.test";
const ALICE = "@alice:ministry-a.test";
const BOB = "@bob:ministry-b.test";
const MOD = "@mod:ministry-a.test";
const T0 = 1_700_000_000_000;
const MIN = 60_000;

let roomCounter = 0;

describe("call state and lifecycle (in-process appservice, fake homeserver and LiveKit)", () => {
  let dir: string;
  let running: RunningAppservice;
  let homeserver: FakeHomeserver;
  let livekit: FakeLiveKitRoomService;
  let room: string;
  let lkRoom: string;
  let txnCounter = 0;

  const config = (): AppserviceConfig =>
    parseConfig({
      homeserver: { server_name: "ministry-a.test", url: "http://127.0.0.1:1" },
      appservice: { url: "http://127.0.0.1:9000", port: 0, as_token: "as-token-for-tests-0123456789abcdefghij", hs_token: HS_TOKEN },
      database: { client: "sqlite", filename: join(dir, "as.db") },
      federation: { allowlist: ["ministry-a.test", "ministry-b.test"] },
      focus: { livekit: { url: "ws://127.0.0.1:1", api_key: API_KEY, api_secret: API_SECRET } },
      logging: { level: "error" },
    });
  const federationGet: FederationGet = async (_target, path) =>
    path.startsWith("/.well-known/") ? { status: 404, body: null } : { status: 200, body: { sub: ALICE } };
  const focusDeps = {
    federationGet,
    rooms: { listRooms: async () => [], createRoom: async (o: { name: string }) => new Room({ name: o.name }) },
  };
  const boot = (): Promise<RunningAppservice> => start(config(), { homeserver, livekit, log: createLogger("error"), callTickMs: 50, focus: focusDeps });

  const txn = async (events: RoomEvent[]): Promise<void> => {
    const res = await requestJson("PUT", `${running.url}/_matrix/app/v1/transactions/t${++txnCounter}`, { token: HS_TOKEN, body: { events } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  let eventCounter = 0;
  const stateEvent = (type: string, sender: string, stateKey: string, content: Record<string, unknown>, at = Date.now()): RoomEvent => ({
    event_id: `$ev${++eventCounter}`,
    room_id: room,
    type,
    sender,
    state_key: stateKey,
    origin_server_ts: at,
    content,
  });
  const member = (userId: string, membership: string, sender = userId) => stateEvent("m.room.member", sender, userId, { membership });
  const callMember = (userId: string, device: string, content: Record<string, unknown>, at?: number) =>
    stateEvent("org.matrix.msc3401.call.member", userId, `_${userId}_${device}`, content, at);
  const rtcContent = (device: string, extra: Record<string, unknown> = {}) => ({
    application: "m.call",
    call_id: "",
    scope: "m.room",
    device_id: device,
    focus_active: { type: "livekit", focus_selection: "oldest_membership" },
    foci_preferred: [{ type: "livekit", livekit_service_url: "http://ministry-a.test/livekit/jwt", livekit_alias: room }],
    expires: 14_400_000,
    ...extra,
  });

  const identityOf = (userId: string, device: string) => liveKitIdentity(userId, device, `member-${device}`);
  const giveToken = (userId: string, device: string) =>
    running.callStore.recordIdentity({ livekitRoom: lkRoom, identity: identityOf(userId, device), roomId: room, userId, deviceId: device, issuedAt: Date.now() });

  const webhook = async (fields: Omit<WebhookFields, "room"> & { room?: string }, secret = API_SECRET) => {
    const signed = await signWebhook(webhookBody({ room: lkRoom, ...fields }), API_KEY, secret);
    return postWebhook(`${running.url}/livekit/webhook`, signed);
  };
  const ok = async (fields: Omit<WebhookFields, "room"> & { room?: string }) => {
    const res = await webhook(fields);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  // What LiveKit's room API lists follows its webhooks, as on a real server.
  const joined = (userId: string, device: string, at: number, sid?: string) => {
    livekit.connect(lkRoom, identityOf(userId, device), at, sid);
    return ok({ event: "participant_joined", identity: identityOf(userId, device), at, ...(sid ? { sid } : {}) });
  };
  const left = (userId: string, device: string, at: number, sid?: string) => {
    livekit.disconnect(lkRoom, sid ?? `PA_${identityOf(userId, device).slice(0, 8)}`);
    return ok({ event: "participant_left", identity: identityOf(userId, device), at, ...(sid ? { sid } : {}) });
  };

  const activeCall = () => running.callStore.activeCall(room);
  const notices = (state?: "started" | "ended") =>
    homeserver.notices.filter((n) => n.roomId === room && (state === undefined || n.content["org.visio.call"].state === state));
  const waitFor = (what: string, check: () => boolean | Promise<boolean>) =>
    waitUntil(what, async () => check(), { timeoutMs: 5000, intervalMs: 20 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "visio-calls-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    homeserver = new FakeHomeserver();
    livekit = new FakeLiveKitRoomService();
    running = await boot();
    room = `!call${++roomCounter}:ministry-a.test`;
    lkRoom = liveKitRoomAlias(room, "m.call#ROOM");
    livekit.rooms.set(lkRoom, []);
    await txn([member(BOT, "join"), member(ALICE, "join"), member(BOB, "join"), member(MOD, "join")]);
    // A meeting this appservice hosts: it posts the call notices there.
    await running.store.saveMeetingRoom({ roomId: room, alias: `#visio-c${roomCounter}:ministry-a.test`, slug: `c${roomCounter}`, createdAt: T0 });
  });
  afterEach(async () => {
    await running.stop();
  });

  describe("webhook verification", () => {
    it("refuses a wrong signature, a body that is not the signed one and no signature with 401, storing nothing", async () => {
      await giveToken(ALICE, "DA");
      const body = webhookBody({ event: "participant_joined", room: lkRoom, identity: identityOf(ALICE, "DA"), id: "EV_forged" });
      const url = `${running.url}/livekit/webhook`;
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
      const url = `${running.url}/livekit/webhook`;
      for (const body of ["not json", '{"event":5}', '{"room":{"name":"x"}}']) {
        const res = await postWebhook(url, await signWebhook(body, API_KEY, API_SECRET));
        assert.equal(res.status, 400, body);
        assert.equal(res.body.errcode, "M_BAD_JSON");
      }
    });

    it("applies a webhook delivered twice (LiveKit retries) once, even when the retry comes after later events", async () => {
      await giveToken(ALICE, "DA");
      const signed = await signWebhook(
        webhookBody({ event: "participant_joined", room: lkRoom, identity: identityOf(ALICE, "DA"), id: "EV_twice", at: T0 }),
        API_KEY,
        API_SECRET,
      );
      const url = `${running.url}/livekit/webhook`;
      assert.equal((await postWebhook(url, signed)).status, 200);
      assert.equal((await postWebhook(url, signed)).status, 200);
      const call = await activeCall();
      assert.ok(call);
      assert.equal((await running.callStore.presences(call.id)).length, 1);
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

      const call = await running.callStore.call(running1.id);
      assert.deepEqual(call, { ...running1, endedAt: T0 + 42 * MIN, participantCount: 2, maxConcurrent: 2 });
      assert.equal(call?.startedAt, T0);
      const presences = await running.callStore.presences(running1.id);
      assert.deepEqual(
        presences.map((p) => [p.userId, p.deviceId, p.joinedAt - T0, (p.leftAt ?? 0) - T0]),
        [
          [ALICE, "DA", 0, 42 * MIN],
          [BOB, "DB", MIN, 30 * MIN],
          [BOB, "DB", 31 * MIN, 40 * MIN],
        ],
      );

      await waitFor("end notice", () => notices("ended").length > 0);
      await waitFor("LiveKit room closed", () => livekit.deleted.includes(lkRoom));
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
      const [presence] = await running.callStore.presences(call.id);
      assert.deepEqual([presence?.joinedAt, presence?.leftAt], [T0 + 400, T0 + 400]);
    });

    it("counts a call.member join and the LiveKit connection of the same call as one call with one start notice", async () => {
      await giveToken(ALICE, "DA");
      await txn([callMember(ALICE, "DA", rtcContent("DA"))]);
      await joined(ALICE, "DA", Date.now());
      await txn([callMember(BOB, "DB", rtcContent("DB"))]);
      const call = await activeCall();
      assert.ok(call);
      assert.equal((await running.callStore.presences(call.id)).length, 3);
      await waitFor("start notice", () => notices().length > 0);
      // A refreshed membership is no new presence and no new notice.
      await txn([callMember(ALICE, "DA", rtcContent("DA", { expires: 28_800_000 }))]);
      assert.equal((await running.callStore.presences(call.id)).length, 3);
      assert.equal(notices().length, 1);
    });

    it("posts nothing in meetings hosted by another ministry (followed for multi_sfu), but still records the call", async () => {
      room = `!elsewhere${roomCounter}:ministry-b.test`;
      await txn([member(BOT, "join"), member(ALICE, "join")]);
      await txn([callMember(ALICE, "DA", rtcContent("DA"))]);
      assert.ok(await activeCall());
      await txn([callMember(ALICE, "DA", {})]);
      assert.equal(await activeCall(), null);
      await waitFor("effects done", async () => (await running.callStore.pendingEffects(10, Number.MAX_SAFE_INTEGER)).length === 0);
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
      assert.equal((await running.callStore.openPresencesInLiveKitRoom(lkRoom)).length, 1);
      // LiveKit restarted: the room is created again, then alice's client connects again.
      const restartedAt = T0 + 10 * MIN;
      await ok({ event: "room_started", at: restartedAt, createdAt: restartedAt });
      assert.deepEqual(await running.callStore.openPresencesInLiveKitRoom(lkRoom), [], "the lost connection is closed");
      const lost = (await running.callStore.presences(call.id)).find((p) => p.key === "PA_before");
      assert.equal(lost?.leftAt, restartedAt);
      await joined(ALICE, "DA", restartedAt + 2000, "PA_after");
      assert.equal((await activeCall())?.id, call.id, "one call throughout: her membership never ended");
      assert.deepEqual((await running.callStore.openPresencesInLiveKitRoom(lkRoom)).map((p) => p.key), ["PA_after"]);
      assert.equal(notices("started").length, 1);
    });

    it("a connection LiveKit no longer lists (its participant_left lost) is closed by the reconciler, and the call ends", async () => {
      await running.stop();
      running = await start(config(), { homeserver, livekit, log: createLogger("error"), callTickMs: 50, callReconcileMs: 100, focus: focusDeps });
      for (const device of ["DA", "DB", "DB2"]) await giveToken(device === "DA" ? ALICE : BOB, device);
      const now = Date.now();
      await joined(ALICE, "DA", now - 10 * MIN);
      await joined(BOB, "DB", now - 5 * MIN);
      // Just joined, not listed by LiveKit's room API yet: left alone.
      await ok({ event: "participant_joined", identity: identityOf(BOB, "DB2"), at: now });
      // A webhook that never came: bob's first connection is gone from LiveKit, not from the record.
      livekit.disconnect(lkRoom, `PA_${identityOf(BOB, "DB").slice(0, 8)}`);
      await waitFor("bob's lost connection closed", async () => (await running.callStore.openPresencesInLiveKitRoom(lkRoom)).length === 2);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual((await running.callStore.openPresencesInLiveKitRoom(lkRoom)).map((p) => p.deviceId).sort(), ["DA", "DB2"], "the listed and the new one stay");

      await ok({ event: "participant_left", identity: identityOf(BOB, "DB2"), at: Date.now() });
      livekit.disconnect(lkRoom, `PA_${identityOf(ALICE, "DA").slice(0, 8)}`);
      await waitFor("the call ended", async () => (await activeCall()) === null);
      await waitFor("end notice", () => notices("ended").length === 1);
    });

    describe("delegated leave (a client's MSC4140 delayed leave handed to the focus)", () => {
      const delegate = (userId: string, device: string, delayId: string, delegatedAt = Date.now()) => {
        homeserver.delayedEvents.add(delayId);
        return running.callStore.delegateLeave({ livekitRoom: lkRoom, identity: identityOf(userId, device), roomId: room, userId, delayId, delayTimeoutMs: 3_600_000, delegatedAt });
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
        assert.deepEqual(homeserver.sentDelayedEvents, []);
        // Her tab closes: LiveKit lets her second connection go.
        await ok({ event: "participant_left", identity: identityOf(ALICE, "DA"), sid: "PA_second", at: now + 5000, disconnectReason: "CLIENT_INITIATED" });
        await waitFor("alice's delayed leave sent", () => homeserver.sentDelayedEvents.length === 1);
        assert.deepEqual(homeserver.sentDelayedEvents, ["syd_alice"]);
        assert.equal(await running.callStore.takeDelegatedLeave(lkRoom, identityOf(ALICE, "DA")), null, "used once");
        assert.ok(homeserver.delayedEvents.has("syd_mod"), "the moderator's is still waiting");
      });

      it("sends one whose participant LiveKit does not have a while after it was handed over (left before, never came)", async () => {
        await running.stop();
        running = await start(config(), { homeserver, livekit, log: createLogger("error"), callTickMs: 50, callReconcileMs: 100, focus: focusDeps });
        await delegate(ALICE, "DA", "syd_gone", Date.now() - 3 * MIN);
        await delegate(BOB, "DB", "syd_recent", Date.now() - 10_000);
        await giveToken(MOD, "DM");
        await joined(MOD, "DM", Date.now() - 5 * MIN);
        await delegate(MOD, "DM", "syd_here", Date.now() - 3 * MIN);
        await waitFor("the missing participant's delayed leave sent", () => homeserver.sentDelayedEvents.length === 1);
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.deepEqual(homeserver.sentDelayedEvents, ["syd_gone"], "not the one just handed over, nor the connected participant's");
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

  describe("lifecycle", () => {
    it("disconnects a kicked user from LiveKit within seconds, and again if they come back with their token", async () => {
      await giveToken(ALICE, "DA");
      await giveToken(BOB, "DB");
      for (const [user, device] of [[ALICE, "DA"], [BOB, "DB"]] as const) {
        await txn([callMember(user, device, rtcContent(device))]);
        livekit.connect(lkRoom, identityOf(user, device));
        await joined(user, device, Date.now());
      }
      const kickedAt = Date.now();
      await txn([member(BOB, "leave", MOD)]);
      await waitFor("bob removed from LiveKit", () => livekit.removed.length > 0);
      assert.ok(Date.now() - kickedAt < 2000);
      assert.deepEqual(livekit.removed, [{ room: lkRoom, identity: identityOf(BOB, "DB") }]);
      await left(BOB, "DB", Date.now());
      const call = await activeCall();
      assert.ok(call, "alice's call goes on");
      assert.deepEqual(
        (await running.callStore.openPresences(call.id)).map((p) => p.userId),
        [ALICE, ALICE],
        "bob's call membership ended with his room membership",
      );

      // LiveKit tokens cannot be revoked: a rejoin with the old token is removed at once.
      livekit.connect(lkRoom, identityOf(BOB, "DB"));
      await joined(BOB, "DB", Date.now(), "PA_bob_back");
      await waitFor("bob removed again", () => livekit.removed.length === 2);
      assert.deepEqual((await running.callStore.openPresences(call.id)).map((p) => p.userId), [ALICE, ALICE]);
    });

    it("disconnects a banned user too", async () => {
      await giveToken(BOB, "DB");
      livekit.connect(lkRoom, identityOf(BOB, "DB"));
      await joined(BOB, "DB", Date.now());
      await txn([member(BOB, "ban", MOD)]);
      await waitFor("bob removed", () => livekit.removed.length === 1);
    });

    it("honours a delayed leave event (crashed client): that device's LiveKit participant is removed, not the others", async () => {
      await giveToken(ALICE, "DA");
      await giveToken(ALICE, "DA2");
      const connectedAt = Date.now() - 5000;
      livekit.connect(lkRoom, identityOf(ALICE, "DA"), connectedAt);
      livekit.connect(lkRoom, identityOf(ALICE, "DA2"), connectedAt);
      await txn([callMember(ALICE, "DA", rtcContent("DA"), connectedAt), callMember(ALICE, "DA2", rtcContent("DA2"), connectedAt)]);
      await joined(ALICE, "DA", connectedAt);
      await joined(ALICE, "DA2", connectedAt);
      // What the homeserver sends on the crashed client's behalf once its delay runs out.
      await txn([callMember(ALICE, "DA", {})]);
      await waitFor("the ghost removed", () => livekit.removed.length === 1);
      assert.deepEqual(livekit.removed, [{ room: lkRoom, identity: identityOf(ALICE, "DA") }]);
      assert.ok(await activeCall());
    });

    it("leaves a device that rejoined LiveKit after its leave event alone", async () => {
      await giveToken(ALICE, "DA");
      const leaveAt = Date.now() - 10_000;
      livekit.connect(lkRoom, identityOf(ALICE, "DA"), Date.now());
      await txn([callMember(ALICE, "DA", {}, leaveAt)]);
      await waitFor("effects done", async () => (await running.callStore.pendingEffects(10, Number.MAX_SAFE_INTEGER)).length === 0);
      assert.deepEqual(livekit.removed, []);
    });

    it("keeps the LiveKit room when someone is back before it is closed", async () => {
      await giveToken(ALICE, "DA");
      await joined(ALICE, "DA", T0);
      // Her client connected again (a new SID) before LiveKit reported the old connection gone.
      livekit.connect(lkRoom, identityOf(ALICE, "DA"), Date.now(), "PA_back");
      await left(ALICE, "DA", T0 + MIN);
      await waitFor("effects done", async () => (await running.callStore.pendingEffects(10, Number.MAX_SAFE_INTEGER)).length === 0);
      assert.deepEqual(livekit.deleted, []);
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

      await running.stop();
      running = await boot();

      await left(BOB, "DB", T0 + 20 * MIN);
      await joined(BOB, "DB", T0 + 21 * MIN, "PA_bob_2");
      await left(BOB, "DB", T0 + 30 * MIN, "PA_bob_2");
      await left(ALICE, "DA", T0 + 42 * MIN);
      assert.deepEqual(await running.callStore.call(call.id), { ...call, endedAt: T0 + 42 * MIN, participantCount: 2, maxConcurrent: 2 });
      assert.equal((await running.callStore.presences(call.id)).length, 3);
      await waitFor("end notice", () => notices("ended").length === 1);
      assert.deepEqual(
        notices().map((n) => n.content.body),
        ["Appel démarré", "Appel terminé · 2 participants · 42 min"],
      );
    });

    it("posts after the restart a notice the homeserver could not take before it", async () => {
      await giveToken(ALICE, "DA");
      homeserver.failing = new Error("homeserver down");
      await joined(ALICE, "DA", T0);
      await waitFor("a failed attempt", async () => ((await running.callStore.pendingEffects(10, Number.MAX_SAFE_INTEGER))[0]?.attempts ?? 0) > 0);
      await running.stop();
      homeserver.failing = null;
      running = await boot();
      await waitFor("start notice", () => notices().length === 1);
      assert.equal(notices()[0]?.content.body, "Appel démarré");
    });
  });

  it("records the identity of every token the focus service issues, for the webhooks to map back", async () => {
    const res = await requestJson("POST", `${running.url}/livekit/jwt/get_token`, {
      body: {
        room_id: room,
        slot_id: "m.call#ROOM",
        openid_token: { access_token: "t", token_type: "Bearer", matrix_server_name: "ministry-a.test", expires_in: 3600 },
        member: { id: "member-DA", claimed_user_id: ALICE, claimed_device_id: "DA" },
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const recorded = await running.callStore.identity(lkRoom, identityOf(ALICE, "DA"));
    assert.deepEqual(recorded && { ...recorded, issuedAt: 0 }, {
      livekitRoom: lkRoom,
      identity: identityOf(ALICE, "DA"),
      roomId: room,
      userId: ALICE,
      deviceId: "DA",
      issuedAt: 0,
    });
    await joined(ALICE, "DA", T0);
    assert.ok(await activeCall());
  });
});
