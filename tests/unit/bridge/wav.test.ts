import { strict as assert } from "node:assert";
import { encodeWav } from "../../../bridge/src/audio/wav.ts";

describe("WAV encoding", () => {
  it("writes a 16-bit mono PCM header and the samples little-endian, from a view into a larger buffer too", () => {
    const all = Int16Array.from([7, -32768, 32767, -1, 0, 1234, -4321]);
    const pcm = all.subarray(1, 6);
    const wav = Buffer.from(encodeWav(pcm, 16_000));
    assert.equal(wav.length, 44 + 2 * pcm.length);
    assert.equal(wav.toString("latin1", 0, 4), "RIFF");
    assert.equal(wav.readUInt32LE(4), 36 + 2 * pcm.length);
    assert.equal(wav.toString("latin1", 8, 16), "WAVEfmt ");
    assert.equal(wav.readUInt16LE(20), 1);
    assert.equal(wav.readUInt16LE(22), 1);
    assert.equal(wav.readUInt32LE(24), 16_000);
    assert.equal(wav.readUInt32LE(28), 32_000);
    assert.equal(wav.toString("latin1", 36, 40), "data");
    assert.equal(wav.readUInt32LE(40), 2 * pcm.length);
    assert.deepEqual(Array.from({ length: pcm.length }, (_, i) => wav.readInt16LE(44 + 2 * i)), [-32768, 32767, -1, 0, 1234]);
  });
});
