// The pre-join microphone meter: the level sampled a few times a second (falling back gently so the
// bar does not flicker), and « no sound » once the microphone has stayed below a whisper for a while.
import { ref } from "vue";
import type { LevelSource } from "../../services/livekit/call-media.ts";

export interface MicLevelOptions {
  everyMs?: number;
  /** Below this level (0..1) counts as silence. */
  threshold?: number;
  silenceAfterMs?: number;
  now?: () => number;
  /** Calls tick every ms until the returned function is called. */
  repeat?: (tick: () => void, ms: number) => () => void;
}

const defaultRepeat = (tick: () => void, ms: number): (() => void) => {
  const timer = setInterval(tick, ms);
  return () => clearInterval(timer);
};

export function createMicLevel(options: MicLevelOptions = {}) {
  const everyMs = options.everyMs ?? 100;
  const threshold = options.threshold ?? 0.1;
  const silenceAfterMs = options.silenceAfterMs ?? 4000;
  const now = options.now ?? (() => Date.now());
  const repeat = options.repeat ?? defaultRepeat;

  const level = ref(0);
  const silent = ref(false);
  let source: LevelSource | null = null;
  let stopRepeat: (() => void) | null = null;
  let lastSoundAt = 0;

  function sample(): void {
    if (source === null) return;
    const raw = source.level();
    level.value = Math.max(raw, level.value * 0.7);
    if (raw >= threshold) {
      lastSoundAt = now();
      silent.value = false;
    } else if (now() - lastSoundAt >= silenceAfterMs) {
      silent.value = true;
    }
  }

  function close(): void {
    stopRepeat?.();
    stopRepeat = null;
    source?.close();
    source = null;
    level.value = 0;
    silent.value = false;
  }

  /** Follows this source from now on (null: none, the microphone off). */
  function follow(next: LevelSource | null): void {
    close();
    if (next === null) return;
    source = next;
    lastSoundAt = now();
    stopRepeat = repeat(sample, everyMs);
  }

  return { level, silent, follow, close };
}
