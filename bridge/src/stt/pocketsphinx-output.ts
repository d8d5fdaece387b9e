// Reads what `pocketsphinx_continuous -time yes` prints: for each utterance its own VAD closes, a
// hypothesis line, then one line per segment "word start end confidence" (seconds from the start of
// the input), fillers such as <s>, </s>, <sil> and [NOISE] included.
import type { SttResult, SttWord } from "./engine.ts";

const SEGMENT_LINE = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)$/;

/** Fillers and silences are not words of the transcript. */
function isFiller(word: string): boolean {
  return /^<.*>$/.test(word) || /^\[.*\]$/.test(word) || /^\+\+.*\+\+$/.test(word);
}

interface PendingUtterance {
  hypothesis: string;
  words: SttWord[];
  spanStartMs: number | undefined;
  spanEndMs: number | undefined;
}

/** Turns output lines into final results; feed it lines in order, then call finish() at end of output. */
export class PocketSphinxOutputParser {
  #pending: PendingUtterance | undefined;
  #emit: (result: SttResult) => void;

  constructor(emit: (result: SttResult) => void) {
    this.#emit = emit;
  }

  pushLine(rawLine: string): void {
    const line = rawLine.trimEnd();
    const segment = SEGMENT_LINE.exec(line);
    if (segment === null) {
      // A hypothesis line (possibly empty) opens the next utterance.
      this.#flush();
      this.#pending = { hypothesis: line.trim(), words: [], spanStartMs: undefined, spanEndMs: undefined };
      return;
    }
    const [, token = "", start = "0", end = "0", confidence = "0"] = segment;
    this.#pending ??= { hypothesis: "", words: [], spanStartMs: undefined, spanEndMs: undefined };
    const startMs = Math.round(Number(start) * 1000);
    // pocketsphinx prints the last frame, inclusive: its end is one 10 ms frame later.
    const endMs = Math.round(Number(end) * 1000) + 10;
    this.#pending.spanStartMs ??= startMs;
    this.#pending.spanEndMs = endMs;
    if (!isFiller(token)) {
      // Alternative pronunciations come as "friday(2)".
      const text = token.replace(/\(\d+\)$/, "");
      this.#pending.words.push({ text, startMs, endMs, confidence: Math.min(1, Math.max(0, Number(confidence))) });
    }
    // </s> closes the utterance, so its result need not wait for the next one.
    if (token === "</s>") this.#flush();
  }

  finish(): void {
    this.#flush();
  }

  #flush(): void {
    const utterance = this.#pending;
    this.#pending = undefined;
    if (utterance === undefined) return;
    const text = utterance.hypothesis !== "" ? utterance.hypothesis : utterance.words.map((w) => w.text).join(" ");
    if (text === "") return;
    const first = utterance.words[0];
    const last = utterance.words.at(-1);
    this.#emit({
      text,
      startMs: first?.startMs ?? utterance.spanStartMs ?? 0,
      endMs: last?.endMs ?? utterance.spanEndMs ?? 0,
      final: true,
      words: utterance.words,
    });
  }
}
