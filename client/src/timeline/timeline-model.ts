// Turns a room's raw events into what the interface shows: edits (m.replace) applied to the event
// they replace, thread replies (m.thread) grouped under their root, state noise left out. Pure, so
// the rules are unit tested without a homeserver. Transcripts need all of it: the bridge posts a
// "Transcription started" notice, then one thread message per utterance, edited until final.
import { BOT_MEMBER_KEY, TRANSCRIPT_KEY, TRANSCRIPT_SESSION_KEY, type TranscriptFields, type TranscriptSessionFields } from "../../../config/wire-types.ts";
import { botNoticeOf, type BotNotice } from "./bot-notices.ts";

export interface RawEvent {
  eventId: string;
  type: string;
  sender: string;
  ts: number;
  content: Record<string, unknown>;
  stateKey?: string;
  /** The membership before this m.room.member event, when known. */
  prevMembership?: string;
  redacted?: boolean;
}

export type ItemKind = "text" | "notice" | "emote" | "joined" | "left";

export interface TimelineItem {
  eventId: string;
  sender: string;
  ts: number;
  kind: ItemKind;
  body: string;
  /** Set when an edit replaced the original body. */
  edited: boolean;
  /** Replies in this event's thread (0 when it roots none). */
  threadSize: number;
  transcript?: TranscriptFields;
  /** Present on a "Transcription started" notice, the root of a transcript thread. */
  transcriptSession?: TranscriptSessionFields;
  /** A bot's notice that the viewer reads in their own language, from its fields. */
  notice?: BotNotice;
}

export interface TimelineModel {
  /** Events shown in the room's main timeline, oldest first. */
  main: TimelineItem[];
  /** Thread replies by root event ID, oldest first. */
  threads: ReadonlyMap<string, TimelineItem[]>;
}

interface Relation {
  relType: string;
  eventId: string;
}

function relationOf(content: Record<string, unknown>): Relation | undefined {
  const relates = content["m.relates_to"];
  if (typeof relates !== "object" || relates === null) return undefined;
  const { rel_type: relType, event_id: eventId } = relates as { rel_type?: unknown; event_id?: unknown };
  if (typeof relType !== "string" || typeof eventId !== "string") return undefined;
  return { relType, eventId };
}

function objectAt<T>(content: Record<string, unknown>, key: string): T | undefined {
  const value = content[key];
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as T) : undefined;
}

function messageKind(msgtype: unknown): ItemKind {
  if (msgtype === "m.notice") return "notice";
  if (msgtype === "m.emote") return "emote";
  return "text";
}

function transcriptSessionOf(content: Record<string, unknown>): TranscriptSessionFields | undefined {
  return objectAt<TranscriptSessionFields>(content, TRANSCRIPT_SESSION_KEY);
}

function transcriptOf(content: Record<string, unknown>): TranscriptFields | undefined {
  const transcript = objectAt<TranscriptFields>(content, TRANSCRIPT_KEY);
  return transcript !== undefined && typeof transcript.speaker === "string" ? transcript : undefined;
}

function itemFromMessage(event: RawEvent, content: Record<string, unknown>): TimelineItem {
  const item: TimelineItem = {
    eventId: event.eventId,
    sender: event.sender,
    ts: event.ts,
    kind: messageKind(content.msgtype),
    body: typeof content.body === "string" ? content.body : "",
    edited: false,
    threadSize: 0,
  };
  const transcript = transcriptOf(content);
  if (transcript !== undefined) item.transcript = transcript;
  const session = transcriptSessionOf(content);
  if (session !== undefined) item.transcriptSession = session;
  const notice = botNoticeOf(content);
  if (notice !== undefined) item.notice = notice;
  return item;
}

function membershipItem(event: RawEvent): TimelineItem | undefined {
  const membership = event.content.membership;
  const subject = event.stateKey ?? event.sender;
  let kind: ItemKind | undefined;
  if (membership === "join" && event.prevMembership !== "join") kind = "joined";
  else if (membership === "leave" && event.prevMembership === "join") kind = "left";
  if (kind === undefined) return undefined;
  return { eventId: event.eventId, sender: subject, ts: event.ts, kind, body: "", edited: false, threadSize: 0 };
}

export interface TimelineOptions {
  /**
   * The room's bots (their current membership says so): their joins and leaves are the meeting's
   * plumbing, not people coming and going, and are left out. A membership event carrying the flag
   * itself is left out too.
   */
  bots?: ReadonlySet<string>;
}

export function buildTimeline(events: readonly RawEvent[], options: TimelineOptions = {}): TimelineModel {
  const items = new Map<string, TimelineItem>();
  const main: TimelineItem[] = [];
  const threads = new Map<string, TimelineItem[]>();
  // Edits per target, in order; applied after the pass, once every target's sender is known.
  const edits = new Map<string, RawEvent[]>();

  for (const event of events) {
    if (event.redacted === true) continue;
    if (event.type === "m.room.member") {
      if (event.content[BOT_MEMBER_KEY] === true || options.bots?.has(event.stateKey ?? event.sender) === true) continue;
      const item = membershipItem(event);
      if (item !== undefined) main.push(item);
      continue;
    }
    if (event.type !== "m.room.message") continue;
    const relation = relationOf(event.content);
    if (relation?.relType === "m.replace") {
      edits.set(relation.eventId, [...(edits.get(relation.eventId) ?? []), event]);
      continue;
    }
    const item = itemFromMessage(event, event.content);
    items.set(item.eventId, item);
    if (relation?.relType === "m.thread") {
      const replies = threads.get(relation.eventId) ?? [];
      replies.push(item);
      threads.set(relation.eventId, replies);
    } else {
      main.push(item);
    }
  }

  for (const [targetId, candidates] of edits) {
    const item = items.get(targetId);
    // Only the original sender may edit (as the spec requires clients to check); the latest wins.
    const edit = candidates.filter((candidate) => candidate.sender === item?.sender).at(-1);
    if (item === undefined || edit === undefined) continue;
    const newContent = objectAt<Record<string, unknown>>(edit.content, "m.new_content") ?? edit.content;
    const edited = itemFromMessage({ ...edit, eventId: item.eventId, ts: item.ts }, newContent);
    item.body = edited.body;
    item.kind = edited.kind;
    item.edited = true;
    if (edited.transcript !== undefined) item.transcript = edited.transcript;
  }

  for (const [rootId, replies] of threads) {
    const root = items.get(rootId);
    if (root !== undefined) root.threadSize = replies.length;
  }
  return { main, threads };
}

/** The transcript threads of a room: roots carrying transcript session fields, newest last. */
export function transcriptThreads(model: TimelineModel): { root: TimelineItem; replies: TimelineItem[] }[] {
  return model.main
    .filter((item) => item.transcriptSession !== undefined)
    .map((root) => ({ root, replies: model.threads.get(root.eventId) ?? [] }));
}

/** The ministry of a Matrix user: the server part of its ID. */
export function ministryOf(userId: string): string {
  const colon = userId.indexOf(":");
  return colon === -1 ? "" : userId.slice(colon + 1);
}
