// The Application Service API of a real appservice (in-process, SQLite file) with a fake homeserver.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { start, type RunningAppservice } from "../../appservice/src/app.ts";
import type { HomeserverClient } from "../../appservice/src/homeserver-client.ts";
import { createLogger } from "../../appservice/src/log.ts";
import { testConfig } from "../support/config.ts";
import { memberEvent, requestJson } from "../harness/http.ts";

const HS_TOKEN = testConfig().appservice.hs_token;
const ROOM = "!meeting:ministry-a.test";
const ALICE = "@alice:ministry-b.test";

describe("appservice API (in-process, fake homeserver)", () => {
  let dir: string;
  let running: RunningAppservice;
  const createRoomCalls: string[] = [];
  const homeserver: HomeserverClient = {
    createRoom: async (req) => {
      createRoomCalls.push(req.room_alias_name);
      return { room_id: `!${req.room_alias_name}:ministry-a.test` };
    },
    pingAppservice: async () => ({ duration_ms: 1 }),
    joinRoom: async () => undefined,
    joinedMembers: async () => [],
    sendNotice: async () => ({ event_id: "$notice" }),
    sendMessage: async () => ({ event_id: "$message" }),
    getEvent: async () => null,
    getState: async () => null,
    setState: async () => ({ event_id: "$state" }),
    invite: async () => undefined,
    sendDelayedEvent: async () => false,
  };
  const config = (): ReturnType<typeof testConfig> =>
    testConfig({ database: { client: "sqlite", filename: join(dir, "as.db") } });
  const boot = async (): Promise<RunningAppservice> => start(config(), { homeserver, log: createLogger("error") });
  const txn = (id: string, body: unknown, token: string | null = HS_TOKEN) =>
    requestJson("PUT", `${running.url}/_matrix/app/v1/transactions/${id}`, { token: token ?? undefined, body });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "visio-as-"));
    running = await boot();
  });
  after(async () => {
    await running.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses a missing token with 401 and a wrong one with 403, storing nothing", async () => {
    const body = { events: [memberEvent(ROOM, "@mallory:ministry-b.test", "join", 1)] };
    const missing = await txn("t-auth", body, null);
    assert.equal(missing.status, 401);
    assert.equal(missing.body.errcode, "M_MISSING_TOKEN");
    const wrong = await txn("t-auth", body, "not-the-token");
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.errcode, "M_FORBIDDEN");
    assert.equal(await running.store.membership(ROOM, "@mallory:ministry-b.test"), null);
    // The txnId was not burnt by the refused attempts: the real delivery is applied.
    assert.equal((await txn("t-auth", body)).status, 200);
    assert.equal(await running.store.membership(ROOM, "@mallory:ministry-b.test"), "join");
  });

  it("refuses the token in the query string too when it is wrong", async () => {
    const res = await requestJson("GET", `${running.url}/_matrix/app/v1/users/%40visio%3Aministry-a.test?access_token=wrong`);
    assert.equal(res.status, 403);
  });

  it("applies a txnId once, even when delivered again after later transactions and a restart", async () => {
    const join1 = { events: [memberEvent(ROOM, ALICE, "join", 1)] };
    const leave2 = { events: [memberEvent(ROOM, ALICE, "leave", 2)] };
    assert.equal((await txn("t-1", join1)).status, 200);
    assert.equal((await txn("t-2", leave2)).status, 200);
    assert.equal(await running.store.membership(ROOM, ALICE), "leave");
    // A replayed join would make a departed user look joined again.
    assert.equal((await txn("t-1", join1)).status, 200);
    assert.equal(await running.store.membership(ROOM, ALICE), "leave");
    await running.stop();
    running = await boot();
    assert.equal((await txn("t-1", join1)).status, 200);
    assert.equal(await running.store.membership(ROOM, ALICE), "leave");
  });

  it("answers concurrent deliveries of one txnId once", async () => {
    const body = { events: [memberEvent(ROOM, "@bob:ministry-b.test", "join", 3)] };
    const results = await Promise.all([txn("t-c", body), txn("t-c", body), txn("t-c", body)]);
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200]);
    assert.equal(await running.store.membership(ROOM, "@bob:ministry-b.test"), "join");
  });

  it("rejects malformed transactions with 400 and a clear error, and keeps serving", async () => {
    const notJson = await requestJson("PUT", `${running.url}/_matrix/app/v1/transactions/t-bad1`, {
      token: HS_TOKEN,
      rawBody: "{not json",
    });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.errcode, "M_NOT_JSON");
    const noEvents = await txn("t-bad2", { evnts: [] });
    assert.equal(noEvents.status, 400);
    assert.equal(noEvents.body.errcode, "M_BAD_JSON");
    assert.match(String(noEvents.body.error), /'events' array/);
    const badEvent = await txn("t-bad3", { events: [memberEvent(ROOM, ALICE, "join", 4), { type: 1 }] });
    assert.equal(badEvent.status, 400);
    assert.match(String(badEvent.body.error), /events\[1\]: 'event_id' must be a string/);
    // Nothing of a rejected transaction is applied, and its txnId stays usable.
    assert.equal(await running.store.membership(ROOM, ALICE), "leave");
    const good = await txn("t-bad3", { events: [memberEvent(ROOM, ALICE, "join", 5)] });
    assert.equal(good.status, 200);
    assert.equal(await running.store.membership(ROOM, ALICE), "join");
  });

  it("answers pings, user queries and unknown paths", async () => {
    assert.equal((await requestJson("POST", `${running.url}/_matrix/app/v1/ping`, { token: HS_TOKEN, body: { transaction_id: "x" } })).status, 200);
    const bot = await requestJson("GET", `${running.url}/_matrix/app/v1/users/${encodeURIComponent("@visio:ministry-a.test")}`, { token: HS_TOKEN });
    assert.equal(bot.status, 200);
    const other = await requestJson("GET", `${running.url}/_matrix/app/v1/users/${encodeURIComponent("@visio-x:ministry-a.test")}`, { token: HS_TOKEN });
    assert.equal(other.status, 404);
    assert.equal(other.body.errcode, "M_NOT_FOUND");
    const unknown = await requestJson("GET", `${running.url}/_matrix/app/v1/thirdparty/protocol/x`, { token: HS_TOKEN });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.errcode, "M_UNRECOGNIZED");
  });

  it("never creates a room on an alias query: an alias the homeserver does not know is not found", async () => {
    for (const alias of ["#visio-budget:ministry-a.test", "#lobby:ministry-a.test"]) {
      const res = await requestJson("GET", `${running.url}/_matrix/app/v1/rooms/${encodeURIComponent(alias)}`, { token: HS_TOKEN });
      assert.equal(res.status, 404);
      assert.equal(res.body.errcode, "M_NOT_FOUND");
    }
    assert.deepEqual(createRoomCalls, []);
    assert.equal(await running.store.meetingRoomByAlias("#visio-budget:ministry-a.test"), null);
  });

});
