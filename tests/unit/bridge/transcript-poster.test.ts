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

function poster(sender: MatrixEventSender, errors: Error[] = []): TranscriptPoster {
  return new TranscriptPoster({
    sender,
    roomId: "!r:a.test",
    sessionId: "s1",
    session: { language: "en", engine: "fake" },
    onError: (err) => errors.push(err),
  });
}

describe("TranscriptPoster", () => {
  it("posts a Transcription started root with the session fields", async () => {
    const { sender, sent } = fakeClient();
    assert.equal(await poster(sender).start(), "$e1");
    assert.deepEqual(sent, [
      {
        roomId: "!r:a.test",
        type: "m.room.message",
        txnId: "visio-transcript.s1.root",
        content: { msgtype: "m.notice", body: "Transcription started", "org.visio.transcript.session": { language: "en", engine: "fake" } },
      },
    ]);
  });

  it("posts a segment's first version in the root's thread and edits it with later versions", async () => {
    const { sender, sent } = fakeClient();
    const p = poster(sender);
    await p.start();
    void p.post("TR_1", segment("a-1", "hello", false));
    void p.post("TR_1", segment("a-1", "hello world", true));
    await p.flush();
    assert.equal(sent.length, 3);
    assert.deepEqual(sent[1]?.content, {
      msgtype: "m.notice",
      body: "Alice: hello",
      "org.visio.transcript": { speaker: "@alice:a.test", speaker_name: "Alice", start_ms: 1000, end_ms: 2500, language: "en", engine: "fake", final: false },
      "m.relates_to": { rel_type: "m.thread", event_id: "$e1", is_falling_back: true, "m.in_reply_to": { event_id: "$e1" } },
    });
    const replacement = {
      msgtype: "m.notice",
      body: "Alice: hello world",
      "org.visio.transcript": { speaker: "@alice:a.test", speaker_name: "Alice", start_ms: 1000, end_ms: 2500, language: "en", engine: "fake", final: true },
    };
    assert.deepEqual(sent[2]?.content, {
      ...replacement,
      body: "* Alice: hello world",
      "m.new_content": replacement,
      "m.relates_to": { rel_type: "m.replace", event_id: "$e2" },
    });
    assert.deepEqual(
      sent.map((s) => s.txnId),
      ["visio-transcript.s1.root", "visio-transcript.s1.1.1", "visio-transcript.s1.1.2"],
    );
  });

  it("gives each utterance its own message, keyed by track and segment id", async () => {
    const { sender, sent } = fakeClient();
    const p = poster(sender);
    void p.post("TR_1", segment("x", "one", true));
    void p.post("TR_2", segment("x", "two", true));
    void p.post("TR_1", segment("x", "three", true, 5000));
    await p.flush();
    const replies = sent.slice(1);
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
    await p.start();
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

  it("reports segments it cannot thread when the root was not sent", async () => {
    const { sender, sent } = fakeClient(1);
    const errors: Error[] = [];
    const p = poster(sender, errors);
    assert.equal(await p.start(), undefined);
    await p.post("TR_1", segment("a", "hello", true));
    assert.equal(sent.length, 0);
    assert.deepEqual(errors.map((e) => e.message), ["homeserver down", "no thread root: the transcription-started notice was not sent"]);
  });
});
