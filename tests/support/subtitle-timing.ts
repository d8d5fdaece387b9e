// Live subtitles as a listener received them (rtc-subtitle-receiver.ts reports), against what was said:
// each utterance (one `lk.segment_id`) belongs to the last sentence that had started when its first
// subtitle arrived, since a long phrase with a pause in it may come as two utterances. The check of
// the demo and the live transcription bench measure with it.
import type { JsonReport } from "./json-line-process.ts";

export interface SentenceSubtitles {
  /** Milliseconds after playback started: the sentence's first text (interim or final), first interim, last final. */
  firstTextAt: number;
  firstInterimAt: number | undefined;
  finalAt: number;
  /** Interim updates that arrived before the sentence ended. */
  interimsBeforeEnd: number;
}

export interface SubtitleTiming {
  sentences: SentenceSubtitles[];
  /** For each final subtitle, in order of arrival, the sentence it belongs to. */
  finalsInOrder: number[];
}

const attribute = (r: JsonReport, name: string): string | undefined => (r.attributes as Record<string, string> | undefined)?.[name];
const isFinal = (r: JsonReport): boolean => attribute(r, "lk.transcription_final") === "true";

/** Throws, saying which, when a sentence got no final subtitle or a subtitle came before any speech. */
export function timeSubtitles(
  reports: readonly JsonReport[],
  sentences: readonly { startMs: number; endMs: number }[],
  playingAt: number,
): SubtitleTiming {
  const at = (r: JsonReport): number => Number(r.receivedAt) - playingAt;
  const received = reports.filter((r) => r.event === "transcription" && String(r.text).trim() !== "").sort((x, y) => at(x) - at(y));
  const sentenceOfSegment = new Map<string, number>();
  const bySentence = sentences.map(() => [] as JsonReport[]);
  const finalsInOrder: number[] = [];
  for (const r of received) {
    const segment = attribute(r, "lk.segment_id") ?? "";
    let index = sentenceOfSegment.get(segment);
    if (index === undefined) {
      index = sentences.findLastIndex((s) => s.startMs <= at(r));
      if (index < 0) throw new Error(`a subtitle arrived ${Math.round(-at(r))} ms before anything was said`);
      sentenceOfSegment.set(segment, index);
    }
    bySentence[index]?.push(r);
    if (isFinal(r)) finalsInOrder.push(index);
  }
  return {
    sentences: sentences.map((sentence, i) => {
      const mine = bySentence[i] ?? [];
      const interims = mine.filter((r) => !isFinal(r));
      const finals = mine.filter(isFinal);
      if (finals.length === 0) throw new Error(`no final subtitle reached the listener for sentence ${i + 1} of ${sentences.length}`);
      return {
        firstTextAt: at(mine[0] as JsonReport),
        firstInterimAt: interims[0] === undefined ? undefined : at(interims[0]),
        finalAt: at(finals.at(-1) as JsonReport),
        interimsBeforeEnd: interims.filter((r) => at(r) <= sentence.endMs).length,
      };
    }),
    finalsInOrder,
  };
}
