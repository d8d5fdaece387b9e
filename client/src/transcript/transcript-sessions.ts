// A room's transcripts as the Transcript tab shows them: one session per "Transcription started"
// notice (the thread root the bridge posts under), one line per utterance with its latest edit. The
// sessions come from two places: every thread the server lists for the room (earlier calls included),
// and the timeline the client has loaded, which is newer while a call is transcribed; a line in both
// is taken from the timeline.
import { TRANSCRIPT_KEY, TRANSCRIPT_SESSION_KEY, type TranscriptFields, type TranscriptSessionFields } from "../../../config/wire-types.ts";
import type { TimelineItem } from "../timeline/timeline-model.ts";
import { matchWords, queryWords, type TextRange } from "./transcript-search.ts";

export interface TranscriptLine {
  eventId: string;
  /** The speaker's Matrix user ID where the bridge knew it. */
  speakerId: string;
  speakerName: string;
  /** What was said, without the "<speaker>: " prefix of the message body. */
  text: string;
  /** When the utterance was first posted (ms since the epoch). */
  ts: number;
  final: boolean;
}

export interface TranscriptSession {
  rootId: string;
  startedAt: number;
  language: string;
  /** Oldest first. */
  lines: TranscriptLine[];
}

/** A room event as the client-server API returns it. */
export interface ServerEvent {
  event_id: string;
  sender: string;
  type: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  unsigned?: Record<string, unknown>;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

function transcriptFields(content: Record<string, unknown>): TranscriptFields | undefined {
  const fields = content[TRANSCRIPT_KEY];
  return isObject(fields) && typeof fields.speaker === "string" ? (fields as unknown as TranscriptFields) : undefined;
}

/** The session fields of a thread root, or undefined when it roots no transcript. */
export function sessionFieldsOf(root: Pick<ServerEvent, "type" | "content">): TranscriptSessionFields | undefined {
  const fields = root.content[TRANSCRIPT_SESSION_KEY];
  return root.type === "m.room.message" && isObject(fields) ? (fields as unknown as TranscriptSessionFields) : undefined;
}

function spoken(body: string, speakerName: string): string {
  const prefix = `${speakerName}: `;
  return body.startsWith(prefix) ? body.slice(prefix.length) : body;
}

/** The content a reply shows: its latest edit's, when the server bundles one by the same sender. */
function latestContent(reply: ServerEvent): Record<string, unknown> {
  const relations = reply.unsigned?.["m.relations"];
  const edit = isObject(relations) ? relations["m.replace"] : undefined;
  if (!isObject(edit) || edit.sender !== reply.sender || !isObject(edit.content)) return reply.content;
  const replacement = edit.content["m.new_content"];
  return isObject(replacement) ? replacement : reply.content;
}

function lineOf(eventId: string, ts: number, body: unknown, fields: TranscriptFields | undefined): TranscriptLine | null {
  if (fields === undefined || typeof body !== "string") return null;
  const speakerName = typeof fields.speaker_name === "string" ? fields.speaker_name : fields.speaker;
  return { eventId, speakerId: fields.speaker, speakerName, text: spoken(body, speakerName), ts, final: fields.final === true };
}

/** A session from a thread as the server gives it (root, then its replies with bundled edits); null when it is no transcript. */
export function sessionFromThread(root: ServerEvent, replies: readonly ServerEvent[]): TranscriptSession | null {
  const session = sessionFieldsOf(root);
  if (session === undefined) return null;
  const lines: TranscriptLine[] = [];
  for (const reply of replies) {
    if (reply.type !== "m.room.message" || isObject(reply.unsigned?.redacted_because)) continue;
    const content = latestContent(reply);
    const line = lineOf(reply.event_id, reply.origin_server_ts, content.body, transcriptFields(content));
    if (line !== null) lines.push(line);
  }
  lines.sort((a, b) => a.ts - b.ts);
  return { rootId: root.event_id, startedAt: root.origin_server_ts, language: String(session.language ?? ""), lines };
}

/** A session from the loaded timeline's transcript thread (edits already applied). */
export function sessionFromTimeline(root: TimelineItem, replies: readonly TimelineItem[]): TranscriptSession {
  const lines = replies.flatMap((reply) => lineOf(reply.eventId, reply.ts, reply.body, reply.transcript) ?? []);
  return { rootId: root.eventId, startedAt: root.ts, language: root.transcriptSession?.language ?? "", lines };
}

/** Both sources together, newest session first, each line once (the timeline's when in both), oldest line first. */
export function mergeSessions(fromServer: readonly TranscriptSession[], fromTimeline: readonly TranscriptSession[]): TranscriptSession[] {
  const byRoot = new Map<string, TranscriptSession>();
  for (const session of [...fromServer, ...fromTimeline]) {
    const known = byRoot.get(session.rootId);
    if (known === undefined) {
      byRoot.set(session.rootId, { ...session, lines: [...session.lines] });
      continue;
    }
    const lines = new Map(known.lines.map((line) => [line.eventId, line]));
    for (const line of session.lines) lines.set(line.eventId, line);
    known.lines = [...lines.values()].sort((a, b) => a.ts - b.ts);
  }
  return [...byRoot.values()].sort((a, b) => b.startedAt - a.startedAt);
}

export interface TranscriptMatch {
  session: TranscriptSession;
  line: TranscriptLine;
  /** Where the query's words are in `line.text`. */
  ranges: TextRange[];
}

/** The lines having every word of the query, in the order the sessions are shown. */
export function searchSessions(sessions: readonly TranscriptSession[], query: string): TranscriptMatch[] {
  const words = queryWords(query);
  if (words.length === 0) return [];
  const matches: TranscriptMatch[] = [];
  for (const session of sessions) {
    for (const line of session.lines) {
      const ranges = matchWords(line.text, words);
      if (ranges !== null) matches.push({ session, line, ranges });
    }
  }
  return matches;
}
