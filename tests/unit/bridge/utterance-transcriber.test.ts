import { strict as assert } from "node:assert";
import type { SttEngine, SttStreamOptions } from "../../../bridge/src/stt/engine.ts";
import { FakeSttEngine } from "../../../bridge/src/stt/testing/fake-engine.ts";
import type { TranscriptSegment } from "../../../bridge/src/transcript/segment.ts";
import { UtteranceTranscriber } from "../../../bridge/src/transcript/utterance-transcriber.ts";

const RATE = 16_000;
const tone = (ms: number): Int16Array =>
  Int16Array.from({ length: (ms * RATE) / 1000 }, (_, i) => Math.round(3000 * Math.sin((2 * Math.PI * 300 * i) / RATE)));
const silence = (ms: number): Int16Array => new Int16Array((ms * RATE) / 1000);

function feed(transcriber: UtteranceTranscriber, ...parts: Int16Array[]): void {
  for (const part of parts) {
    for (let at = 0; at < part.length; at += 480) transcriber.push(part.subarray(at, at + 480));
  }
}

const alice = { id: "@alice:ministry-a.example", name: "Alice" };

describe("utterance transcriber", function () {
  it("gives one segment per utterance, interim versions then the final one, in transcript time", async function () {
    const engine = new FakeSttEngine({ sentences: ["hello everyone", "shall we start"], msPerWord: 400 });
    const seen: TranscriptSegment[] = [];
    const transcriber = new UtteranceTranscriber({ engine, speaker: alice, offsetMs: 10_000, onSegment: (s) => seen.push(s) });
    feed(transcriber, silence(1000), tone(1200), silence(1000), tone(900), silence(800));
    await transcriber.finish();

    const finals = seen.filter((s) => s.final);
    assert.deepEqual(
      finals.map((s) => [s.id, s.text, s.startMs, s.endMs]),
      [
        ["@alice:ministry-a.example#0", "hello everyone", 10_700, 12_800],
        ["@alice:ministry-a.example#1", "shall we start", 12_900, 14_700],
      ],
    );
    assert.ok(seen.some((s) => !s.final && s.id.endsWith("#0") && s.text === "hello"), "interim before final");
    for (const s of finals) {
      assert.equal(s.speaker, alice);
      assert.equal(s.language, "en");
      assert.equal(s.engine, "fake");
      assert.ok(s.words !== undefined && s.words.every((w) => w.startMs >= s.startMs && w.endMs <= s.endMs));
    }
    // Each stream got exactly its utterance's audio: pre-roll, speech and the closing silence.
    assert.deepEqual(engine.streams.map((s) => s.samples / 16), [2100, 1800]);
  });

  it("drops utterances in which the engine recognised nothing", async function () {
    const engine = new FakeSttEngine({ sentences: [""] });
    const seen: TranscriptSegment[] = [];
    const transcriber = new UtteranceTranscriber({ engine, speaker: alice, onSegment: (s) => seen.push(s) });
    feed(transcriber, silence(500), tone(500), silence(1000));
    await transcriber.finish();
    assert.equal(engine.streams.length, 1);
    assert.deepEqual(seen, []);
  });

  it("keeps engine times inside the utterance's audio and uses the configured language", async function () {
    // An engine whose clock runs past the audio it was given.
    const sloppy: SttEngine = {
      name: "sloppy",
      language: undefined,
      checkReady: async () => {},
      modelFor: () => "model",
      start: (options: SttStreamOptions) => ({
        write: () => {},
        end: async () => options.onResult({ text: "late", startMs: 50_000, endMs: 60_000, final: true }),
        abort: () => {},
      }),
    };
    const seen: TranscriptSegment[] = [];
    const transcriber = new UtteranceTranscriber({ engine: sloppy, speaker: alice, language: "fr", onSegment: (s) => seen.push(s) });
    feed(transcriber, silence(500), tone(500), silence(1000));
    await transcriber.finish();
    const finals = seen.filter((s) => s.final);
    assert.equal(finals.length, 1);
    const [segment] = finals;
    assert.ok(segment !== undefined);
    assert.ok(segment.startMs <= segment.endMs && segment.endMs <= 1600, `${segment.startMs}–${segment.endMs}`);
    assert.equal(segment.language, "fr");
  });

  it("reports an engine failure from finish()", async function () {
    const engine = new FakeSttEngine({ sentences: ["x"], failWith: "decoder crashed" });
    const transcriber = new UtteranceTranscriber({ engine, speaker: alice, onSegment: () => {} });
    feed(transcriber, silence(300), tone(400), silence(1000));
    await assert.rejects(transcriber.finish(), /decoder crashed/);
  });

  it("holds back a fast reader until fewer utterances are being decoded", async function () {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const engine: SttEngine = {
      name: "slow",
      language: "en",
      checkReady: async () => {},
      modelFor: () => "model",
      start: () => ({ write: () => {}, end: () => gate, abort: () => {} }),
    };
    const transcriber = new UtteranceTranscriber({ engine, speaker: alice, onSegment: () => {} });
    feed(transcriber, silence(300), tone(400), silence(1000), tone(400), silence(1000));
    assert.equal(transcriber.pendingUtterances, 2);
    let waited = false;
    const held = transcriber.backpressure(2).then(() => (waited = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(waited, false);
    release();
    await held;
    await transcriber.finish();
    assert.equal(transcriber.pendingUtterances, 0);
  });
});
