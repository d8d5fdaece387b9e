// The same migrations and store behaviour on SQLite (the default) and PostgreSQL (production).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AppserviceConfig } from "../../config/schema.ts";
import { openDatabase } from "../../appservice/src/storage/database.ts";
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
