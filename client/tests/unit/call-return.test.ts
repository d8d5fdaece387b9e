import assert from "node:assert/strict";
import { CALL_RETURN_MAX_AGE_MS, callInTab, forgetCall, rememberCall } from "../../src/services/call/call-return.ts";
import { memoryStorage } from "./doubles.ts";

describe("the call a tab is in (kept across a reload)", () => {
  const ALICE = "@alice:ministry-a.test";
  const NOW = 1_800_000_000_000;

  it("gives back the call of the same user, until it is forgotten", () => {
    const storage = memoryStorage();
    assert.equal(callInTab(storage, ALICE, NOW), null);
    rememberCall(storage, { roomId: "!r:ministry-a.test", userId: ALICE, since: NOW - 60_000 });
    assert.deepEqual(callInTab(storage, ALICE, NOW), { roomId: "!r:ministry-a.test", userId: ALICE, since: NOW - 60_000 });
    forgetCall(storage);
    assert.equal(callInTab(storage, ALICE, NOW), null);
  });

  it("offers nothing for another user, an old call, a call from the future or a damaged entry", () => {
    const storage = memoryStorage();
    rememberCall(storage, { roomId: "!r:ministry-a.test", userId: ALICE, since: NOW });
    assert.equal(callInTab(storage, "@bob:ministry-b.test", NOW), null, "signed in as someone else");
    assert.equal(callInTab(storage, ALICE, NOW + CALL_RETURN_MAX_AGE_MS + 1), null, "too old");
    assert.equal(callInTab(storage, ALICE, NOW - 1), null, "from the future");
    for (const damaged of ["{", "null", "[]", '{"roomId":1,"userId":"x","since":0}', '{"roomId":"!r:x","userId":"@alice:ministry-a.test"}']) {
      storage.map.set("visio.call", damaged);
      assert.equal(callInTab(storage, ALICE, NOW), null, damaged);
    }
  });
});
