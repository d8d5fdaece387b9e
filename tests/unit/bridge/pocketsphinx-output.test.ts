import { strict as assert } from "node:assert";
import type { SttResult } from "../../../bridge/src/stt/engine.ts";
import { PocketSphinxOutputParser } from "../../../bridge/src/stt/pocketsphinx-output.ts";

// What Debian 12's pocketsphinx_continuous -time yes printed for two sentences with a pause.
const OUTPUT = `the meeting will start
<s> 2.030 2.160 0.999800
the 2.170 2.250 0.109738
meeting(2) 2.260 2.660 0.962901
<sil> 2.670 2.800 0.998000
will 2.810 2.990 0.915752
[NOISE] 3.000 3.050 1.000000
start 3.060 3.400 0.999900
</s> 3.410 3.600 1.000000

<s> 5.000 5.100 1.000000
</s> 5.110 6.000 1.000000
please
<s> 7.030 7.100 0.999800
please 7.110 7.380 0.852043`;

describe("PocketSphinx output parser", function () {
  it("turns hypothesis and word lines into final results with word times, fillers dropped", function () {
    const results: SttResult[] = [];
    const parser = new PocketSphinxOutputParser((r) => results.push(r));
    const lines = OUTPUT.split("\n");
    for (const line of lines.slice(0, 9)) parser.pushLine(line);
    assert.equal(results.length, 1, "</s> closes the utterance without waiting for the next one");
    for (const line of lines.slice(9)) parser.pushLine(line);
    parser.finish();
    assert.deepEqual(
      results.map((r) => [r.text, r.startMs, r.endMs, r.final]),
      [
        ["the meeting will start", 2170, 3410, true],
        ["please", 7110, 7390, true],
      ],
    );
    assert.deepEqual(
      results[0]?.words?.map((w) => [w.text, w.startMs, w.endMs]),
      [
        ["the", 2170, 2260],
        ["meeting", 2260, 2670],
        ["will", 2810, 3000],
        ["start", 3060, 3410],
      ],
    );
  });
});
