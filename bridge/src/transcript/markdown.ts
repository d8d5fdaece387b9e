// The transcript as Markdown, for people: who said what and when, one paragraph per utterance.
import type { TranscriptSegment } from "./segment.ts";

export interface MarkdownTranscriptInfo {
  title: string;
  /** Lines shown under the title, e.g. "Source: meeting.ogg". */
  details: string[];
  /** What stands in for the transcript when nothing was recognised, in the transcript's language. */
  noSpeech: string;
}

/** [hh:]mm:ss from transcript start, as readers refer to a moment of a meeting. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = String(Math.floor((total % 3600) / 60)).padStart(2, "0");
  const seconds = String(total % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${minutes}:${seconds}` : `${minutes}:${seconds}`;
}

/** Speech is not Markdown: characters that would format or link are escaped. */
function escapeMarkdown(text: string): string {
  return text.replace(/([\\`*_{}[\]<>()#+!|~])/g, "\\$1").replace(/^(\s*)([-=]|\d+\.)/, "$1\\$2");
}

export function toMarkdown(segments: readonly TranscriptSegment[], info: MarkdownTranscriptInfo): string {
  const lines = [`# ${escapeMarkdown(info.title)}`, ""];
  for (const detail of info.details) lines.push(`- ${escapeMarkdown(detail)}`);
  if (info.details.length > 0) lines.push("");
  const ordered = segments
    .filter((s) => s.final && s.text.trim() !== "")
    .toSorted((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  if (ordered.length === 0) lines.push(`_${escapeMarkdown(info.noSpeech)}_`, "");
  for (const segment of ordered) {
    lines.push(`**${escapeMarkdown(segment.speaker.name)}** (${formatClock(segment.startMs)}): ${escapeMarkdown(segment.text.trim())}`, "");
  }
  return lines.join("\n");
}
