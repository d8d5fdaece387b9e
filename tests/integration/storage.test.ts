// The same migrations and store behaviour on SQLite (the default) and PostgreSQL (production).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AppserviceConfig } from "../../config/schema.ts";
import { createCallStore } from "../../appservice/src/calls/call-store.ts";
import { openDatabase } from "../../appservice/src/storage/database.ts";
import { pruneOld } from "../../appservice/src/storage/retention.ts";
import { createStore, type MembershipChange, type Store } from "../../appservice/src/storage/store.ts";
import { getTestbed } from "../harness/testbed.ts";

const change = (userId: string, membership: string, n: number): MembershipChange => ({
  roomId: "!r:ministry-a.test",
  userId,
  membership,
  eventId: `$e${n}`,
  originServerTs: 1_700_000_000_000 + n,
});

const backends: { name: string; database: () => Promise<AppserviceConfig["database"]> }[] = [
  {
    name: "SQLite",
    database: async () => ({ client: "sqlite", filename: join(await mkdtemp(join(tmpdir(), "visio-store-")), "as.db") }),
  },
  {
    name: "PostgreSQL",
    database: async function () {
      const postgres = await (await getTestbed()).postgres();
      return { client: "postgres", filename: "", connection: await postgres.createDatabase(`store_${Date.now()}`) };
    },
  },
];

