// The focus's view of room membership, with store and homeserver doubles: a meeting hosted elsewhere
// is followed (the bot joins it) on the first request, through the requester's server and then the
// allowlisted ones, once for requests that come together.
import assert from "node:assert/strict";
import { createRoomMembership, FOLLOW_REFUSED_MS } from "../../appservice/src/focus/room-membership.ts";
import { createLogger } from "../../appservice/src/log.ts";

const BOT = "@visio:ministry-b.test";
const ROOM = "!meeting:ministry-a.test";
const BOB = "@bob:ministry-b.test";

describe("focus room membership", function () {
  it("follows a room it is not in through the requester's server, then the allowlist, once for concurrent requests", async function () {
    const members = new Map<string, string>();
    const joins: { roomId: string; via: string[] }[] = [];
    const membership = createRoomMembership({
      store: {
        membership: async (roomId, userId) => members.get(`${roomId}|${userId}`) ?? null,
        seedMembers: async (roomId, userIds) => {
          for (const userId of userIds) members.set(`${roomId}|${userId}`, "join");
        },
      },
      homeserver: {
        joinRoom: async (roomId, via) => {
          joins.push({ roomId, via: [...via] });
        },
        joinedMembers: async () => [BOT, BOB, "@alice:ministry-a.test"],
        getState: async (_roomId, _type, userId) => (userId === "@carol:ministry-b.test" ? { membership: "join" } : userId === "@dan:ministry-b.test" ? { membership: "leave" } : null),
      },
      botUserId: BOT,
      allowlist: ["ministry-a.test", "ministry-c.test"],
      log: createLogger("error"),
    });
    const [first, second] = await Promise.all([membership.membership(ROOM, BOB), membership.membership(ROOM, BOB)]);
    assert.deepEqual([first, second], ["join", "join"]);
    assert.deepEqual(joins, [{ roomId: ROOM, via: ["ministry-b.test", "ministry-a.test", "ministry-c.test"] }]);
    assert.equal(await membership.membership(ROOM, "@mallory:ministry-c.test"), null, "followed: the store answers, and the room's state knows nothing else");
    assert.equal(joins.length, 1);
    // Joined a moment ago, not yet in a transaction: the room's current state says so.
    assert.equal(await membership.membership(ROOM, "@carol:ministry-b.test"), "join");
    assert.equal(await membership.membership(ROOM, "@dan:ministry-b.test"), "leave");
  });

  it("does not try again for 15 s a room it could not join", async function () {
    let clock = 0;
    let joins = 0;
    const membership = createRoomMembership({
      store: { membership: async () => null, seedMembers: async () => {} },
      homeserver: {
        joinRoom: async () => {
          joins += 1;
          throw new Error("403 M_FORBIDDEN: You are not invited to this room.");
        },
        joinedMembers: async () => [],
        getState: async () => null,
      },
      botUserId: BOT,
      allowlist: ["ministry-a.test"],
      log: createLogger("error"),
      now: () => clock,
    });
    for (let i = 0; i < 5; i++) assert.equal(await membership.membership("!private:ministry-a.test", BOB), null);
    assert.equal(joins, 1, "five requests, one join");
    clock += FOLLOW_REFUSED_MS;
    assert.equal(await membership.membership("!private:ministry-a.test", BOB), null);
    assert.equal(joins, 2);
  });
});
