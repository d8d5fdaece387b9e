import assert from "node:assert/strict";
import { buildTimeline, ministryOf, transcriptThreads, type RawEvent } from "../../src/timeline/timeline-model.ts";

let ts = 0;
const message = (eventId: string, sender: string, content: Record<string, unknown>): RawEvent => ({
  eventId,
  type: "m.room.message",
  sender,
  ts: ++ts,
  content,
});
const BOT = "@visio:ministry-a.test";
const transcript = (text: string, final: boolean) => ({
  speaker: "@alice:ministry-a.test",
  speaker_name: "Alice",
  start_ms: 0,
  end_ms: 1000,
  language: "en",
  engine: "pocketsphinx",
  final,
});

describe("timeline model", () => {
  it("applies the latest edit of the original sender and ignores edits by others", () => {
    const model = buildTimeline([
      message("$1", "@alice:a", { msgtype: "m.text", body: "helo" }),
      message("$2", "@alice:a", { msgtype: "m.text", body: "* hello", "m.new_content": { msgtype: "m.text", body: "hello" }, "m.relates_to": { rel_type: "m.replace", event_id: "$1" } }),
      message("$3", "@mallory:b", { msgtype: "m.text", body: "* pwned", "m.new_content": { msgtype: "m.text", body: "pwned" }, "m.relates_to": { rel_type: "m.replace", event_id: "$1" } }),
    ]);
    assert.equal(model.main.length, 1);
    assert.equal(model.main[0]?.body, "hello");
    assert.equal(model.main[0]?.edited, true);
  });

  it("groups a transcript thread of edited notices under its 'Transcription started' root", () => {
    const model = buildTimeline([
      message("$root", BOT, { msgtype: "m.notice", body: "Transcription started", "org.visio.transcript.session": { language: "en", engine: "pocketsphinx" } }),
      message("$u1", BOT, { msgtype: "m.notice", body: "Alice: hello wor", "org.visio.transcript": transcript("hello wor", false), "m.relates_to": { rel_type: "m.thread", event_id: "$root" } }),
      message("$e1", BOT, {
        msgtype: "m.notice",
        body: "* Alice: hello world",
        "m.new_content": { msgtype: "m.notice", body: "Alice: hello world", "org.visio.transcript": transcript("hello world", true) },
        "m.relates_to": { rel_type: "m.replace", event_id: "$u1" },
      }),
      message("$chat", "@bob:b", { msgtype: "m.text", body: "hi" }),
    ]);
    assert.deepEqual(model.main.map((item) => item.eventId), ["$root", "$chat"]);
    assert.equal(model.main[0]?.threadSize, 1);
    const [thread] = transcriptThreads(model);
    assert.equal(thread?.root.transcriptSession?.engine, "pocketsphinx");
    assert.equal(thread?.replies[0]?.body, "Alice: hello world");
    assert.equal(thread?.replies[0]?.transcript?.final, true);
    assert.equal(thread?.replies[0]?.kind, "notice");
  });

  it("shows joins and leaves, not profile changes or other state", () => {
    const member = (eventId: string, membership: string, prevMembership?: string): RawEvent => ({
      eventId,
      type: "m.room.member",
      sender: "@bob:b",
      stateKey: "@bob:b",
      ts: ++ts,
      content: { membership },
      ...(prevMembership === undefined ? {} : { prevMembership }),
    });
    const model = buildTimeline([
      member("$j", "join"),
      member("$rename", "join", "join"),
      { eventId: "$s", type: "org.matrix.msc3401.call.member", sender: "@bob:b", stateKey: "_@bob:b_D", ts: ++ts, content: {} },
      member("$l", "leave", "join"),
    ]);
    assert.deepEqual(model.main.map((item) => item.kind), ["joined", "left"]);
  });

  it("leaves the bots' joins and leaves out: the room's bots, and any membership flagged as a bot's", () => {
    const member = (eventId: string, userId: string, content: Record<string, unknown>, prevMembership?: string): RawEvent => ({
      eventId,
      type: "m.room.member",
      sender: userId,
      stateKey: userId,
      ts: ++ts,
      content,
      ...(prevMembership === undefined ? {} : { prevMembership }),
    });
    const model = buildTimeline(
      [
        member("$bot-a", "@visio:a", { membership: "join" }),
        member("$bot-b", "@visio:b", { membership: "join", "org.visio.bot": true }),
        member("$alice", "@alice:a", { membership: "join" }),
        member("$bot-b-left", "@visio:b", { membership: "leave", "org.visio.bot": true }, "join"),
      ],
      { bots: new Set(["@visio:a"]) },
    );
    assert.deepEqual(
      model.main.map((item) => [item.kind, item.sender]),
      [["joined", "@alice:a"]],
    );
  });

  it("skips redacted events", () => {
    const model = buildTimeline([{ ...message("$r", "@a:a", {}), redacted: true }]);
    assert.equal(model.main.length, 0);
  });

  it("names a member's ministry by the server part of their ID", () => {
    assert.equal(ministryOf("@alice:ministry-a.test"), "ministry-a.test");
    assert.equal(ministryOf("@bob:localhost:8449"), "localhost:8449");
  });
});
