// Word error rate, the figure engines are compared by: (substitutions + deletions + insertions) divided
// by the number of reference words, after the normalisation every WER report needs (case, punctuation).

export interface WordErrorCounts {
  substitutions: number;
  deletions: number;
  insertions: number;
  referenceWords: number;
  /** (S + D + I) / N; 0 for an empty reference and hypothesis, Infinity for an empty reference only. */
  wer: number;
}

/** Lower case, punctuation dropped except apostrophes inside words ("o'clock"), split on spaces, digits 0–12 as words. */
export function normaliseWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[^\p{L}\p{N}' ]+/gu, " ")
    .split(/\s+/)
    .map((w) => w.replace(/^'+|'+$/g, ""))
    .filter((w) => w !== "")
    .map((w) => SMALL_NUMBERS[Number(w)] !== undefined && /^\d+$/.test(w) ? SMALL_NUMBERS[Number(w)]! : w);
}

/** Whisper writes "10" where a reference says "ten": small numbers count as their English words. */
const SMALL_NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];

export function wordErrorRate(reference: string, hypothesis: string): WordErrorCounts {
  const ref = normaliseWords(reference);
  const hyp = normaliseWords(hypothesis);
  // cost[i][j]: edits from ref[0..i) to hyp[0..j); ops keep the counts of one cheapest path.
  interface Cell {
    cost: number;
    s: number;
    d: number;
    i: number;
  }
  let previous: Cell[] = Array.from({ length: hyp.length + 1 }, (_, j) => ({ cost: j, s: 0, d: 0, i: j }));
  for (let r = 1; r <= ref.length; r++) {
    const row: Cell[] = [{ cost: r, s: 0, d: r, i: 0 }];
    for (let h = 1; h <= hyp.length; h++) {
      const diag = previous[h - 1] as Cell;
      const up = previous[h] as Cell;
      const left = row[h - 1] as Cell;
      const same = ref[r - 1] === hyp[h - 1];
      const candidates: Cell[] = [
        { cost: diag.cost + (same ? 0 : 1), s: diag.s + (same ? 0 : 1), d: diag.d, i: diag.i },
        { cost: up.cost + 1, s: up.s, d: up.d + 1, i: up.i },
        { cost: left.cost + 1, s: left.s, d: left.d, i: left.i + 1 },
      ];
      row.push(candidates.reduce((best, c) => (c.cost < best.cost ? c : best)));
    }
    previous = row;
  }
  const end = previous[hyp.length] as Cell;
  const n = ref.length;
  return {
    substitutions: end.s,
    deletions: end.d,
    insertions: end.i,
    referenceWords: n,
    wer: n === 0 ? (hyp.length === 0 ? 0 : Infinity) : (end.s + end.d + end.i) / n,
  };
}
