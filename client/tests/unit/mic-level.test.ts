// The pre-join microphone meter with a fake clock and a fake level source: the level follows the
// microphone, « no sound » comes after a while of silence and goes at the first sound, and the
// preview follows whichever microphone track it has (none when off).
import assert from "node:assert/strict";
import type { LocalAudioTrack } from "livekit-client";
import { levelOfSamples } from "../../src/services/livekit/audio-level.ts";
import type { CallMedia, LevelSource, PreviewTracks } from "../../src/services/livekit/call-media.ts";
import { createCallPreview } from "../../src/stores/call/call-preview.ts";
import { createMicLevel } from "../../src/stores/call/mic-level.ts";

function fakeClock() {
  let now = 0;
  let tick: (() => void) | null = null;
  return {
    now: () => now,
    repeat: (fn: () => void) => {
      tick = fn;
      return () => void (tick = null);
    },
    /** Advances by ms, ticking every 100 ms. */
    advance(ms: number) {
      for (let t = 0; t < ms; t += 100) {
        now += 100;
        tick?.();
      }
    },
    running: () => tick !== null,
  };
}

function fakeSource(initial = 0) {
  const source = { value: initial, closed: false, level: () => source.value, close: () => void (source.closed = true) };
  return source satisfies LevelSource;
}

describe("microphone level and silence", () => {
  it("levels from samples: silence is 0, a full-scale wave 1, a quiet one in between", () => {
    assert.equal(levelOfSamples(new Float32Array(128)), 0);
    assert.equal(levelOfSamples([1, -1, 1, -1]), 1);
    const quiet = levelOfSamples(Array.from({ length: 128 }, (_, i) => 0.01 * Math.sin(i)));
    assert.ok(quiet > 0.1 && quiet < 0.5, String(quiet));
  });

  it("no sound after the silence delay, gone at the first sound; the bar falls back gently", () => {
    const clock = fakeClock();
    const mic = createMicLevel({ now: clock.now, repeat: clock.repeat, silenceAfterMs: 3000, threshold: 0.1 });
    const source = fakeSource(0);
    mic.follow(source);
    clock.advance(2900);
    assert.equal(mic.silent.value, false, "not yet");
    clock.advance(200);
    assert.equal(mic.silent.value, true, "after 3 s of silence");
    source.value = 0.6;
    clock.advance(100);
    assert.equal(mic.silent.value, false);
    assert.equal(mic.level.value, 0.6);
    source.value = 0;
    clock.advance(100);
    assert.ok(mic.level.value > 0 && mic.level.value < 0.6, "falling, not dropped");
    clock.advance(2000);
    assert.equal(mic.silent.value, false, "the silence delay counts from the last sound");
    clock.advance(1000);
    assert.equal(mic.silent.value, true);
  });

  it("closing stops sampling, closes the source and clears level and hint", () => {
    const clock = fakeClock();
    const mic = createMicLevel({ now: clock.now, repeat: clock.repeat, silenceAfterMs: 1000 });
    const source = fakeSource(0);
    mic.follow(source);
    clock.advance(1500);
    assert.equal(mic.silent.value, true);
    mic.close();
    assert.ok(source.closed);
    assert.equal(clock.running(), false);
    assert.equal(mic.silent.value, false);
    assert.equal(mic.level.value, 0);
  });

  it("the preview measures its microphone track, a new one after a change, none while off", async () => {
    const clock = fakeClock();
    const measured: { track: string; source: ReturnType<typeof fakeSource> }[] = [];
    let count = 0;
    const media: CallMedia = {
      listDevices: async () => ({ cameras: [], microphones: [] }),
      createPreview: async (choice): Promise<PreviewTracks> => {
        count += 1;
        const audio = choice.microphoneId === null ? null : { name: `audio-${count}`, stop() {}, mediaStreamTrack: { getSettings: () => ({ deviceId: "mic" }) } };
        return { video: null, audio: audio as unknown as LocalAudioTrack | null };
      },
      connect: () => Promise.reject(new Error("no calls in this test")),
      measureLevel: (track) => {
        const source = fakeSource(0.5);
        measured.push({ track: (track as unknown as { name: string }).name, source });
        return source;
      },
    };
    const preview = createCallPreview(media, () => undefined, { now: clock.now, repeat: clock.repeat });
    await preview.open();
    assert.deepEqual(measured.map((m) => m.track), ["audio-1"]);
    clock.advance(100);
    assert.equal(preview.exposed.micLevel.value, 0.5);
    await preview.choose("audioinput", "mic-2");
    assert.deepEqual(measured.map((m) => m.track), ["audio-1", "audio-2"]);
    assert.ok(measured[0]!.source.closed, "the old track's meter closed");
    await preview.toggle("audio");
    assert.ok(measured[1]!.source.closed);
    assert.equal(preview.exposed.micLevel.value, 0);
    assert.equal(clock.running(), false, "no sampling while the microphone is off");
    preview.stop();
  });
});
