// The transcript as files in the room when transcription ends: WebVTT (for players and subtitle tools)
// and Markdown (for people), uploaded to the media repository and posted as m.file messages in the
// transcript's thread.
import type { TranscriptSegment } from "../transcript/segment.ts";
import { toMarkdown } from "../transcript/markdown.ts";
import { transcriptTexts } from "../transcript/transcript-texts.ts";
import { toWebVtt } from "../transcript/webvtt.ts";
import type { MatrixClient } from "./matrix-client.ts";
import { threadRelation } from "./transcript-poster.ts";

export interface TranscriptFilesOptions {
  roomId: string;
  threadRoot: string;
  /** The job's session id: txnIds derive from it, so a retried post is deduplicated. */
  sessionId: string;
  /** Milliseconds since the epoch: transcript time 0. */
  startedAt: number;
  /** The transcript's language: the files' names, heading and details are in it (French or English). */
  language: string;
  engine: string;
  /** The engine's model, where it names one. */
  model?: string;
  segments: readonly TranscriptSegment[];
  /** The Markdown's heading; "Transcript" (in the transcript's language) by default. */
  title?: string;
  /** Lines under the heading besides the start, language and engine. */
  details?: readonly string[];
}

export interface PostedFile {
  filename: string;
  mimetype: string;
  url: string;
  eventId: string;
  size: number;
}

/** `transcript-2026-11-28-0915Z` (`transcription-…` in French): sorts by date, no characters that file systems refuse. */
export function transcriptFileStem(startedAt: number, language: string): string {
  const iso = new Date(startedAt).toISOString();
  return `${transcriptTexts(language).fileStem}-${iso.slice(0, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}Z`;
}

export async function postTranscriptFiles(
  client: Pick<MatrixClient, "upload" | "sendEvent">,
  options: TranscriptFilesOptions,
): Promise<PostedFile[]> {
  const texts = transcriptTexts(options.language);
  const stem = transcriptFileStem(options.startedAt, options.language);
  const markdown = toMarkdown(options.segments, {
    title: options.title ?? texts.title,
    details: [
      texts.started(new Date(options.startedAt).toISOString()),
      ...(options.details ?? []),
      texts.language(options.language),
      texts.engine(options.engine),
      ...(options.model === undefined ? [] : [texts.model(options.model)]),
    ],
    noSpeech: texts.noSpeech,
  });
  const files = [
    { filename: `${stem}.vtt`, mimetype: "text/vtt", text: toWebVtt(options.segments), kind: "vtt" },
    { filename: `${stem}.md`, mimetype: "text/markdown", text: markdown, kind: "md" },
  ];
  const posted: PostedFile[] = [];
  for (const file of files) {
    const data = new TextEncoder().encode(file.text);
    const url = await client.upload(data, `${file.mimetype}; charset=utf-8`, file.filename);
    const content = {
      msgtype: "m.file",
      body: file.filename,
      filename: file.filename,
      url,
      info: { mimetype: file.mimetype, size: data.byteLength },
      "m.relates_to": threadRelation(options.threadRoot),
    };
    const eventId = await client.sendEvent(options.roomId, "m.room.message", content, `visio-transcript.${options.sessionId}.file.${file.kind}`);
    posted.push({ filename: file.filename, mimetype: file.mimetype, url, eventId, size: data.byteLength });
  }
  return posted;
}
