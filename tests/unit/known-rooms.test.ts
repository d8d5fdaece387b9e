import assert from "node:assert/strict";
import { Room } from "livekit-server-sdk";
import { createLogger } from "../../appservice/src/log.ts";
import { createKnownRooms } from "../../appservice/src/focus/known-rooms.ts";
import { createTokenIssuer, type LiveKitRooms } from "../../appservice/src/focus/token-issuer.ts";

describe("known LiveKit rooms", () => {
  it("trusts a room for a few seconds, and not after it is forgotten", () => {
    let now = 1_000_000;
    const rooms = createKnownRooms(() => now);
    assert.equal(rooms.has("r"), false);
    rooms.add("r");
    assert.equal(rooms.has("r"), true);
    now += 4_999;
    assert.equal(rooms.has("r"), true);
    now += 2;
    assert.equal(rooms.has("r"), false);
    rooms.add("r");
    rooms.forget("r");
    assert.equal(rooms.has("r"), false);
  });

  it("spares LiveKit's API while a room is trusted, and asks again once it is forgotten", async () => {
    let creates = 0;
    const rooms: LiveKitRooms = {
      createRoom: async (options) => {
        creates++;
        return new Room({ name: options.name });
      },
      listRooms: async () => [],
    };
    const knownRooms = createKnownRooms();
    const issuer = createTokenIssuer({
      url: "ws://sfu",
      apiKey: "key",
      apiSecret: "s".repeat(32),
      ttlSeconds: 60,
      sfuSelection: "oldest_membership",
      fullAccessServers: ["a.test"],
      rooms,
      knownRooms,
      log: createLogger("error"),
    });
    const request = { userId: "@u:a.test", serverName: "a.test", roomAlias: "room", identity: "id" };
    await issuer.issue(request);
    await issuer.issue(request);
    assert.equal(creates, 1);
    knownRooms.forget("room");
    await issuer.issue(request);
    assert.equal(creates, 2);
  });
});
