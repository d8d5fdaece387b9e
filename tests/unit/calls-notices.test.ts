// The wording of the bot's call notices.
import assert from "node:assert/strict";
import { callEndedNotice, callStartedNotice, formatDuration } from "../../appservice/src/calls/call-notices.ts";

const call = { id: "c1", roomId: "!r:x", startedAt: 1_700_000_000_000, endedAt: null, participantCount: 0, maxConcurrent: 0 };

describe("call notices", () => {
  it("says how long a call lasted, in minutes", () => {
    assert.equal(formatDuration(10_000), "< 1 min");
    assert.equal(formatDuration(89_000), "1 min");
    assert.equal(formatDuration(42 * 60_000), "42 min");
    assert.equal(formatDuration(65 * 60_000), "1 h 05 min");
  });

  it("counts participants, singular and plural", () => {
    assert.equal(callEndedNotice({ ...call, endedAt: call.startedAt + 60_000 }, ["@a:x"], "en").body, "Call ended · 1 participant · 1 min");
    assert.equal(
      callEndedNotice({ ...call, endedAt: call.startedAt + 3 * 60_000 }, ["@a:x", "@b:y", "@c:z"], "en").body,
      "Call ended · 3 participants · 3 min",
    );
  });

  it("speaks the server's language", () => {
    assert.equal(callStartedNotice(call, "fr").body, "Appel démarré");
    assert.equal(callEndedNotice({ ...call, endedAt: call.startedAt + 65 * 60_000 }, ["@a:x", "@b:y"], "fr-FR").body, "Appel terminé · 2 participants · 1 h 05 min");
    // French counts 0 and 1 as singular, English only 1.
    assert.equal(callEndedNotice({ ...call, endedAt: call.startedAt + 60_000 }, [], "fr").body, "Appel terminé · 0 participant · 1 min");
    assert.equal(callEndedNotice({ ...call, endedAt: call.startedAt + 60_000 }, [], "en").body, "Call ended · 0 participants · 1 min");
  });

  it("carries the machine-readable fields under org.visio.call", () => {
    assert.deepEqual(callStartedNotice(call, "en"), {
      msgtype: "m.notice",
      body: "Call started",
      "org.visio.call": { call_id: "c1", state: "started", started_at: 1_700_000_000_000 },
    });
  });
});
