// Live subtitles as a listener received them (rtc-subtitle-receiver.ts reports), against what was said.
// Each utterance (one `lk.segment_id`) belongs to the sentence whose words it shares most (its last
// text against each sentence's), since a long phrase with a pause in it may come as two utterances and
// a late subtitle may arrive after the next sentence has started; an utterance that shares no word
// with any sentence belongs to the last sentence that had started when its first subtitle arrived.
// The check of the demo and the live transcription bench measure with it.
import { normaliseWords } from "../../bridge/src/transcript/word-error-rate.ts";
import { SUBTITLE_ATTRIBUTES } from "../../config/wire-types.ts";
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
const isFinal = (r: JsonReport): boolean => attribute(r, SUBTITLE_ATTRIBUTES.final) === "true";

/** The sentence that shares most of these words (a word found in k sentences counts 1/k); undefined when none shares any. */
function sentenceSharingMostWords(text: string, sentenceWords: readonly Set<string>[]): number | undefined {
  const words = normaliseWords(text);
  const weight = (w: string): number => 1 / sentenceWords.filter((vocabulary) => vocabulary.has(w)).length;
  let best: number | undefined;
  let bestShared = 0;
  sentenceWords.forEach((vocabulary, index) => {
    const shared = words.filter((w) => vocabulary.has(w)).reduce((sum, w) => sum + weight(w), 0);
    if (shared > bestShared) {
      best = index;
      bestShared = shared;
    }
  });
  return best;
}

/** Throws, saying which, when a sentence got no final subtitle or a subtitle came before any speech. */
export function timeSubtitles(
  reports: readonly JsonReport[],
  sentences: readonly { text: string; startMs: number; endMs: number }[],
  playingAt: number,
): SubtitleTiming {
  const at = (r: JsonReport): number => Number(r.receivedAt) - playingAt;
  const received = reports.filter((r) => r.event === "transcription" && String(r.text).trim() !== "").sort((x, y) => at(x) - at(y));
  const segmentOf = (r: JsonReport): string => attribute(r, SUBTITLE_ATTRIBUTES.segmentId) ?? "";
  const lastText = new Map<string, string>();
  const firstAt = new Map<string, number>();
  for (const r of received) {
    const segment = segmentOf(r);
    lastText.set(segment, String(r.text));
    if (!firstAt.has(segment)) firstAt.set(segment, at(r));
  }
  const sentenceWords = sentences.map((s) => new Set(normaliseWords(s.text)));
  const sentenceOfSegment = new Map<string, number>();
  for (const [segment, text] of lastText) {
    const first = firstAt.get(segment) ?? 0;
    if (first < (sentences[0]?.startMs ?? 0)) throw new Error(`a subtitle arrived ${Math.round((sentences[0]?.startMs ?? 0) - first)} ms before anything was said`);
    sentenceOfSegment.set(segment, sentenceSharingMostWords(text, sentenceWords) ?? sentences.findLastIndex((s) => s.startMs <= first));
  }
  const bySentence = sentences.map(() => [] as JsonReport[]);
  const finalsInOrder: number[] = [];
  for (const r of received) {
    const index = sentenceOfSegment.get(segmentOf(r)) ?? 0;
    bySentence[index]?.push(r);
    if (isFinal(r)) finalsInOrder.push(index);
  }
  const describe = (): string =>
    received.map((r) => `${Math.round(at(r))} ms ${segmentOf(r)}${isFinal(r) ? " final" : ""} "${String(r.text)}"`).join("; ");
  return {
    sentences: sentences.map((sentence, i) => {
      const mine = bySentence[i] ?? [];
      const interims = mine.filter((r) => !isFinal(r));
      const finals = mine.filter(isFinal);
      if (finals.length === 0) {
        throw new Error(
          `no final subtitle reached the listener for sentence ${i + 1} of ${sentences.length} ("${sentence.text}", ${sentence.startMs}–${sentence.endMs} ms); received: ${describe()}`,
        );
      }
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
