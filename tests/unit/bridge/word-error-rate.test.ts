import { strict as assert } from "node:assert";
import { normaliseWords, wordErrorRate } from "../../../bridge/src/transcript/word-error-rate.ts";

describe("word error rate", function () {
  it("normalises case and punctuation but keeps apostrophes inside words", function () {
    assert.deepEqual(normaliseWords("The meeting, at ten O’clock! 'Quoted'"), ["the", "meeting", "at", "ten", "o'clock", "quoted"]);
  });

  it("counts substitutions, deletions and insertions of one cheapest alignment", function () {
    assert.deepEqual(wordErrorRate("please send the report", "please send a report"), {
      substitutions: 1,
      deletions: 0,
      insertions: 0,
      referenceWords: 4,
      wer: 0.25,
    });
    assert.deepEqual(wordErrorRate("a b c d", "a c d e f"), { substitutions: 0, deletions: 1, insertions: 2, referenceWords: 4, wer: 0.75 });
    assert.equal(wordErrorRate("same words here", "Same words, here.").wer, 0);
    assert.equal(wordErrorRate("one two", "").wer, 1);
  });

  it("handles empty references", function () {
    assert.equal(wordErrorRate("", "").wer, 0);
    assert.equal(wordErrorRate("", "noise").wer, Infinity);
  });
});
