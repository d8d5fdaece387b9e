import assert from "node:assert/strict";
import type { JsonReport } from "../harness/json-line-process.ts";
import { timeSubtitles } from "../harness/subtitle-timing.ts";

const SENTENCES = [
  { text: "The meeting will start at ten o'clock this morning.", startMs: 0, endMs: 3000 },
  { text: "Please send the report to the whole team before Friday.", startMs: 5500, endMs: 8500 },
  { text: "We need a decision on the budget for next year.", startMs: 11000, endMs: 14000 },
];
const PLAYING_AT = 1_000_000;

function subtitle(atMs: number, segment: string, text: string, final = false): JsonReport {
  return {
    event: "transcription",
    receivedAt: PLAYING_AT + atMs,
    text,
    attributes: { "lk.segment_id": segment, "lk.transcription_final": String(final) },
  };
}

describe("subtitle timing", () => {
  it("gives each utterance to the sentence it says, even when its first subtitle comes after the next sentence began", () => {
    const timing = timeSubtitles(
      [
        subtitle(1200, "s1", "the meeting will"),
        subtitle(4000, "s1", "The meeting will start at ten o'clock this morning.", true),
        // A loaded machine: sentence 2's first text arrives once sentence 3 has started.
        subtitle(11400, "s2", "Please send the report to the whole team before Friday.", true),
        subtitle(12300, "s3", "we need a decision"),
        subtitle(15100, "s3", "We need a decision on the budget for next year.", true),
      ],
      SENTENCES,
      PLAYING_AT,
    );
    assert.deepEqual(timing.finalsInOrder, [0, 1, 2]);
    assert.deepEqual(
      timing.sentences.map((s) => [s.firstTextAt, s.firstInterimAt, s.finalAt, s.interimsBeforeEnd]),
      [
        [1200, 1200, 4000, 1],
        [11400, undefined, 11400, 0],
        [12300, 12300, 15100, 1],
      ],
    );
  });

  it("puts the two utterances of a phrase with a pause in it together, and words common to all sentences decide nothing", () => {
    const timing = timeSubtitles(
      [
        subtitle(2000, "a", "The meeting will start", true),
        subtitle(3500, "b", "at ten o'clock this morning.", true),
        // "the" is in every sentence but this one; "team" only in sentence 2.
        subtitle(9000, "c", "the team", true),
        subtitle(15000, "d", "the budget for next year", true),
      ],
      SENTENCES,
      PLAYING_AT,
    );
    assert.deepEqual(timing.finalsInOrder, [0, 0, 1, 2]);
    assert.equal(timing.sentences[0]?.finalAt, 3500);
  });

  it("falls back on time for an utterance that shares no word with any sentence", () => {
    const timing = timeSubtitles(
      [subtitle(2500, "x", "zzz", true), subtitle(9000, "y", "qqq", true), subtitle(14500, "z", "budget", true)],
      SENTENCES,
      PLAYING_AT,
    );
    assert.deepEqual(timing.finalsInOrder, [0, 1, 2]);
  });

  it("names the sentence that got no final subtitle, and what did arrive", () => {
    assert.throws(
      () => timeSubtitles([subtitle(4000, "s1", "The meeting will start at ten o'clock this morning.", true), subtitle(15000, "s3", "a decision on the budget", true)], SENTENCES, PLAYING_AT),
      (error: Error) => /sentence 2 of 3 \("Please send the report/.test(error.message) && error.message.includes('15000 ms s3 final "a decision on the budget"'),
    );
  });

  it("refuses a subtitle that came before anything was said", () => {
    const late = [{ ...SENTENCES[0]!, startMs: 1000 }, ...SENTENCES.slice(1)];
    assert.throws(() => timeSubtitles([subtitle(500, "s1", "the meeting", true)], late, PLAYING_AT), /arrived 500 ms before anything was said/);
  });
});
