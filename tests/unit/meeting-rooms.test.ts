import assert from "node:assert/strict";
import type { CreateRoomRequest } from "../../appservice/src/homeserver-client.ts";
import { MatrixHttpError } from "../../config/matrix/matrix-http-error.ts";
import { createLogger } from "../../appservice/src/log.ts";
import { createMeetingRooms, meetingRoomRequest, serverAcl, slugOfTitle } from "../../appservice/src/meeting-rooms.ts";
import { parseMeetingCreation } from "../../appservice/src/meetings-api.ts";
import { MatrixError } from "../../appservice/src/errors.ts";
import type { MeetingRoom } from "../../appservice/src/storage/store.ts";
import { testConfig } from "../support/config.ts";

const quiet = createLogger("error");
const MEETING = { title: "Budget 2027", creator: "@alice:ministry-a.test", botUserId: "@visio:ministry-a.test" };

describe("meeting rooms", () => {
  it("limits the server ACL to the allowlist and this server, by host name", () => {
    assert.deepEqual(serverAcl("ministry-a.test", ["ministry-a.test", "ministry-b.test:8448"]), {
      allow: ["ministry-a.test", "ministry-b.test"],
      deny: [],
      allow_ip_literals: false,
    });
    // Synapse only sends an ACL that matches its own server name as written, port included.
    assert.deepEqual(serverAcl("localhost:8448", ["localhost:8449", "ministry-b.test"]), {
      allow: ["localhost", "ministry-b.test", "localhost:8448"],
      deny: [],
      allow_ip_literals: false,
    });
  });

  it("lets members publish call membership but not change the ACL", () => {
    const request = meetingRoomRequest("budget", testConfig(), MEETING);
    const levels = request.power_level_content_override;
    assert.equal(levels.events["org.matrix.msc3401.call.member"], 0);
    assert.equal(levels.events["m.call.member"], 0);
    assert.equal(levels.events["m.room.server_acl"], 100);
    assert.equal(request.room_alias_name, "visio-budget");
    assert.equal(request.name, "Budget 2027");
    assert.equal(request.topic, "Réunion Visio, ouverte à ministry-a.test, ministry-b.test", "in the server's language, French by default");
    const english = { ...testConfig(), transcription: { ...testConfig().transcription, language: "en" } };
    assert.equal(meetingRoomRequest("budget", english, MEETING).topic, "Visio meeting, open to ministry-a.test, ministry-b.test");
    assert.equal(request.room_version, "org.matrix.msc3757.11", "owned state by default");
    assert.equal(meetingRoomRequest("budget", { ...testConfig(), meetings: { ...testConfig().meetings, room_version: "" } }, MEETING).room_version, undefined, "or the homeserver's default");
    const acl = request.initial_state.find((e) => e.type === "m.room.server_acl");
    assert.deepEqual(acl?.content, { allow: ["ministry-a.test", "ministry-b.test"], deny: [], allow_ip_literals: false });
    const joinRules = request.initial_state.find((e) => e.type === "m.room.join_rules");
    assert.deepEqual(joinRules?.content, { join_rule: "public" });
  });

  it("a breakout group's room invites its members besides the creator and names its meeting as parent", () => {
    const request = meetingRoomRequest("budget-g1", testConfig(), { ...MEETING, invite: ["@bob:ministry-b.test", MEETING.creator], parent: "!meeting:ministry-a.test" });
    assert.deepEqual(request.invite, [MEETING.creator, "@bob:ministry-b.test"]);
    assert.deepEqual(
      request.initial_state.find((e) => e.type === "m.space.parent"),
      { type: "m.space.parent", state_key: "!meeting:ministry-a.test", content: { via: ["ministry-a.test"], canonical: true } },
    );
    assert.equal(request.power_level_content_override.events["org.visio.breakouts"], 100, "the groups are the bot's to write");
    assert.equal(meetingRoomRequest("budget", testConfig(), MEETING).initial_state.some((e) => e.type === "m.space.parent"), false);
  });

  it("creates meetings within the creation limit, all creators together; beyond it M_LIMIT_EXCEEDED, and the limit refills", async () => {
    let clock = 0;
    let created = 0;
    const config = testConfig();
    const rooms = createMeetingRooms({
      config: { ...config, meetings: { ...config.meetings, creation_limit: { per_second: 0.1, burst: 2 } } },
      log: quiet,
      now: () => clock,
      homeserver: { createRoom: async () => ({ room_id: `!r${++created}:ministry-a.test` }) },
      store: { saveMeetingRoom: async () => undefined },
    });
    const creators = ["@a:ministry-a.test", "@b:ministry-a.test", "@c:ministry-a.test"];
    const results = await Promise.allSettled(creators.map((creator) => rooms.create("Point", creator)));
    assert.deepEqual(results.map((r) => r.status), ["fulfilled", "fulfilled", "rejected"]);
    const refused = results[2];
    assert.ok(refused?.status === "rejected" && refused.reason instanceof MatrixError && refused.reason.errcode === "M_LIMIT_EXCEEDED");
    assert.equal(created, 2, "no room for the refused creation");
    clock += 10_000;
    await rooms.create("Point", "@c:ministry-a.test");
    assert.equal(created, 3);
  });

  describe("created on purpose, with a title", () => {
    const TOKEN = { access_token: "t", token_type: "Bearer", matrix_server_name: "ministry-a.test", expires_in: 3600 };

    it("takes the alias's readable part from the title: no accents, lowercase words joined by '-'", () => {
      assert.equal(slugOfTitle("Comité budget 2027"), "comite-budget-2027");
      assert.equal(slugOfTitle("  Point d'étape — DINUM / DGFiP  "), "point-d-etape-dinum-dgfip");
      assert.equal(slugOfTitle("Réunion très, très longue sur la réforme des retraites et la suite"), "reunion-tres-tres-longue-sur-la-reforme");
      assert.equal(slugOfTitle("会議"), "reunion", "nothing readable left");
      for (const title of ["Comité budget 2027", "会議", "-- x --"]) assert.match(slugOfTitle(title), /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, title);
    });

    it("creates the room named as its creator wrote, inviting them as moderator (50), never above the ACL's 100", async () => {
      const created: CreateRoomRequest[] = [];
      const saved: MeetingRoom[] = [];
      const rooms = createMeetingRooms({
        config: testConfig(),
        log: quiet,
        homeserver: {
          createRoom: async (request) => {
            created.push(request);
            return { room_id: "!new:ministry-a.test" };
          },
        },
        store: { saveMeetingRoom: async (room) => void saved.push(room) },
      });
      const meeting = await rooms.create("Comité budget 2027", "@alice:ministry-a.test");
      assert.equal(meeting.roomId, "!new:ministry-a.test");
      assert.match(meeting.alias, /^#visio-comite-budget-2027-[a-z0-9]{4}:ministry-a\.test$/);
      const [request] = created;
      assert.equal(request?.name, "Comité budget 2027");
      assert.deepEqual(request?.invite, ["@alice:ministry-a.test"]);
      const bot = `@${testConfig().appservice.sender_localpart}:ministry-a.test`;
      assert.deepEqual(request?.power_level_content_override.users, { [bot]: 100, "@alice:ministry-a.test": 50 });
      assert.equal(request?.power_level_content_override.events["m.room.server_acl"], 100);
      assert.equal(saved[0]?.alias, meeting.alias);
      const again = await rooms.create("Comité budget 2027", "@alice:ministry-a.test");
      assert.notEqual(again.alias, meeting.alias, "one title, two meetings, two addresses");
    });

    it("tries another address when the first is taken, and passes other errors on", async () => {
      let calls = 0;
      const rooms = createMeetingRooms({
        config: testConfig(),
        log: quiet,
        homeserver: {
          createRoom: async () => {
            calls++;
            if (calls === 1) throw new MatrixHttpError("POST /_matrix/client/v3/createRoom: 400 M_ROOM_IN_USE: Room alias already taken", 400, "M_ROOM_IN_USE");
            if (calls === 2) return { room_id: "!second:ministry-a.test" };
            throw new MatrixHttpError("POST /_matrix/client/v3/createRoom: 403 M_FORBIDDEN: no", 403, "M_FORBIDDEN");
          },
        },
        store: { saveMeetingRoom: async () => undefined },
      });
      assert.equal((await rooms.create("Budget", "@alice:ministry-a.test")).roomId, "!second:ministry-a.test", "never another's room");
      await assert.rejects(rooms.create("Budget", "@alice:ministry-a.test"), MatrixHttpError);
    });

    it("reads the creation request: the title tidied, each problem named", () => {
      assert.deepEqual(parseMeetingCreation({ title: "  Comité\n budget  ", openid_token: TOKEN }), { title: "Comité budget", openid_token: TOKEN });
      const refused = (body: unknown, errcode: string, message: RegExp) =>
        assert.throws(() => parseMeetingCreation(body), (err: unknown) => err instanceof MatrixError && err.errcode === errcode && message.test(err.message));
      refused({ openid_token: TOKEN }, "M_BAD_JSON", /'title' must be a string/);
      refused({ title: "   ", openid_token: TOKEN }, "M_INVALID_PARAM", /must not be empty/);
      refused({ title: "x".repeat(101), openid_token: TOKEN }, "M_INVALID_PARAM", /at most 100/);
      refused({ title: "a\u202eb", openid_token: TOKEN }, "M_INVALID_PARAM", /control or invisible/);
      refused({ title: "x", openid_token: TOKEN, room_id: "!x:y" }, "M_BAD_JSON", /room_id/);
      refused({ title: "x" }, "M_BAD_JSON", /openid_token/);
    });
  });
});
