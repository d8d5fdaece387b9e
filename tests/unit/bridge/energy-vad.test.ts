import { strict as assert } from "node:assert";
import { EnergyVad, frameEnergyDb, type VadEvent } from "../../../bridge/src/transcript/energy-vad.ts";

const RATE = 16_000;

/** A 440 Hz tone at `db` dB full scale (sine RMS is peak / sqrt 2). */
function tone(ms: number, db = -20): Int16Array {
  const peak = 32767 * Math.SQRT2 * 10 ** (db / 20);
  return Int16Array.from({ length: (ms * RATE) / 1000 }, (_, i) => Math.round(peak * Math.sin((2 * Math.PI * 440 * i) / RATE)));
}

/** Deterministic white-ish noise at about `db` dB full scale (0 for digital silence). */
function noise(ms: number, db?: number): Int16Array {
  if (db === undefined) return new Int16Array((ms * RATE) / 1000);
  let seed = 12345;
  const amplitude = 32767 * Math.sqrt(3) * 10 ** (db / 20);
  return Int16Array.from({ length: (ms * RATE) / 1000 }, () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return Math.round(amplitude * (seed / 0x7fffffff * 2 - 1));
  });
}

function concat(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Runs the VAD over `pcm` in uneven chunks, as network packets arrive, and collects utterances. */
function utterances(pcm: Int16Array, vad = new EnergyVad()): { startMs: number; endMs: number; speechEndMs: number; samples: number }[] {
  const events: VadEvent[] = [];
  for (let at = 0, size = 317; at < pcm.length; at += size, size = size === 317 ? 960 : 317) {
    events.push(...vad.push(pcm.subarray(at, at + size)));
  }
  events.push(...vad.flush());
  const found: { startMs: number; endMs: number; speechEndMs: number; samples: number }[] = [];
  for (const event of events) {
    if (event.type === "speech-start") found.push({ startMs: event.startMs, endMs: -1, speechEndMs: -1, samples: event.pcm.length });
    else {
      const current = found.at(-1);
      assert.ok(current !== undefined && current.endMs === -1, `${event.type} outside an utterance`);
      if (event.type === "audio") current.samples += event.pcm.length;
      else {
        current.endMs = event.endMs;
        current.speechEndMs = event.speechEndMs;
      }
    }
  }
  return found;
}

describe("energy VAD", function () {
  it("measures frame energy in dB full scale", function () {
    assert.ok(Math.abs(frameEnergyDb(tone(20, -20)) - -20) < 0.2);
    assert.equal(frameEnergyDb(new Int16Array(320)), -100);
  });

  it("cuts utterances at pauses, with pre-roll, and hands out exactly the audio between start and end", function () {
    const pcm = concat(noise(1000), tone(1500), noise(1200), tone(800), noise(1000));
    const found = utterances(pcm);
    assert.equal(found.length, 2);
    const [first, second] = found;
    assert.ok(first !== undefined && second !== undefined);
    // Speech at 1000 ms: the utterance starts 300 ms of pre-roll earlier.
    assert.equal(first.startMs, 700);
    // Speech ends at 2500 ms, the utterance after 600 ms of silence.
    assert.equal(first.speechEndMs, 2500);
    assert.equal(first.endMs, 3100);
    assert.equal(first.samples, ((first.endMs - first.startMs) * RATE) / 1000);
    assert.equal(second.startMs, 3700 - 300);
    assert.equal(second.speechEndMs, 4500);
    assert.equal(second.samples, ((second.endMs - second.startMs) * RATE) / 1000);
  });

  it("keeps a pause shorter than end-of-utterance silence inside one utterance", function () {
    const found = utterances(concat(noise(500), tone(700), noise(400), tone(700), noise(1000)));
    assert.equal(found.length, 1);
    assert.equal(found[0]?.speechEndMs, 2300);
  });

  it("ignores clicks shorter than the start time", function () {
    assert.deepEqual(utterances(concat(noise(500), tone(40), noise(1000))), []);
  });

  it("adapts to steady background noise louder than the absolute floor", function () {
    const bed = noise(4000, -40);
    const speech = tone(1000, -15);
    const pcm = bed.slice();
    // Speech mixed over the noise from 2000 to 3000 ms.
    speech.forEach((s, i) => {
      pcm[32_000 + i] = Math.max(-32768, Math.min(32767, (pcm[32_000 + i] ?? 0) + s));
    });
    const found = utterances(pcm);
    assert.equal(found.length, 1, "the noise alone is no speech");
    assert.equal(found[0]?.startMs, 1700);
    assert.equal(found[0]?.speechEndMs, 3000);
  });

  it("cuts a monologue at the maximum utterance length without losing audio", function () {
    const pcm = concat(noise(300), tone(5000), noise(1000));
    const found = utterances(pcm, new EnergyVad({ maxUtteranceMs: 2000 }));
    assert.ok(found.length >= 3, `${found.length} utterances`);
    for (const u of found) assert.ok(u.endMs - u.startMs <= 2000);
    for (let i = 1; i < found.length; i++) assert.equal(found[i]?.startMs, found[i - 1]?.endMs, "utterances follow each other");
  });

  it("closes an utterance still open at the end of input", function () {
    const found = utterances(concat(noise(500), tone(1010)));
    assert.equal(found.length, 1);
    assert.equal(found[0]?.endMs, 1510);
    assert.equal(found[0]?.samples, ((1510 - 200) * RATE) / 1000);
  });
});
