import { strict as assert } from "node:assert";
import { MATRIX_USER_ATTRIBUTE } from "../../../config/wire-types.ts";
import { speakerResolver } from "../../../bridge/src/live/speaker.ts";
import { SpeakerPipelines } from "../../../bridge/src/live/speaker-pipelines.ts";
import { SubtitlePublisher, type TextSender } from "../../../bridge/src/live/subtitle-publisher.ts";
import { FakeSttEngine } from "../../../bridge/src/stt/testing/fake-engine.ts";
import type { TranscriptSegment } from "../../../bridge/src/transcript/segment.ts";

const RATE = 16_000;
const tone = (ms: number): Int16Array =>
  Int16Array.from({ length: (ms * RATE) / 1000 }, (_, i) => Math.round(3000 * Math.sin((2 * Math.PI * 300 * i) / RATE)));
const silence = (ms: number): Int16Array => new Int16Array((ms * RATE) / 1000);

interface Sent {
  text: string;
  topic: string;
  attributes: Record<string, string>;
}

function recordingSender(): { sender: TextSender; sent: Sent[] } {
  const sent: Sent[] = [];
  return { sent, sender: { sendText: async (text, options) => void sent.push({ text, ...options }) } };
}

const segment = (id: string, text: string, final: boolean): TranscriptSegment => ({
  id,
  speaker: { id: "p1", name: "Alice" },
  startMs: 0,
  endMs: 1000,
  text,
  language: "en",
  engine: "fake",
  final,
});

function feed(pipelines: SpeakerPipelines, sid: string, ...parts: Int16Array[]): void {
  for (const part of parts) {
    for (let at = 0; at < part.length; at += 160) pipelines.push(sid, part.subarray(at, at + 160));
  }
}

