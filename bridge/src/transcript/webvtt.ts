// WebVTT (https://www.w3.org/TR/webvtt1/) out of transcript segments, and a strict reader of what we
// write, so that tests and tools check the file rather than trust the writer.
import type { SttWord } from "../stt/engine.ts";
import type { TranscriptSegment } from "./segment.ts";

export interface WebVttCue {
  id?: string;
  startMs: number;
  endMs: number;
  /** Cue payload with the voice span removed and entities decoded. */
  text: string;
  /** From the `<v Name>` span, when there is one. */
  voice?: string;
}

export interface WebVttOptions {
  /** Segments longer than this are split at word boundaries into several cues (subtitle readability). */
  maxCueMs?: number;
  maxCueChars?: number;
}

const DEFAULT_MAX_CUE_MS = 7000;
const DEFAULT_MAX_CUE_CHARS = 90;

export function formatVttTime(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = Math.floor((total % 60_000) / 1000);
  const millis = total % 1000;
  const pad = (n: number, width: number): string => String(n).padStart(width, "0");
  return `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}.${pad(millis, 3)}`;
}

function escapeCueText(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A voice annotation ends at ">" and must not contain line breaks. */
function escapeVoice(name: string): string {
  return escapeCueText(name.replace(/[\r\n]+/g, " ").trim());
}

/** Splits a segment into cue-sized pieces at word boundaries, using the engine's word times. */
interface CuePiece {
  startMs: number;
  endMs: number;
  text: string;
}

function cuePieces(segment: TranscriptSegment, maxMs: number, maxChars: number): CuePiece[] {
  const words = segment.words;
  const tooLong = segment.endMs - segment.startMs > maxMs || segment.text.length > maxChars;
  if (!tooLong || words === undefined || words.length < 2) {
    return [{ startMs: segment.startMs, endMs: segment.endMs, text: segment.text }];
  }
  const piece = (group: SttWord[]): CuePiece => ({
    startMs: group[0]?.startMs ?? segment.startMs,
    endMs: group.at(-1)?.endMs ?? segment.endMs,
    text: group.map((w) => w.text).join(" "),
  });
  const pieces: CuePiece[] = [];
  let current: SttWord[] = [];
  for (const word of words) {
    const first = current[0];
    const text = [...current, word].map((w) => w.text).join(" ");
    if (first !== undefined && (word.endMs - first.startMs > maxMs || text.length > maxChars)) {
      pieces.push(piece(current));
      current = [];
    }
    current.push(word);
  }
  if (current.length > 0) pieces.push(piece(current));
  return pieces;
}

/**
 * The WebVTT file: final, non-empty segments in order of start time, one cue per segment (or per piece of
 * a long one), the speaker as a voice span. Start times never decrease and every cue ends after it starts.
 */
export function toWebVtt(segments: readonly TranscriptSegment[], options: WebVttOptions = {}): string {
  const maxMs = options.maxCueMs ?? DEFAULT_MAX_CUE_MS;
  const maxChars = options.maxCueChars ?? DEFAULT_MAX_CUE_CHARS;
  const ordered = segments
    .filter((s) => s.final && s.text.trim() !== "")
    .toSorted((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  const blocks = ["WEBVTT"];
  let cueNumber = 0;
  let lastStart = 0;
  for (const segment of ordered) {
    for (const part of cuePieces(segment, maxMs, maxChars)) {
      const startMs = Math.max(lastStart, Math.round(part.startMs));
      const endMs = Math.max(startMs + 1, Math.round(part.endMs));
      lastStart = startMs;
      cueNumber++;
      blocks.push(
        `${cueNumber}\n${formatVttTime(startMs)} --> ${formatVttTime(endMs)}\n<v ${escapeVoice(segment.speaker.name)}>${escapeCueText(part.text)}</v>`,
      );
    }
  }
  return `${blocks.join("\n\n")}\n`;
}

export class WebVttParseError extends Error {
  override name = "WebVttParseError";
}

const TIMESTAMP = /^(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})$/;

function parseTimestamp(text: string, line: number): number {
  const match = TIMESTAMP.exec(text);
  if (match === null) throw new WebVttParseError(`line ${line}: bad timestamp "${text}"`);
  const [, hours = "0", minutes = "0", seconds = "0", millis = "0"] = match;
  return ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000 + Number(millis);
}

function decodeEntities(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&nbsp;/g, "\u00a0").replace(/&amp;/g, "&");
}

/**
 * Reads a WebVTT file strictly: the signature, blocks separated by blank lines, NOTE/STYLE/REGION blocks
 * skipped, each cue a timing line whose end is after its start. Throws WebVttParseError naming the line.
 */
export function parseWebVtt(source: string): WebVttCue[] {
  const lines = source.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/);
  const header = lines[0] ?? "";
  if (!/^WEBVTT(?:[ \t].*)?$/.test(header)) throw new WebVttParseError('line 1: the file does not start with "WEBVTT"');
  const cues: WebVttCue[] = [];
  let i = 1;
  // The header block runs to the first blank line.
  while (i < lines.length && lines[i] !== "") i++;
  while (i < lines.length) {
    if (lines[i] === "") {
      i++;
      continue;
    }
    const blockStart = i;
    const block: string[] = [];
    while (i < lines.length && lines[i] !== "") block.push(lines[i++] ?? "");
    const [first = ""] = block;
    if (/^(NOTE|STYLE|REGION)(?:[ \t]|$)/.test(first)) continue;
    const timingIndex = first.includes("-->") ? 0 : 1;
    const timing = block[timingIndex];
    const timingLine = blockStart + timingIndex + 1;
    if (timing === undefined || !timing.includes("-->")) throw new WebVttParseError(`line ${timingLine}: cue without a timing line`);
    const match = /^(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t].*)?$/.exec(timing);
    if (match === null) throw new WebVttParseError(`line ${timingLine}: bad timing line "${timing}"`);
    const startMs = parseTimestamp(match[1] ?? "", timingLine);
    const endMs = parseTimestamp(match[2] ?? "", timingLine);
    if (endMs <= startMs) throw new WebVttParseError(`line ${timingLine}: cue ends before it starts`);
    const payload = block.slice(timingIndex + 1).join("\n");
    if (payload.includes("-->")) throw new WebVttParseError(`line ${timingLine + 1}: "-->" inside a cue payload`);
    const voiceMatch = /^<v(?:\.[^ \t>]+)*[ \t]+([^>]*)>([\s\S]*?)(?:<\/v>)?$/.exec(payload);
    const cue: WebVttCue = {
      startMs,
      endMs,
      text: decodeEntities((voiceMatch?.[2] ?? payload).replace(/<[^>]*>/g, "")),
    };
    if (timingIndex === 1) cue.id = first;
    if (voiceMatch?.[1] !== undefined) cue.voice = decodeEntities(voiceMatch[1]);
    cues.push(cue);
  }
  return cues;
}
