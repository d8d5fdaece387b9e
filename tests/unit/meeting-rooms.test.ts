import assert from "node:assert/strict";
import { HomeserverError, type CreateRoomRequest } from "../../appservice/src/homeserver-client.ts";
import { createLogger } from "../../appservice/src/log.ts";
import { createMeetingRooms, meetingRoomRequest, parseMeetingAlias, serverAcl } from "../../appservice/src/meeting-rooms.ts";
import type { MeetingRoom } from "../../appservice/src/storage/store.ts";
import { testConfig } from "../support/config.ts";

const quiet = createLogger("error");

describe("meeting rooms", () => {
  it("recognises meeting aliases of this server only", () => {
    assert.equal(parseMeetingAlias("#visio-budget:ministry-a.test", "ministry-a.test", "visio-"), "budget");
    assert.equal(parseMeetingAlias("#visio-budget-2026:ministry-a.test", "ministry-a.test", "visio-"), "budget-2026");
    assert.equal(parseMeetingAlias("#visio-budget:ministry-b.test", "ministry-a.test", "visio-"), null);
    assert.equal(parseMeetingAlias("#other-budget:ministry-a.test", "ministry-a.test", "visio-"), null);
    assert.equal(parseMeetingAlias("#visio-:ministry-a.test", "ministry-a.test", "visio-"), null);
    assert.equal(parseMeetingAlias("#visio-Budget:ministry-a.test", "ministry-a.test", "visio-"), null);
    assert.equal(parseMeetingAlias("#visio-a/b:ministry-a.test", "ministry-a.test", "visio-"), null);
    assert.equal(parseMeetingAlias("#visio-x:localhost:8448", "localhost:8448", "visio-"), "x");
  });

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
    const request = meetingRoomRequest("budget", testConfig());
    const levels = request.power_level_content_override;
    assert.equal(levels.events["org.matrix.msc3401.call.member"], 0);
    assert.equal(levels.events["m.call.member"], 0);
    assert.equal(levels.events["m.room.server_acl"], 100);
    assert.equal(request.room_alias_name, "visio-budget");
    assert.equal(request.name, "Budget");
    assert.equal(request.room_version, "org.matrix.msc3757.11", "owned state by default");
    assert.equal(meetingRoomRequest("budget", { ...testConfig(), meetings: { ...testConfig().meetings, room_version: "" } }).room_version, undefined, "or the homeserver's default");
    const acl = request.initial_state.find((e) => e.type === "m.room.server_acl");
    assert.deepEqual(acl?.content, { allow: ["ministry-a.test", "ministry-b.test"], deny: [], allow_ip_literals: false });
    const joinRules = request.initial_state.find((e) => e.type === "m.room.join_rules");
    assert.deepEqual(joinRules?.content, { join_rule: "public" });
  });

  it("creates one room when two queries for a new alias arrive together", async () => {
    const created: CreateRoomRequest[] = [];
    const saved: MeetingRoom[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const rooms = createMeetingRooms({
      config: testConfig(),
      log: quiet,
      homeserver: {
        createRoom: async (req) => {
          created.push(req);
          await gate;
          return { room_id: "!r1:ministry-a.test" };
        },
        resolveAlias: async () => null,
      },
      store: { saveMeetingRoom: async (room) => void saved.push(room) },
    });
    const both = Promise.all([rooms.provision("#visio-x:ministry-a.test"), rooms.provision("#visio-x:ministry-a.test")]);
    release();
    assert.deepEqual(await both, [true, true]);
    assert.equal(created.length, 1);
    assert.equal(saved[0]?.roomId, "!r1:ministry-a.test");
  });

  it("creates rooms on lookups only within the creation limit; beyond it a lookup finds nothing, and the limit refills", async () => {
    let clock = 0;
    let created = 0;
    const config = testConfig();
    const rooms = createMeetingRooms({
      config: { ...config, meetings: { ...config.meetings, creation_limit: { per_second: 0.1, burst: 2 } } },
      log: quiet,
      now: () => clock,
      homeserver: {
        createRoom: async () => ({ room_id: `!r${++created}:ministry-a.test` }),
        resolveAlias: async () => null,
      },
      store: { saveMeetingRoom: async () => undefined },
    });
    const lookups = await Promise.all(["a", "b", "c", "d", "e"].map((slug) => rooms.provision(`#visio-${slug}:ministry-a.test`)));
    assert.deepEqual(lookups, [true, true, false, false, false]);
    assert.equal(created, 2, "five lookups of unknown aliases, two rooms");
    clock += 10_000;
    assert.equal(await rooms.provision("#visio-f:ministry-a.test"), true);
    assert.equal(await rooms.provision("#visio-g:ministry-a.test"), false);
  });

  it("points at the existing room when the alias is already in use", async () => {
    const saved: MeetingRoom[] = [];
    const rooms = createMeetingRooms({
      config: testConfig(),
      log: quiet,
      homeserver: {
        createRoom: async () => {
          throw new HomeserverError(400, { errcode: "M_ROOM_IN_USE", error: "Room alias already taken" });
        },
        resolveAlias: async () => "!old:ministry-a.test",
      },
      store: { saveMeetingRoom: async (room) => void saved.push(room) },
    });
    assert.equal(await rooms.provision("#visio-x:ministry-a.test"), true);
    assert.equal(saved[0]?.roomId, "!old:ministry-a.test");
    assert.equal(await rooms.provision("#nope:ministry-a.test"), false);
  });

  it("passes other homeserver errors on", async () => {
    const rooms = createMeetingRooms({
      config: testConfig(),
      log: quiet,
      homeserver: {
        createRoom: async () => {
          throw new HomeserverError(403, { errcode: "M_FORBIDDEN", error: "no" });
        },
        resolveAlias: async () => null,
      },
      store: { saveMeetingRoom: async () => undefined },
    });
    await assert.rejects(rooms.provision("#visio-x:ministry-a.test"), HomeserverError);
  });
});
