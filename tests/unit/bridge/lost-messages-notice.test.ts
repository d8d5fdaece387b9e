// The lost-messages notice against a recording sender: nothing while posts go through, one notice
// with the count and the reason once a post goes through again, in the meeting's language.
import assert from "node:assert/strict";
import { LostMessagesNotice } from "../../../bridge/src/matrix/lost-messages-notice.ts";
import { TRANSCRIPT_LOST_MESSAGES_KEY } from "../../../config/wire-types.ts";

describe("lost transcript messages notice", function () {
  it("says once, when the thread is reachable again, how many messages were lost and why", async function () {
    const sent: { content: Record<string, unknown>; txnId: string }[] = [];
    const notice = new LostMessagesNotice({
      sender: { sendEvent: async (_room, _type, content, txnId) => (sent.push({ content, txnId }), "$n") },
      roomId: "!r:a.test",
      threadRoot: "$root",
      sessionId: "s1",
      language: "fr",
      onError: (err) => assert.fail(err),
    });
    notice.posted();
    notice.failed(new Error("sending the event: 502 Bad Gateway (4 tries)"));
    notice.failed(new Error("sending the event: 502 Bad Gateway (4 tries)"));
    notice.posted();
    notice.posted();
    notice.failed(new Error("M_TOO_LARGE"));
    notice.posted();
    await notice.flush();
    assert.deepEqual(sent.map((s) => s.content[TRANSCRIPT_LOST_MESSAGES_KEY]), [
      { lost_messages: 2, reason: "sending the event: 502 Bad Gateway (4 tries)" },
      { lost_messages: 1, reason: "M_TOO_LARGE" },
    ]);
    assert.match(String(sent[0]?.content.body), /^2 messages de transcription n'ont pas pu être publiés dans ce fil \(sending the event: 502 Bad Gateway \(4 tries\)\) ; les fichiers/);
    assert.equal((sent[0]?.content["m.relates_to"] as { event_id: string }).event_id, "$root");
    assert.deepEqual(sent.map((s) => s.txnId), ["visio-transcript.s1.lost.1", "visio-transcript.s1.lost.2"]);
  });
});