describe("live subtitles", function () {
  describe("subtitle publisher", function () {
    it("sends each version as an lk.transcription stream, one segment id per utterance, final at the end", async function () {
      const { sender, sent } = recordingSender();
      const publisher = new SubtitlePublisher({ sender, onError: assert.fail });
      void publisher.publish("TR_a", segment("p1#0", "hello", false));
      void publisher.publish("TR_a", segment("p1#0", "hello everyone", true));
      void publisher.publish("TR_a", segment("p1#1", "next", true));
      void publisher.publish("TR_b", segment("p1#0", "other track", true));
      await publisher.flush();
      assert.deepEqual(
        sent.map((s) => [s.topic, s.text, s.attributes["lk.transcribed_track_id"], s.attributes["lk.segment_id"], s.attributes["lk.transcription_final"]]),
        [
          ["lk.transcription", "hello", "TR_a", "SG_TR_a_1", "false"],
          ["lk.transcription", "hello everyone", "TR_a", "SG_TR_a_1", "true"],
          ["lk.transcription", "next", "TR_a", "SG_TR_a_2", "true"],
          ["lk.transcription", "other track", "TR_b", "SG_TR_b_3", "true"],
        ],
      );
    });

    it("keeps a segment's versions in order and goes on after a failed send", async function () {
      const sent: string[] = [];
      const errors: string[] = [];
      let calls = 0;
      const sender: TextSender = {
        async sendText(text) {
          calls += 1;
          // The first send is slow and the second fails: order and recovery both show.
          if (calls === 1) await new Promise((resolve) => setTimeout(resolve, 20));
          if (calls === 2) throw new Error("data channel closed");
          sent.push(text);
        },
      };
      const publisher = new SubtitlePublisher({ sender, onError: (err, s) => errors.push(`${s.text}: ${err.message}`) });
      void publisher.publish("TR_a", segment("p1#0", "one", false));
      void publisher.publish("TR_a", segment("p1#0", "one two", false));
      await publisher.publish("TR_a", segment("p1#0", "one two three", true));
      assert.deepEqual(sent, ["one", "one two three"]);
      assert.deepEqual(errors, ["one two: data channel closed"]);
    });
  });

  describe("speaker pipelines", function () {
    it("transcribes each track on its own, from the time it joined, and finishes the utterance of a track that closes", async function () {
      const engine = new FakeSttEngine({ sentences: ["good morning", "hello there"], msPerWord: 5000 });
      const segments: Array<[string, string, boolean, string, number]> = [];
      let now = 0;
      const pipelines = new SpeakerPipelines({
        engine,
        nowMs: () => now,
        onSegment: (sid, s) => segments.push([sid, s.speaker.name, s.final, s.text, s.startMs]),
        onError: (sid, err) => assert.fail(`${sid}: ${err.message}`),
      });
      pipelines.open("TR_a", { id: "alice-identity", name: "Alice" });
      now = 5000;
      pipelines.open("TR_b", { id: "bob-identity", name: "Bob" });
      pipelines.open("TR_b", { id: "bob-identity", name: "Bob again" });
      feed(pipelines, "TR_a", silence(1000), tone(1000), silence(1000));
      feed(pipelines, "TR_b", silence(500), tone(800));
      feed(pipelines, "TR_unknown", tone(1000));
      assert.deepEqual(pipelines.trackSids, ["TR_a", "TR_b"]);
      // Bob leaves mid-utterance: it still ends as a final segment.
      await pipelines.close("TR_b");
      await pipelines.closeAll();
      assert.deepEqual(pipelines.trackSids, []);
      assert.equal(engine.streams.length, 2, "one engine stream per utterance, none for an unknown track");
      const finals = segments.filter(([, , final]) => final);
      assert.equal(finals.length, 2);
      const [alice, bob] = [finals.find(([sid]) => sid === "TR_a"), finals.find(([sid]) => sid === "TR_b")];
      assert.ok(alice !== undefined && bob !== undefined);
      assert.equal(alice[1], "Alice");
      assert.equal(bob[1], "Bob", "a repeated open keeps the first pipeline");
      assert.ok(alice[4] >= 600 && alice[4] < 1000, `Alice's utterance starts in her time (${alice[4]})`);
      assert.ok(bob[4] >= 5000, `Bob joined at 5 s, so his utterance starts after it (${bob[4]})`);
    });

    it("reports an engine failure when the track's pipeline closes", async function () {
      const engine = new FakeSttEngine({ sentences: ["lost"], failWith: "decoder crashed" });
      const errors: string[] = [];
      const pipelines = new SpeakerPipelines({ engine, nowMs: () => 0, onSegment: () => undefined, onError: (sid, err) => errors.push(`${sid}: ${err.message}`) });
      pipelines.open("TR_a", { id: "a", name: "A" });
      feed(pipelines, "TR_a", silence(500), tone(800), silence(1000));
      await pipelines.close("TR_a");
      assert.deepEqual(errors, ["TR_a: decoder crashed"]);
    });
  });

  describe("speaker attribution", function () {
    it("names the Matrix user from the focus-issued attribute, by display name where known", function () {
      const names = new Map([["@alice:a.test", "Alice"]]);
      const speakerOf = speakerResolver((userId) => names.get(userId));
      const attributes = (userId: string): Record<string, string> => ({ [MATRIX_USER_ATTRIBUTE]: userId });
      assert.deepEqual(speakerOf({ identity: "pseudo1", name: "", attributes: attributes("@alice:a.test") }), { id: "@alice:a.test", name: "Alice" });
      assert.deepEqual(speakerOf({ identity: "pseudo2", name: "x", attributes: attributes("@bob:b.test") }), { id: "@bob:b.test", name: "@bob:b.test" });
    });

    it("falls back to the LiveKit identity when the attribute is missing or not a user ID", function () {
      const speakerOf = speakerResolver(() => "never used");
      assert.deepEqual(speakerOf({ identity: "pseudo", name: "Alice", attributes: {} }), { id: "pseudo", name: "Alice" });
      assert.deepEqual(speakerOf({ identity: "pseudo", name: undefined, attributes: {} }), { id: "pseudo", name: "pseudo" });
      assert.deepEqual(speakerOf({ identity: "pseudo", name: "", attributes: { [MATRIX_USER_ATTRIBUTE]: "alice" } }), { id: "pseudo", name: "pseudo" });
    });
  });
});
