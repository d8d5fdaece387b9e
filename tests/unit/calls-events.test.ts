// What in a transaction's events changes call state: call.member joins and leaves (delayed ones
// included: they are ordinary empty-content events by the time they reach us) and room departures.
import assert from "node:assert/strict";
import { callInputs } from "../../appservice/src/calls/call-events.ts";
import type { RoomEvent } from "../../config/wire-types.ts";

const ROOM = "!call:ministry-a.test";
const ALICE = "@alice:ministry-a.test";
let n = 0;
const event = (fields: Partial<RoomEvent> & Pick<RoomEvent, "type" | "content">): RoomEvent => ({
  event_id: `$e${++n}`,
  room_id: ROOM,
  sender: ALICE,
  origin_server_ts: 1_700_000_000_000,
  ...fields,
});
const membership = (content: Record<string, unknown>, stateKey = `_${ALICE}_DEVICE1`, type = "org.matrix.msc3401.call.member") =>
  event({ type, state_key: stateKey, content });
const elementCallContent = {
  application: "m.call",
  call_id: "",
  scope: "m.room",
  device_id: "DEVICE1",
  focus_active: { type: "livekit", focus_selection: "oldest_membership" },
  foci_preferred: [{ type: "livekit", livekit_service_url: "https://ministry-a.test/livekit/jwt", livekit_alias: ROOM }],
  expires: 14_400_000,
};

describe("call events from transactions", () => {
  it("reads an Element Call membership as a join of its device, with its expiry", () => {
    assert.deepEqual(callInputs([membership(elementCallContent)]), [
      {
        kind: "rtc-join",
        roomId: ROOM,
        userId: ALICE,
        deviceId: "DEVICE1",
        stateKey: `_${ALICE}_DEVICE1`,
        at: 1_700_000_000_000,
        expiresAt: 1_700_000_000_000 + 14_400_000,
      },
    ]);
  });

  it("accepts both event types and both state key forms, and created_ts for the expiry", () => {
    const [stable] = callInputs([
      membership({ ...elementCallContent, created_ts: 1_600_000_000_000, expires: 1000 }, `${ALICE}_DEVICE1`, "m.call.member"),
    ]);
    assert.equal(stable?.kind, "rtc-join");
    assert.equal(stable?.kind === "rtc-join" && stable.expiresAt, 1_600_000_001_000);
  });

  it("reads empty content as the device leaving: the client's own or its MSC4140 delayed leave", () => {
    assert.deepEqual(callInputs([membership({})]), [
      { kind: "rtc-leave", roomId: ROOM, userId: ALICE, stateKey: `_${ALICE}_DEVICE1`, keyDevice: "DEVICE1", at: 1_700_000_000_000 },
    ]);
  });

  it("ignores other applications, other users' state keys and non-state events", () => {
    assert.deepEqual(
      callInputs([
        membership({ ...elementCallContent, application: "m.game" }),
        membership(elementCallContent, "_@bob:ministry-a.test_DEVICE2"),
        event({ type: "org.matrix.msc3401.call.member", content: elementCallContent }),
        event({ type: "m.room.message", content: { body: "hi" } }),
      ]),
      [],
    );
  });

  describe("matrix_2_0 memberships (sticky m.rtc.member events)", () => {
    const rtcMember = (content: Record<string, unknown>, sender = ALICE, sticky: RoomEvent["msc4354_sticky"] = { duration_ms: 3_600_000 }) =>
      event({ type: "org.matrix.msc4143.rtc.member", sender, content, msc4354_sticky: sticky });
    const joined = {
      slot_id: "m.call#ROOM",
      application: { type: "m.call" },
      member: { user_id: ALICE, device_id: "DEVICE1", id: "m-1" },
      transports: { published: [{ type: "livekit", livekit_service_url: "https://ministry-a.test/livekit/jwt" }], can_subscribe: ["livekit"] },
      versions: [],
      msc4354_sticky_key: "m-1",
    };

    it("reads a membership as a join of its device, lasting as long as it is sticky, keyed by its sender and sticky key", () => {
      assert.deepEqual(callInputs([rtcMember(joined)]), [
        { kind: "rtc-join", roomId: ROOM, userId: ALICE, deviceId: "DEVICE1", stateKey: `rtc ${ALICE} m-1`, at: 1_700_000_000_000, expiresAt: 1_700_000_000_000 + 3_600_000 },
      ]);
    });

    it("reads the same key without a member (the client's leave, or its delayed leave) as that session leaving", () => {
      assert.deepEqual(callInputs([rtcMember({ slot_id: "m.call#ROOM", msc4354_sticky_key: "m-1" })]), [
        { kind: "rtc-leave", roomId: ROOM, userId: ALICE, stateKey: `rtc ${ALICE} m-1`, keyDevice: null, at: 1_700_000_000_000 },
      ]);
    });

    it("ignores another user's membership under the sender's name, other slots and applications, and events without a sticky key", () => {
      const bob = "@bob:ministry-b.test";
      assert.deepEqual(
        callInputs([
          rtcMember(joined, bob),
          rtcMember({ ...joined, slot_id: "m.call#other" }),
          rtcMember({ ...joined, application: { type: "m.game" } }),
          rtcMember({ ...joined, msc4354_sticky_key: undefined }),
        ]),
        [],
      );
      // A leave by bob with alice's sticky key is bob's own key: it cannot end alice's session.
      assert.deepEqual(callInputs([rtcMember({ msc4354_sticky_key: "m-1" }, bob)]).map((i) => (i.kind === "rtc-leave" ? i.stateKey : null)), [`rtc ${bob} m-1`]);
    });
  });

  it("reads the room's transcription state: started (with its session) and stopped", () => {
    const bot = "@visio:ministry-a.test";
    const started = event({ type: "org.visio.transcription", state_key: "", sender: bot, content: { active: true, started_at: 42, language: "en" } });
    const stopped = event({ type: "org.visio.transcription", state_key: "", sender: bot, content: { active: false, started_at: 42 } });
    const junk = event({ type: "org.visio.transcription", state_key: "", sender: bot, content: { active: "yes" } });
    const keyed = event({ type: "org.visio.transcription", state_key: "x", sender: bot, content: { active: true } });
    assert.deepEqual(callInputs([started, stopped, junk, keyed]), [
      { kind: "transcription-state", roomId: ROOM, sender: bot, active: true, startedAt: 42, at: 1_700_000_000_000 },
      { kind: "transcription-state", roomId: ROOM, sender: bot, active: false, startedAt: 42, at: 1_700_000_000_000 },
    ]);
  });

  it("tells a kick and a ban from leaving on one's own", () => {
    const member = (sender: string, m: string) =>
      event({ type: "m.room.member", sender, state_key: ALICE, content: { membership: m } });
    const inputs = callInputs([member(ALICE, "leave"), member("@mod:ministry-a.test", "leave"), member("@mod:ministry-a.test", "ban"), member(ALICE, "join")]);
    assert.deepEqual(
      inputs.map((i) => i.kind === "room-departure" && [i.userId, i.removed, i.isBan]),
      [
        [ALICE, false, false],
        [ALICE, true, false],
        [ALICE, true, true],
      ],
    );
  });
});