for (const backend of backends) {
  describe(`storage on ${backend.name}`, function () {
    this.timeout(240_000);
    let database: AppserviceConfig["database"];
    let store: Store;

    before(async () => {
      database = await backend.database();
      store = createStore(await openDatabase(database));
    });
    after(async () => {
      await store?.close();
      if (database?.client === "sqlite") await rm(join(database.filename, ".."), { recursive: true, force: true });
    });

    it("applies a transaction once and keeps the latest membership", async () => {
      assert.equal(await store.applyTransaction("t1", 2, [change("@a:x", "join", 1), change("@a:x", "leave", 2)]), "handled");
      assert.equal(await store.membership("!r:ministry-a.test", "@a:x"), "leave");
      assert.equal(await store.applyTransaction("t1", 1, [change("@a:x", "join", 3)]), "duplicate");
      assert.equal(await store.membership("!r:ministry-a.test", "@a:x"), "leave");
      assert.equal(await store.membership("!r:ministry-a.test", "@nobody:x"), null);
    });

    it("stores large transactions in chunks", async () => {
      const many = Array.from({ length: 750 }, (_, i) => change(`@u${i}:x`, "join", i));
      assert.equal(await store.applyTransaction("t-big", many.length, many), "handled");
      assert.equal(await store.membership("!r:ministry-a.test", "@u749:x"), "join");
    });

    it("records meeting rooms by alias, once", async () => {
      const room = { roomId: "!m:ministry-a.test", alias: "#visio-x:ministry-a.test", slug: "x", createdAt: 1_700_000_000_123 };
      await store.saveMeetingRoom(room);
      await store.saveMeetingRoom({ ...room, createdAt: 1 });
      assert.deepEqual(await store.meetingRoomByAlias(room.alias), room);
      assert.equal(await store.meetingRoomByAlias("#visio-y:ministry-a.test"), null);
    });

    it("keeps call state: identities, webhook ids, one running call per room, presences, effects", async () => {
      const db = await openDatabase(database);
      try {
        const calls = createCallStore(db);
        const identity = { livekitRoom: "lk1", identity: "id1", roomId: "!c:x", userId: "@a:x", deviceId: "D", issuedAt: 1 };
        await calls.recordIdentity(identity);
        await calls.recordIdentity({ ...identity, issuedAt: 2 });
        assert.deepEqual(await calls.identity("lk1", "id1"), { ...identity, issuedAt: 2 });
        assert.equal((await calls.identitiesOf("!c:x", "@a:x")).length, 1);

        assert.equal(await calls.markWebhookSeen("EV1", "participant_joined", 10), true);
        assert.equal(await calls.markWebhookSeen("EV1", "participant_joined", 11), false);
        await calls.forgetWebhooksBefore(11);
        assert.equal(await calls.markWebhookSeen("EV1", "participant_joined", 12), true);

        const call = await calls.startCall("!c:x", 1_700_000_000_000);
        await assert.rejects(calls.startCall("!c:x", 1_700_000_000_001), "a second running call in one room");
        const presence = { callId: call.id, userId: "@a:x", deviceId: "D", livekitRoom: "lk1", identity: "id1", expiresAt: null };
        await calls.addPresence({ ...presence, source: "livekit", key: "PA1", joinedAt: 1_700_000_000_000 });
        await calls.addPresence({ ...presence, source: "matrixrtc", key: "_@a:x_D", joinedAt: 1_700_000_000_500 });
        await calls.addPresence({ ...presence, userId: "@b:x", source: "livekit", key: "PA2", joinedAt: 1_700_000_001_000 });
        assert.deepEqual(await calls.activeCall("!c:x"), { ...call, participantCount: 2, maxConcurrent: 2 });
        assert.equal((await calls.openPresencesInLiveKitRoom("lk1")).length, 2);
        for (const p of await calls.openPresences(call.id)) await calls.closePresence(p, 1_700_000_060_000);
        const ended = await calls.endCall(call.id, 1_700_000_060_000);
        assert.equal(ended.endedAt, 1_700_000_060_000);
        assert.equal(await calls.activeCall("!c:x"), null);
        assert.ok(await calls.startCall("!c:x", 1_700_000_100_000), "a new call once the last one ended");

        await calls.enqueueEffect({ kind: "close_livekit_rooms", roomId: "!c:x", callId: call.id, livekitRooms: ["lk1"] }, 1);
        const [pending] = await calls.pendingEffects(10, 2);
        assert.deepEqual(pending?.effect, { kind: "close_livekit_rooms", roomId: "!c:x", callId: call.id, livekitRooms: ["lk1"] });
        await calls.effectAttempted(pending?.id ?? -1, false, 2);
        assert.equal((await calls.pendingEffects(10, 2))[0]?.attempts, 1);
        // Waiting: out of the batches until its time, then back, its attempts untouched.
        await calls.effectWaiting(pending?.id ?? -1, 100);
        assert.deepEqual(await calls.pendingEffects(10, 99), []);
        assert.equal((await calls.pendingEffects(10, 100))[0]?.attempts, 1);
        await calls.effectAttempted(pending?.id ?? -1, true, 3);
        assert.deepEqual(await calls.pendingEffects(10, 200), []);
        // A failed attempt with a retry time: out of the batches until then.
        await calls.enqueueEffect({ kind: "close_livekit_rooms", roomId: "!c:x", callId: call.id, livekitRooms: ["lk2"] }, 300);
        const [retried] = await calls.pendingEffects(10, 300);
        await calls.effectAttempted(retried?.id ?? -1, false, 300, 1300);
        assert.deepEqual(await calls.pendingEffects(10, 1299), []);
        assert.equal((await calls.pendingEffects(10, 1300))[0]?.attempts, 1);
        // However much is queued before it, a removal from LiveKit comes first.
        await calls.enqueueEffect({ kind: "remove_from_livekit", roomId: "!c:x", userId: "@b:x", reason: "kicked" }, 1400);
        assert.deepEqual(
          (await calls.pendingEffects(10, 1400)).map((p) => p.effect.kind),
          ["remove_from_livekit", "close_livekit_rooms"],
        );
      } finally {
        await db.destroy();
      }
    });

    it("prunes what grows with traffic as the retention says, and keeps what is younger or not done", async () => {
      const db = await openDatabase(database);
      try {
        const DAY = 24 * 60 * 60 * 1000;
        const now = Date.now();
        const calls = createCallStore(db);
        assert.equal(await store.applyTransaction("t-prune", 0, []), "handled");
        await db("as_transactions").where({ txn_id: "t-prune" }).update({ handled_at: now - 8 * DAY });
        assert.equal(await store.applyTransaction("t-recent", 0, []), "handled");
        await calls.recordIdentity({ livekitRoom: "lk-old", identity: "old", roomId: "!p:x", userId: "@a:x", deviceId: "D", issuedAt: now - 31 * DAY });
        await calls.recordIdentity({ livekitRoom: "lk-new", identity: "new", roomId: "!p:x", userId: "@a:x", deviceId: "D", issuedAt: now - DAY });
        await calls.enqueueEffect({ kind: "close_livekit_rooms", roomId: "!p:x", callId: "c-old", livekitRooms: [] }, now - 9 * DAY);
        await calls.enqueueEffect({ kind: "close_livekit_rooms", roomId: "!p:x", callId: "c-pending", livekitRooms: [] }, now - 9 * DAY);
        const [done, pending] = (await db("call_effects").where("payload", "like", "%c-old%").orWhere("payload", "like", "%c-pending%").orderBy("id")) as { id: number }[];
        await calls.effectAttempted(Number(done?.id), true, now - 8 * DAY);
        const pruned = await pruneOld(db, { transactions_days: 7, finished_effects_days: 7, identities_days: 30 }, now);
        assert.ok(pruned.transactions >= 1 && pruned.effects >= 1 && pruned.identities >= 1, JSON.stringify(pruned));
        assert.equal(await store.applyTransaction("t-recent", 0, []), "duplicate", "a recent transaction is still recognised");
        assert.equal(await calls.identity("lk-old", "old"), null);
        assert.ok(await calls.identity("lk-new", "new"));
        assert.deepEqual((await db("call_effects").whereIn("id", [Number(done?.id), Number(pending?.id)])).map((r: { id: number }) => Number(r.id)), [Number(pending?.id)], "an effect not done is kept");
      } finally {
        await db.destroy();
      }
    });

    it("reopens an existing database without migrating it again, data intact", async () => {
      const again = createStore(await openDatabase(database));
      try {
        assert.equal(await again.membership("!r:ministry-a.test", "@a:x"), "leave");
        assert.equal(await again.applyTransaction("t1", 0, []), "duplicate");
      } finally {
        await again.close();
      }
    });
  });
}
