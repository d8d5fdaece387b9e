// Finding sentences in transcripts the way people type them: case, accents and ligatures do not
// matter ("decision" finds « Décision », "coeur" finds « cœur »), every word typed must be in the
// line, in any order, and may be the start of a longer one ("valid" finds « validé »). Matches are
// given back as ranges of the original text, so the line is highlighted as it was written.

const LIGATURES: Readonly<Record<string, string>> = { œ: "oe", æ: "ae", ß: "ss", ﬁ: "fi", ﬂ: "fl" };
const APOSTROPHES = /[’‘ʼ`´]/u;

function foldCodePoint(ch: string): string {
  const lower = ch.toLowerCase();
  const ligature = LIGATURES[lower];
  if (ligature !== undefined) return ligature;
  if (APOSTROPHES.test(lower)) return "'";
  return lower.normalize("NFD").replace(/\p{M}/gu, "");
}

export interface FoldedText {
  /** The text without case, accents or ligatures. */
  text: string;
  /** For each code unit of `text`, where the character it comes from starts in the original. */
  starts: number[];
  /** For each code unit of `text`, where the character it comes from ends in the original. */
  ends: number[];
}

export function foldText(original: string): FoldedText {
  let text = "";
  const starts: number[] = [];
  const ends: number[] = [];
  let index = 0;
  for (const ch of original) {
    const folded = foldCodePoint(ch);
    for (let i = 0; i < folded.length; i += 1) {
      starts.push(index);
      ends.push(index + ch.length);
    }
    text += folded;
    index += ch.length;
  }
  return { text, starts, ends };
}

/** The words of a query, folded; one-letter words only when nothing longer was typed (« l'équipe » looks for "equipe"). */
export function queryWords(query: string): string[] {
  const words = foldText(query)
    .text.split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word !== "");
  const long = words.filter((word) => word.length > 1);
  return [...new Set(long.length > 0 ? long : words)];
}

export interface TextRange {
  start: number;
  end: number;
}

/** Where the words are in `text` (original indices, sorted, merged), or null unless every word is there. */
export function matchWords(text: string, words: readonly string[]): TextRange[] | null {
  if (words.length === 0) return null;
  const folded = foldText(text);
  const ranges: TextRange[] = [];
  for (const word of words) {
    let at = folded.text.indexOf(word);
    if (at === -1) return null;
    while (at !== -1) {
      ranges.push({ start: folded.starts[at] ?? 0, end: folded.ends[at + word.length - 1] ?? text.length });
      at = folded.text.indexOf(word, at + word.length);
    }
  }
  ranges.sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: TextRange[] = [];
  for (const range of ranges) {
    const last = merged.at(-1);
    if (last !== undefined && range.start <= last.end) last.end = Math.max(last.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}

export interface TextPiece {
  text: string;
  match: boolean;
}

/** The text cut into pieces, the matching ones marked (one unmarked piece when nothing matches). */
export function highlight(text: string, ranges: readonly TextRange[] | null): TextPiece[] {
  if (ranges === null || ranges.length === 0) return [{ text, match: false }];
  const pieces: TextPiece[] = [];
  let at = 0;
  for (const { start, end } of ranges) {
    if (start > at) pieces.push({ text: text.slice(at, start), match: false });
    pieces.push({ text: text.slice(start, end), match: true });
    at = end;
  }
  if (at < text.length) pieces.push({ text: text.slice(at), match: false });
  return pieces;
}
