// Derivation vectors: MSC4195 appendix "Hash derivation test vectors" (room name, MSC identity) and
// lk-jwt-service helper_test.go (its 3-part identity, from an earlier MSC revision).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  isWellFormedId,
  legacyLiveKitIdentity,
  CALL_SLOT,
  liveKitIdentity,
  liveKitRoomAlias,
  mscParticipantIdentity,
  pseudonym,
} from "../../appservice/src/focus/livekit-names.ts";

describe("LiveKit names (MSC4195)", () => {
  it("derives the room name of the MSC's vector", () => {
    assert.equal(liveKitRoomAlias("!roomid:example.com", "slot1234"), "O8437W3+jmzMVjoIP3tNwbm+XxHQk2iKpOA7aqw3qSc");
  });

  it("hashes the canonical JSON the MSC lists, and its salted room-name vector", () => {
    const hex = (s: string): string => createHash("sha256").update(s).digest("hex");
    assert.equal(hex('["!roomid:example.com","slot1234"]'), "3bce37ed6dfe8e6ccc563a083f7b4dc1b9be5f11d093688aa4e03b6aac37a927");
    assert.equal(pseudonym(["!roomid:example.com", "slot123", "random123"]), "IMeDd+K3MIqJTI20EXBIrepKkhhORvf3q8fx3rlrhTk");
  });

  it("derives the MSC's participant identity vector", () => {
    assert.equal(mscParticipantIdentity("@alice:example.com", "memberABC"), "M3VnsLXrkbxIDINXO64u8PZzFyD9ZYFiQULR2dshWYs");
  });

  it("derives lk-jwt-service's /get_token identity vector", () => {
    assert.equal(liveKitIdentity("@alice:example.com", "DEVICE123", "memberABC"), "J+T45tGruxc+HrUOqJJlyQSV33m728Cme4+vt8/SWrU");
  });

  it("keeps the legacy /sfu/get derivations of lk-jwt-service", () => {
    assert.equal(liveKitRoomAlias("!room:example.com", CALL_SLOT), liveKitRoomAlias("!room:example.com", "m.call#ROOM"));
    assert.equal(legacyLiveKitIdentity("@alice:example.com", "DEVICE123"), "@alice:example.com:DEVICE123");
  });

  it("is unpadded, and cannot be confused by delimiters inside the parts", () => {
    assert.doesNotMatch(liveKitRoomAlias("!r:example.com", "s"), /=/);
    assert.notEqual(liveKitRoomAlias('!a","b', "c"), liveKitRoomAlias("!a", 'b","c'));
  });

  it("hashes non-ASCII as UTF-8, unescaped, as Canonical JSON requires", () => {
    const expected = createHash("sha256").update(Buffer.from('["!é:x","🎥"]', "utf8")).digest("base64").replace(/=+$/, "");
    assert.equal(liveKitRoomAlias("!é:x", "🎥"), expected);
  });

  it("recognises strings without a canonical form", () => {
    assert.equal(isWellFormedId("ok 🎥"), true);
    assert.equal(isWellFormedId("bad \ud83d"), false);
  });
});
