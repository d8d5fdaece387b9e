// The live subtitles of the call: the last three lines, a newer version of a segment replacing the
// older, a final line staying a while for slow readers.
import { ref } from "vue";
import type { SubtitleUpdate } from "../../services/livekit/subtitles.ts";

export interface Subtitle {
  segmentId: string;
  speaker: string;
  text: string;
  final: boolean;
  updatedAt: number;
}

const SUBTITLE_LINGER_MS = 6_000;

export function createCallSubtitles() {
  const subtitles = ref<Subtitle[]>([]);

  function add(update: SubtitleUpdate, speaker: string): void {
    const line: Subtitle = { segmentId: update.segmentId, speaker, text: update.text, final: update.final, updatedAt: Date.now() };
    const others = subtitles.value.filter((s) => s.segmentId !== update.segmentId);
    subtitles.value = [...others, line].slice(-3);
    if (update.final) {
      // A final line stays a while for slow readers, unless a newer version came meanwhile.
      setTimeout(() => {
        subtitles.value = subtitles.value.filter((s) => s.segmentId !== update.segmentId || !s.final || Date.now() - s.updatedAt < SUBTITLE_LINGER_MS);
      }, SUBTITLE_LINGER_MS);
    }
  }

  return { subtitles, add, clear: () => (subtitles.value = []) };
}
