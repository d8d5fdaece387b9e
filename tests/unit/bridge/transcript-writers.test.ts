import { strict as assert } from "node:assert";
import { formatClock, toMarkdown } from "../../../bridge/src/transcript/markdown.ts";
import type { TranscriptSegment } from "../../../bridge/src/transcript/segment.ts";
import { formatVttTime, parseWebVtt, toWebVtt, WebVttParseError } from "../../../bridge/src/transcript/webvtt.ts";

function segment(fields: Partial<TranscriptSegment> & Pick<TranscriptSegment, "startMs" | "endMs" | "text">): TranscriptSegment {
  return {
    id: `s${fields.startMs}`,
    speaker: { id: "@alice:a.example", name: "Alice" },
    language: "en",
    engine: "fake",
    final: true,
    ...fields,
  };
}

describe("WebVTT writer and reader", function () {
  it("formats timestamps as hh:mm:ss.ttt", function () {
    assert.equal(formatVttTime(0), "00:00:00.000");
    assert.equal(formatVttTime(3_723_004), "01:02:03.004");
  });

  it("writes final segments in start order, speaker as voice, text escaped, and reads them back", function () {
    const bruno = { id: "@bruno:b.example", name: "Bruno <B&B>" };
    const vtt = toWebVtt([
      segment({ startMs: 5000, endMs: 6500, text: "second", speaker: bruno }),
      segment({ startMs: 1000, endMs: 2000, text: "a < b & c --> d" }),
      segment({ startMs: 3000, endMs: 4000, text: "still talking", final: false }),
      segment({ startMs: 7000, endMs: 8000, text: "  " }),
    ]);
    assert.equal(
      vtt,
      "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\n<v Alice>a &lt; b &amp; c --&gt; d</v>\n\n" +
        "2\n00:00:05.000 --> 00:00:06.500\n<v Bruno &lt;B&amp;B&gt;>second</v>\n",
    );
    assert.deepEqual(parseWebVtt(vtt), [
      { id: "1", startMs: 1000, endMs: 2000, text: "a < b & c --> d", voice: "Alice" },
      { id: "2", startMs: 5000, endMs: 6500, text: "second", voice: "Bruno <B&B>" },
    ]);
  });

  it("keeps start times monotonic and cues non-empty even when segments overlap or are instantaneous", function () {
    const cues = parseWebVtt(
      toWebVtt([segment({ startMs: 1000, endMs: 3000, text: "one" }), segment({ startMs: 1000, endMs: 1000, text: "two" })]),
    );
    assert.equal(cues.length, 2);
    assert.ok(cues.every((c) => c.endMs > c.startMs));
  });

  it("splits a long segment into cues at word boundaries using word times", function () {
    const words = Array.from({ length: 20 }, (_, i) => ({ text: `word${i}`, startMs: i * 600, endMs: i * 600 + 500 }));
    const cues = parseWebVtt(
      toWebVtt([segment({ startMs: 0, endMs: 11_500, text: words.map((w) => w.text).join(" "), words })], { maxCueMs: 5000 }),
    );
    assert.ok(cues.length >= 3);
    assert.equal(cues.map((c) => c.text).join(" "), words.map((w) => w.text).join(" "));
    for (const cue of cues) assert.ok(cue.endMs - cue.startMs <= 5000);
  });

  it("refuses what is not WebVTT, naming the line", function () {
    assert.throws(() => parseWebVtt("WEBVTX\n"), WebVttParseError);
    assert.throws(() => parseWebVtt("WEBVTT\n\n1\n00:00:01.000 -> 00:00:02.000\nx\n"), /line 4: cue without a timing line/);
    assert.throws(() => parseWebVtt("WEBVTT\n\n00:00:01.000 --> 00:00:01.000\nx\n"), /line 3: cue ends before it starts/);
    assert.throws(() => parseWebVtt("WEBVTT\n\n00:00:01.5 --> 00:00:02.000\nx\n"), /line 3: bad timestamp/);
  });

  it("reads headers, NOTE blocks, cue settings and short timestamps", function () {
    const cues = parseWebVtt("\uFEFFWEBVTT - meeting\nKind: captions\n\nNOTE hi\nthere\n\n01:02.500 --> 01:03.000 align:start\n<v.loud Ann>Hi</v>\n");
    assert.deepEqual(cues, [{ startMs: 62_500, endMs: 63_000, text: "Hi", voice: "Ann" }]);
  });
});

describe("Markdown writer", function () {
  it("writes a title, details and one escaped paragraph per final segment", function () {
    const markdown = toMarkdown(
      [
        segment({ startMs: 3_725_000, endMs: 3_726_000, text: "later" }),
        segment({ startMs: 61_000, endMs: 62_000, text: "see *this* [link](x) # now" }),
      ],
      { title: "Transcript of a_b.wav", details: ["Engine: fake"], noSpeech: "No speech was recognised." },
    );
    assert.equal(
      markdown,
      "# Transcript of a\\_b.wav\n\n- Engine: fake\n\n" +
        "**Alice** (01:01): see \\*this\\* \\[link\\]\\(x\\) \\# now\n\n" +
        "**Alice** (1:02:05): later\n",
    );
  });

  it("says when nothing was recognised", function () {
    assert.match(toMarkdown([], { title: "T", details: [], noSpeech: "Aucune parole n'a été reconnue." }), /_Aucune parole n'a été reconnue\._/);
  });

  it("formats clock times", function () {
    assert.equal(formatClock(59_999), "00:59");
    assert.equal(formatClock(3_600_000), "1:00:00");
  });
});
