// Meeting rooms across federation, with the real appservice registered on ministry A's Synapse.
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { openDatabase } from "../../appservice/src/storage/database.ts";
import { createStore, type Store } from "../../appservice/src/storage/store.ts";
import { MatrixRequestError, matrixRequest } from "../harness/matrix-client.ts";
import type { RegisteredUser, SynapseServer, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { createMeeting, openIdToken, waitForJoins } from "../harness/matrix-users.ts";
import { MEETINGS_API_PATH, type MeetingCreationResponse } from "../../config/wire-types.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { memberEvent, requestJson } from "../harness/http.ts";

interface StateEvent {
  type: string;
  sender: string;
  state_key: string;
  content: Record<string, unknown>;
}

const as = (server: SynapseServer, user: RegisteredUser) =>
  <T>(method: "GET" | "POST" | "PUT", path: string, body?: unknown): Promise<T> =>
    matrixRequest<T>(server.clientUrl, user.accessToken, method, path, body);

async function waitForMessage(server: SynapseServer, user: RegisteredUser, roomId: string, body: string): Promise<void> {
  await waitUntil(
    `message "${body}" visible on ${server.serverName}`,
    async () => {
      const res = await as(server, user)<{ chunk: { content: { body?: string } }[] }>(
        "GET",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=50`,
      );
      return res.chunk.some((e) => e.content.body === body);
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}

describe("meeting rooms across federation (real Synapse A, B, C)", function () {
  this.timeout(120_000);
  let testbed: Testbed;
  let appservice: AppserviceProcess;
  let store: Store;
  let alias: string;
  let roomId: string;
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    appservice = await startAppservice("a");
    // Reads what the appservice process stores, through the same store code.
    store = createStore(await openDatabase(appservice.config.database));
  });
  after(async () => {
    await store?.close();
  });

  it("creates the meeting alice asks for; bob of B joins its address, and both ministries chat in it", async () => {
    const { a, b } = testbed.ministries;
    bob = await b.registerUser(uniqueLocalpart("bob"));
    alice = await a.registerUser(uniqueLocalpart("alice"));

    ({ roomId, alias } = await createMeeting(appservice, a, alice, "Budget"));
    assert.equal((await as(b, bob)<{ room_id: string }>("POST", `/_matrix/client/v3/join/${encodeURIComponent(alias)}`, {})).room_id, roomId);

    const state = await as(a, alice)<StateEvent[]>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state`);
    const create = state.find((e) => e.type === "m.room.create");
    assert.equal(create?.sender, "@visio:ministry-a.test", "the room is created by A's appservice bot");
    assert.equal(create?.content.room_version, "org.matrix.msc3757.11", "owned state: nobody writes another's call membership");
    assert.deepEqual(state.find((e) => e.type === "m.room.server_acl")?.content, {
      allow: ["ministry-a.test", "ministry-b.test"],
      deny: [],
      allow_ip_literals: false,
    });
    assert.equal(state.find((e) => e.type === "m.room.join_rules")?.content.join_rule, "public");
    const levels = state.find((e) => e.type === "m.room.power_levels")?.content as { events: Record<string, number> };
    assert.equal(levels.events["org.matrix.msc3401.call.member"], 0);

    const txn = (n: string) => `${n}-${Date.now()}`;
    await as(b, bob)("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn("b")}`, {
      msgtype: "m.text",
      body: "Bonjour depuis B",
    });
    await as(a, alice)("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn("a")}`, {
      msgtype: "m.text",
      body: "Bonjour depuis A",
    });
    await waitForMessage(a, alice, roomId, "Bonjour depuis B");
    await waitForMessage(b, bob, roomId, "Bonjour depuis A");

    assert.equal((await store.meetingRoomByAlias(alias))?.roomId, roomId, "the appservice recorded the room");
    await waitForJoins(store, roomId, [bob, alice]);
  });

  it("lets nobody overwrite another member's call membership, on either server", async () => {
    const { a, b } = testbed.ministries;
    const room = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;
    // As matrix-js-sdk keys a membership in an MSC3757 room: <user>_<device>_<application>.
    const key = encodeURIComponent(`${alice.userId}_${alice.deviceId}_m.call`);
    const type = "org.matrix.msc3401.call.member";
    const mine = { application: "m.call", call_id: "", scope: "m.room", device_id: alice.deviceId, expires: 3_600_000, focus_active: { type: "livekit" }, foci_preferred: [] };
    await as(a, alice)("PUT", `${room}/state/${type}/${key}`, mine);
    const forged = { ...mine, foci_preferred: [{ type: "livekit", livekit_service_url: "https://evil.test/focus" }] };
    await assert.rejects(as(b, bob)("PUT", `${room}/state/${type}/${key}`, forged), (err: MatrixRequestError) => err.status === 403);
    await assert.rejects(as(b, bob)("PUT", `${room}/state/${type}/${key}`, {}), (err: MatrixRequestError) => err.status === 403, "nor end it");
    for (const [server, user] of [
      [a, alice],
      [b, bob],
    ] as const) {
      await waitUntil(
        `alice's membership as she wrote it, seen on ${server.serverName}`,
        async () => isDeepStrictEqual(await as(server, user)("GET", `${room}/state/${type}/${key}`).catch((err: unknown) => String(err)), mine),
        { timeoutMs: 20_000, intervalMs: 250 },
      );
    }
  });

  it("refuses a homeserver that is not on the allowlist", async () => {
    const { a, c } = testbed.ministries;
    const carol = await c.registerUser(uniqueLocalpart("carol"));
    const refusal = await as(c, carol)("POST", `/_matrix/client/v3/join/${encodeURIComponent(alias)}`, {}).then(
      () => null,
      (err: unknown) => err,
    );
    assert.ok(refusal instanceof MatrixRequestError, "the join must fail");
    assert.equal(refusal.status, 403, refusal.message);
    const admin = await a.registerUser(uniqueLocalpart("admin"), { admin: true });
    const members = await as(a, admin)<{ members: string[] }>("GET", `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/members`);
    assert.ok(!members.members.includes(carol.userId));
    assert.ok(members.members.every((m) => !m.endsWith(":ministry-c.test")));
  });

  it("refuses a wrong hs_token on the running process and stores nothing", async () => {
    const user = "@intruder:ministry-b.test";
    const body = { events: [memberEvent(roomId, user, "join", 1)] };
    const wrong = await requestJson("PUT", `${appservice.url}/_matrix/app/v1/transactions/forged-1`, { token: "forged", body });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.body.errcode, "M_FORBIDDEN");
    const missing = await requestJson("PUT", `${appservice.url}/_matrix/app/v1/transactions/forged-2`, { body });
    assert.equal(missing.status, 401);
    const aliasQuery = await requestJson("GET", `${appservice.url}/_matrix/app/v1/rooms/${encodeURIComponent("#visio-forged:ministry-a.test")}`, { token: "forged" });
    assert.equal(aliasQuery.status, 403);
    assert.equal(await store.membership(roomId, user), null);
    assert.equal(await store.meetingRoomByAlias("#visio-forged:ministry-a.test"), null);
  });

  it("handles a redelivered txnId once, answers malformed transactions with 400, and keeps serving", async () => {
    const token = appservice.config.appservice.hs_token;
    const user = "@replayed:ministry-b.test";
    const put = (id: string, body: unknown) => requestJson("PUT", `${appservice.url}/_matrix/app/v1/transactions/${id}`, { token, body });
    const joinTxn = { events: [memberEvent(roomId, user, "join", 1)] };
    assert.equal((await put("replay-1", joinTxn)).status, 200);
    assert.equal((await put("replay-2", { events: [memberEvent(roomId, user, "leave", 2)] })).status, 200);
    assert.equal((await put("replay-1", joinTxn)).status, 200);
    assert.equal(await store.membership(roomId, user), "leave");

    const malformed = await requestJson("PUT", `${appservice.url}/_matrix/app/v1/transactions/bad`, { token, rawBody: '{"events": [' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.errcode, "M_NOT_JSON");
    assert.equal(appservice.process.exitDescription(), undefined, "the process is still running");

    // Still serving Synapse: the transactions of a new join reach the store.
    const { b } = testbed.ministries;
    const dave = await b.registerUser(uniqueLocalpart("dave"));
    await as(b, dave)("POST", `/_matrix/client/v3/join/${encodeURIComponent(alias)}`, {});
    await waitForJoins(store, roomId, [dave]);
  });

  it("creates no meeting for an address nobody created: a mistyped one is not found, from either ministry", async () => {
    const { a, b } = testbed.ministries;
    const erin = await b.registerUser(uniqueLocalpart("erin"));
    const typo = alias.replace(/-([a-z0-9]{4}):/, (_, tail: string) => `-${tail === "zzzz" ? "yyyy" : "zzzz"}:`);
    for (const [server, user, address] of [
      [b, erin, typo],
      [a, alice, typo],
      [b, erin, "#visio--bad-:ministry-a.test"],
    ] as const) {
      const refusal = await as(server, user)("POST", `/_matrix/client/v3/join/${encodeURIComponent(address)}`, {}).then(
        () => null,
        (err: unknown) => err,
      );
      assert.ok(refusal instanceof MatrixRequestError, `joining ${address} must fail`);
      assert.equal(refusal.status, 404, refusal.message);
      assert.equal(refusal.errcode, "M_NOT_FOUND");
    }
    assert.equal(await store.meetingRoomByAlias(typo), null, "nothing recorded");
  });

  it("creates a meeting on purpose for a user of A, with her title, inviting her as moderator; B's users and bad requests are refused", async () => {
    const { a, b } = testbed.ministries;
    const carol = await a.registerUser(uniqueLocalpart("carol"));
    const create = async (title: unknown, server: SynapseServer, user: RegisteredUser) =>
      requestJson("POST", `${appservice.url}${MEETINGS_API_PATH}`, { body: { title, openid_token: await openIdToken(server, user) } });
    const created = await create("Comité budget 2027", a, carol);
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const meeting = created.body as unknown as MeetingCreationResponse;
    assert.match(meeting.room_alias, /^#visio-comite-budget-2027-[a-z0-9]{4}:ministry-a\.test$/);
    assert.equal(meeting.name, "Comité budget 2027");
    const resolved = await as(a, carol)<{ room_id: string }>("GET", `/_matrix/client/v3/directory/room/${encodeURIComponent(meeting.room_alias)}`);
    assert.equal(resolved.room_id, meeting.room_id);
    // Invited: she joins by the room's ID, and may rename it (moderator) but not touch the ACL.
    await as(a, carol)("POST", `/_matrix/client/v3/join/${encodeURIComponent(meeting.room_id)}`, {});
    const name = await as(a, carol)<{ name: string }>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(meeting.room_id)}/state/m.room.name/`);
    assert.equal(name.name, "Comité budget 2027");
    const levels = await as(a, carol)<{ users: Record<string, number> }>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(meeting.room_id)}/state/m.room.power_levels/`);
    assert.equal(levels.users[carol.userId], 50);
    await as(a, carol)("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(meeting.room_id)}/state/m.room.topic/`, { topic: "Ordre du jour" });
    const aclChange = await as(a, carol)("PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(meeting.room_id)}/state/m.room.server_acl/`, { allow: ["*"], deny: [] }).then(
      () => null,
      (err: unknown) => err,
    );
    assert.ok(aclChange instanceof MatrixRequestError && aclChange.status === 403, "the ACL stays the bot's");
    assert.equal((await store.meetingRoomByAlias(meeting.room_alias))?.roomId, meeting.room_id);

    // A user of B creates meetings on B's own appservice.
    const dave = await b.registerUser(uniqueLocalpart("dave"));
    const fromB = await create("Réunion B", b, dave);
    assert.equal(fromB.status, 403, JSON.stringify(fromB.body));
    assert.equal(fromB.body.errcode, "M_FORBIDDEN");
    assert.match(String(fromB.body.error), /created by users of ministry-a\.test/);
    const empty = await create("   ", a, carol);
    assert.equal(empty.status, 400);
    assert.equal(empty.body.errcode, "M_INVALID_PARAM");
    const forged = await requestJson("POST", `${appservice.url}${MEETINGS_API_PATH}`, {
      body: { title: "x", openid_token: { access_token: "forged", token_type: "Bearer", matrix_server_name: "ministry-a.test", expires_in: 3600 } },
    });
    assert.equal(forged.status, 401, JSON.stringify(forged.body));
  });
});
