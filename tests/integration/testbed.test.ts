// Proves the test bed itself: federation over the namespaces' link, both SFUs, the sealed network,
// PostgreSQL. If these fail, every other integration test's failure is noise.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { RoomServiceClient } from "livekit-server-sdk";
import knex from "knex";
import { MatrixRequestError, matrixRequest } from "../harness/matrix-client.ts";
import type { Testbed } from "../harness/testbed.ts";
import { configureTestbed, getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { sleep } from "../harness/wait.ts";

const execFileAsync = promisify(execFile);

const APPSERVICE_TOKEN = `as-${uniqueLocalpart("token")}`;
const APPSERVICE_SENDER = "testbed-probe";

// A registration that nothing serves (url null: Synapse never calls it, so it cannot disturb the real
// appservice's traffic), in a namespace of its own: enough to prove Synapse loaded what the caller gave.
configureTestbed({
  appserviceRegistrations: async (ministry) => {
    if (ministry.serverName !== "ministry-a.test") return [];
    const path = join(ministry.configDir, "testbed-probe.yaml");
    await writeFile(
      path,
      [
        "id: testbed-probe",
        "url: null",
        `as_token: ${APPSERVICE_TOKEN}`,
        `hs_token: hs-${uniqueLocalpart("token")}`,
        `sender_localpart: ${APPSERVICE_SENDER}`,
        "rate_limited: false",
        "namespaces:",
        "  users: []",
        "  rooms: []",
        "  aliases:",
        "    - regex: '#testbed-probe-.*:ministry-a\\.test'",
        "      exclusive: true",
        "",
      ].join("\n"),
    );
    return [path];
  },
});

interface RoomEvent {
  type: string;
  sender: string;
  content: { body?: string };
}

describe("test bed", function () {
  let testbed: Testbed;

  before(async function () {
    // First start of three Synapses on a busy 2-core machine.
    this.timeout(240_000);
    testbed = await getTestbed();
  });

  it("loads the appservice registration given by the caller", async function () {
    const a = testbed.ministries.a;
    const whoami = await matrixRequest<{ user_id: string }>(a.clientUrl, APPSERVICE_TOKEN, "GET", "/_matrix/client/v3/account/whoami");
    assert.equal(whoami.user_id, `@${APPSERVICE_SENDER}:ministry-a.test`);

    // Its exclusive alias namespace is enforced against ordinary users.
    const user = await a.registerUser(uniqueLocalpart("squatter"));
    const room = await matrixRequest<{ room_id: string }>(a.clientUrl, user.accessToken, "POST", "/_matrix/client/v3/createRoom", {});
    const alias = encodeURIComponent(`#${uniqueLocalpart("testbed-probe")}:ministry-a.test`);
    await assert.rejects(
      matrixRequest(a.clientUrl, user.accessToken, "PUT", `/_matrix/client/v3/directory/room/${alias}`, { room_id: room.room_id }),
      (error: unknown) => error instanceof MatrixRequestError && error.errcode === "M_EXCLUSIVE",
    );
  });

  it("federates: a user on B joins a room on A by alias and A reads their message", async function () {
    this.timeout(120_000);
    const { a, b } = testbed.ministries;
    const alice = await a.registerUser(uniqueLocalpart("alice"));
    const bob = await b.registerUser(uniqueLocalpart("bob"));
    const aliasName = uniqueLocalpart("lobby");
    const { room_id: roomId } = await matrixRequest<{ room_id: string }>(a.clientUrl, alice.accessToken, "POST", "/_matrix/client/v3/createRoom", {
      preset: "public_chat",
      room_alias_name: aliasName,
      name: "Test bed lobby",
    });

    const alias = encodeURIComponent(`#${aliasName}:ministry-a.test`);
    const joined = await matrixRequest<{ room_id: string }>(b.clientUrl, bob.accessToken, "POST", `/_matrix/client/v3/join/${alias}`, {});
    assert.equal(joined.room_id, roomId);

    const body = `hello from B ${uniqueLocalpart("msg")}`;
    await matrixRequest(b.clientUrl, bob.accessToken, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t1`, {
      msgtype: "m.text",
      body,
    });

    const deadline = Date.now() + 90_000;
    for (;;) {
      const page = await matrixRequest<{ chunk: RoomEvent[] }>(
        a.clientUrl,
        alice.accessToken,
        "GET",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=20`,
      );
      const message = page.chunk.find((event) => event.type === "m.room.message" && event.content.body === body);
      if (message !== undefined) {
        assert.equal(message.sender, bob.userId);
        break;
      }
      assert.ok(Date.now() < deadline, `A never received B's message; see ${testbed.logsDir}`);
      await sleep(250);
    }
  });

  for (const ministry of ["a", "b"] as const) {
    it(`LiveKit ${ministry} answers its API with the right key and refuses a wrong secret`, async function () {
      const livekit = testbed.livekit[ministry];
      const rooms = await new RoomServiceClient(livekit.controlUrl, livekit.apiKey, livekit.apiSecret).listRooms();
      assert.ok(Array.isArray(rooms));
      const impostor = new RoomServiceClient(livekit.controlUrl, livekit.apiKey, "x".repeat(64));
      await assert.rejects(impostor.listRooms(), /401|unauthori[sz]ed|invalid token|signature/i);
    });
  }

  for (const namespace of ["visio-a", "visio-b"]) {
    it(`has no route out of ${namespace}`, async function () {
      await assert.rejects(
        execFileAsync("ip", ["netns", "exec", namespace, "ip", "route", "get", "1.1.1.1"]),
        (error: { stderr?: string }) => /unreachable/i.test(error.stderr ?? ""),
      );
      const probe =
        "const s=require('net').connect(443,'1.1.1.1');" +
        "s.on('connect',()=>{console.log('CONNECTED');process.exit(0)});" +
        "s.on('error',e=>{console.log(e.code);process.exit(0)});" +
        "setTimeout(()=>{console.log('TIMEOUT');process.exit(0)},5000);";
      const { stdout } = await execFileAsync("ip", ["netns", "exec", namespace, process.execPath, "-e", probe]);
      assert.equal(stdout.trim(), "ENETUNREACH");
    });
  }

  it("starts PostgreSQL on demand and answers queries", async function () {
    this.timeout(90_000);
    const postgres = await testbed.postgres();
    // knex over the pg driver: the way the appservice talks to PostgreSQL.
    const db = knex({ client: "pg", connection: postgres.connectionString });
    try {
      const result = await db.raw<{ rows: { one: number }[] }>("select 1 as one");
      assert.equal(result.rows[0]?.one, 1);
    } finally {
      await db.destroy();
    }
  });
});
