// The outage notices against a recording sender: one when the engine first fails, none for the
// utterances lost after it, one with the count when an utterance is decoded again.
import assert from "node:assert/strict";
import { EngineOutageNotices } from "../../../bridge/src/matrix/engine-outage-notices.ts";
import { TRANSCRIPT_OUTAGE_KEY } from "../../../config/wire-types.ts";

describe("engine outage notices", function () {
  it("says once that the engine is down, then once that it is back and how many utterances were lost", async function () {
    const sent: { content: Record<string, unknown>; txnId: string }[] = [];
    const notices = new EngineOutageNotices({
      sender: { sendEvent: async (_room, _type, content, txnId) => (sent.push({ content, txnId }), `$e${sent.length}`) },
      roomId: "!r:a.test",
      threadRoot: "$root",
      sessionId: "s1",
      engineName: "openai",
      language: "en",
      onError: (err) => assert.fail(err),
    });
    notices.succeeded();
    notices.failed(new Error("transcription request to http://127.0.0.1:8090 failed: fetch failed"));
    notices.failed(new Error("again"));
    notices.failed(new Error("again"));
    notices.succeeded();
    notices.succeeded();
    notices.failed(new Error("down again"));
    await notices.flush();
    assert.deepEqual(
      sent.map((s) => s.content[TRANSCRIPT_OUTAGE_KEY]),
      [
        { state: "interrupted", engine: "openai" },
        { state: "resumed", engine: "openai", lost_utterances: 3 },
        { state: "interrupted", engine: "openai" },
      ],
    );
    assert.match(String(sent[0]?.content.body), /^Transcription interrupted: .*fetch failed/);
    assert.match(String(sent[1]?.content.body), /3 utterances were lost/);
    assert.deepEqual((sent[0]?.content["m.relates_to"] as { rel_type: string }).rel_type, "m.thread");
    assert.equal(new Set(sent.map((s) => s.txnId)).size, 3, "each notice its own transaction ID: a retry cannot duplicate it");
  });

  it("speaks the meeting's language", async function () {
    const sent: Record<string, unknown>[] = [];
    const notices = new EngineOutageNotices({
      sender: { sendEvent: async (_room, _type, content) => (sent.push(content), "$e") },
      roomId: "!r:a.test",
      threadRoot: "$root",
      sessionId: "s1",
      engineName: "openai",
      language: "fr-FR",
      onError: (err) => assert.fail(err),
    });
    notices.failed(new Error("fetch failed"));
    notices.failed(new Error("fetch failed"));
    notices.succeeded();
    await notices.flush();
    assert.match(String(sent[0]?.body), /^Transcription interrompue : le moteur de reconnaissance vocale \(openai\) est en panne \(fetch failed\)/);
    assert.match(String(sent[1]?.body), /^Transcription reprise : .*2 énoncés ont été perdus entre-temps\.$/);
  });

  it("reports a notice that cannot be sent, and goes on", async function () {
    const errors: Error[] = [];
    const notices = new EngineOutageNotices({
      sender: { sendEvent: async () => Promise.reject(new Error("homeserver down")) },
      roomId: "!r:a.test",
      threadRoot: "$root",
      sessionId: "s1",
      engineName: "openai",
      language: "en",
      onError: (err) => errors.push(err),
    });
    notices.failed(new Error("x"));
    notices.succeeded();
    await notices.flush();
    assert.deepEqual(errors.map((e) => e.message), ["homeserver down", "homeserver down"]);
  });
});
