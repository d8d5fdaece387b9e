import { strict as assert } from "node:assert";
import { TranscriptPoster, type MatrixEventSender } from "../../../bridge/src/matrix/transcript-poster.ts";
import type { TranscriptSegment } from "../../../bridge/src/transcript/segment.ts";

interface Sent {
  roomId: string;
  type: string;
  content: Record<string, unknown>;
  txnId: string;
}

function fakeClient(failFirst = 0): { sender: MatrixEventSender; sent: Sent[] } {
  const sent: Sent[] = [];
  let failures = failFirst;
  return {
    sent,
    sender: {
      sendEvent: async (roomId, type, content, txnId) => {
        if (failures > 0) {
          failures -= 1;
          throw new Error("homeserver down");
        }
        sent.push({ roomId, type, content, txnId });
        return `$e${sent.length}`;
      },
    },
  };
}

const segment = (id: string, text: string, final: boolean, startMs = 1000): TranscriptSegment => ({
  id,
  speaker: { id: "@alice:a.test", name: "Alice" },
  startMs,
  endMs: startMs + 1500.4,
  text,
  language: "en",
  engine: "fake",
  final,
});

function poster(sender: MatrixEventSender, errors: Error[] = [], now?: () => number): TranscriptPoster {
  return new TranscriptPoster({
    sender,
    roomId: "!r:a.test",
    threadRoot: "$root",
    sessionId: "s1",
    onError: (err) => errors.push(err),
    ...(now ? { now } : {}),
  });
}

describe("TranscriptPoster", () => {
  it("posts a segment's first version in the root's thread and edits it with later versions", async () => {
    const { sender, sent } = fakeClient();
    const p = poster(sender);
    void p.post("TR_1", segment("a-1", "hello", false));
    void p.post("TR_1", segment("a-1", "hello world", true));
    await p.flush();
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[0]?.content, {
      msgtype: "m.notice",
      body: "Alice: hello",
      "org.visio.transcript": { speaker: "@alice:a.test", speaker_name: "Alice", start_ms: 1000, end_ms: 2500, language: "en", engine: "fake", final: false },
      "m.relates_to": { rel_type: "m.thread", event_id: "$root", is_falling_back: true, "m.in_reply_to": { event_id: "$root" } },
    });
    const replacement = {
      msgtype: "m.notice",
      body: "Alice: hello world",
      "org.visio.transcript": { speaker: "@alice:a.test", speaker_name: "Alice", start_ms: 1000, end_ms: 2500, language: "en", engine: "fake", final: true },
    };
    assert.deepEqual(sent[1]?.content, {
      ...replacement,
      body: "* Alice: hello world",
      "m.new_content": replacement,
      "m.relates_to": { rel_type: "m.replace", event_id: "$e1" },
    });
    assert.deepEqual(
      sent.map((s) => s.txnId),
      ["visio-transcript.s1.1.1", "visio-transcript.s1.1.2"],
    );
  });

  it("edits the timeline with at most one interim version per 2 s, and always with the final one", async () => {
    const { sender, sent } = fakeClient();
    let clock = 0;
    const p = poster(sender, [], () => clock);
    void p.post("TR_1", segment("a", "the", false));
    for (const [at, text] of [[400, "the meet"], [800, "the meeting"], [1600, "the meeting will"]] as const) {
      clock = at;
      void p.post("TR_1", segment("a", text, false));
    }
    clock = 2100;
    void p.post("TR_1", segment("a", "the meeting will start", false));
    clock = 2500;
    void p.post("TR_1", segment("a", "the meeting will start at ten", true));
    await p.flush();
    const bodies = sent.map((s) => s.content.body);
    assert.deepEqual(bodies, ["Alice: the", "* Alice: the meeting will start", "* Alice: the meeting will start at ten"]);
    assert.deepEqual(sent.map((s) => s.txnId), ["visio-transcript.s1.1.1", "visio-transcript.s1.1.2", "visio-transcript.s1.1.3"]);
  });

  it("gives each utterance its own message, keyed by track and segment id", async () => {
    const { sender, sent } = fakeClient();
    const p = poster(sender);
    void p.post("TR_1", segment("x", "one", true));
    void p.post("TR_2", segment("x", "two", true));
    void p.post("TR_1", segment("x", "three", true, 5000));
    await p.flush();
    const replies = sent;
    assert.deepEqual(
      replies.map((s) => [s.content.body, (s.content["m.relates_to"] as { rel_type: string }).rel_type, s.txnId]),
      [
        ["Alice: one", "m.thread", "visio-transcript.s1.1.1"],
        ["Alice: two", "m.thread", "visio-transcript.s1.2.1"],
        ["Alice: three", "m.thread", "visio-transcript.s1.3.1"],
      ],
    );
  });

  it("posts the next version as new when the first one failed, and reports the failure", async () => {
    const { sender, sent } = fakeClient();
    const errors: Error[] = [];
    let failNext = false;
    const flaky: MatrixEventSender = {
      sendEvent: async (...args) => {
        if (failNext) {
          failNext = false;
          throw new Error("homeserver down");
        }
        return sender.sendEvent(...args);
      },
    };
    const p = poster(flaky, errors);
    failNext = true;
    void p.post("TR_1", segment("a", "hel", false));
    void p.post("TR_1", segment("a", "hello", true));
    await p.flush();
    assert.deepEqual(errors.map((e) => e.message), ["homeserver down"]);
    const last = sent.at(-1);
    assert.equal(last?.content.body, "Alice: hello");
    assert.equal((last?.content["m.relates_to"] as { rel_type: string }).rel_type, "m.thread");
    assert.equal(last?.txnId, "visio-transcript.s1.1.2");
  });

  it("finalises a message an earlier run left unfinished, as it stands, with a fresh txnId", async () => {
    const { sender, sent } = fakeClient();
    const p = poster(sender);
    await p.finalise("$old", segment("$old", "half a sent", false));
    void p.post("TR_1", segment("a", "next", true));
    await p.flush();
    assert.equal(sent.length, 2);
    const edit = sent[0];
    assert.deepEqual(edit?.content["m.relates_to"], { rel_type: "m.replace", event_id: "$old" });
    const replacement = edit?.content["m.new_content"] as Record<string, unknown>;
    assert.equal(replacement.body, "Alice: half a sent");
    assert.equal((replacement["org.visio.transcript"] as { final: boolean }).final, true);
    assert.deepEqual(
      sent.map((s) => s.txnId),
      ["visio-transcript.s1.1.final", "visio-transcript.s1.2.1"],
    );
  });
});
