// Bots say so in their own membership: the member list and its count leave them out, whatever
// ministry they belong to.
import assert from "node:assert/strict";
import { MatrixEvent, RoomMember } from "matrix-js-sdk";
import { isBotMember } from "../../src/stores/rooms.ts";
import { BOT_MEMBER_KEY } from "../../../config/wire-types.ts";

function member(userId: string, content: Record<string, unknown>): RoomMember {
  const m = new RoomMember("!r:a.test", userId);
  m.events.member = new MatrixEvent({ type: "m.room.member", state_key: userId, sender: userId, room_id: "!r:a.test", content: { membership: "join", ...content } });
  return m;
}

describe("bot members", () => {
  it("are the members whose own membership carries the flag, of any server", () => {
    assert.equal(isBotMember(member("@visio:a.test", { [BOT_MEMBER_KEY]: true })), true);
    assert.equal(isBotMember(member("@visio-transcriber:b.test", { displayname: "Transcription", [BOT_MEMBER_KEY]: true })), true);
    assert.equal(isBotMember(member("@alice:a.test", { displayname: "Alice" })), false);
    // Only true marks a bot: a person cannot be hidden by a stray value.
    assert.equal(isBotMember(member("@bob:b.test", { [BOT_MEMBER_KEY]: "yes" })), false);
    assert.equal(isBotMember(new RoomMember("!r:a.test", "@nobody:a.test")), false);
  });
});
