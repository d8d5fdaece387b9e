// Reads the bridge's transcript thread back from a room's timeline, as a client would show it: the
// "Transcription started" root and one message per utterance, each with its latest edit applied.
import {
  TRANSCRIBER_NOTICE_KEY,
  TRANSCRIPT_KEY,
  TRANSCRIPT_LOST_MESSAGES_KEY,
  TRANSCRIPT_OUTAGE_KEY,
  TRANSCRIPT_SESSION_KEY,
  type RoomEvent,
  type TranscriptFields,
  type TranscriptSessionFields,
} from "../../config/wire-types.ts";
import { matrixRequest } from "./matrix-client.ts";

export interface ThreadMessage {
  eventId: string;
  sender: string;
  /** Body and fields after applying edits, in timeline order. */
  body: string;
  fields: TranscriptFields | undefined;
  /** Every version's fields: the first post's, then each edit's. */
  versions: (TranscriptFields | undefined)[];
}

export interface TranscriptThread {
  root: RoomEvent;
  session: TranscriptSessionFields | undefined;
  /** The utterances (every thread message but files). */
  messages: ThreadMessage[];
  /** m.file messages in the thread (the transcript files posted at the end). */
  files: RoomEvent[];
}

/** What was said, as a thread message carries it: its body without the "<speaker name>: " prefix. */
export function spokenText(message: Pick<ThreadMessage, "body" | "fields">): string {
  const prefix = `${message.fields?.speaker_name ?? ""}: `;
  return message.body.startsWith(prefix) ? message.body.slice(prefix.length) : message.body;
}

const relation = (event: RoomEvent): { rel_type?: string; event_id?: string } =>
  (event.content["m.relates_to"] as { rel_type?: string; event_id?: string } | undefined) ?? {};

const fieldsOf = (content: Record<string, unknown> | undefined): TranscriptFields | undefined =>
  content?.[TRANSCRIPT_KEY] as TranscriptFields | undefined;

/** The transcript thread under rootId (default: the newest one) among the room's last 500 events, or undefined if there is none. */
export async function readTranscriptThread(clientUrl: string, accessToken: string, roomId: string, rootId?: string): Promise<TranscriptThread | undefined> {
  const page = await matrixRequest<{ chunk: RoomEvent[] }>(
    clientUrl,
    accessToken,
    "GET",
    `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=500`,
  );
  const events = [...page.chunk].reverse().filter((e) => e.type === "m.room.message");
  const root = events.filter((e) => e.content[TRANSCRIPT_SESSION_KEY] !== undefined && (rootId === undefined || e.event_id === rootId)).at(-1);
  if (root === undefined) return undefined;
  const inThread = events.filter((e) => relation(e).rel_type === "m.thread" && relation(e).event_id === root.event_id);
  const messages = inThread
    // Utterances only: files and the notices about the engine or the transcriber are not.
    .filter((e) => e.content.msgtype !== "m.file" && e.content[TRANSCRIPT_OUTAGE_KEY] === undefined && e.content[TRANSCRIBER_NOTICE_KEY] === undefined && e.content[TRANSCRIPT_LOST_MESSAGES_KEY] === undefined)
    .map((first): ThreadMessage => {
      // Edits count only from the original sender, as clients apply them.
      const edits = events.filter((e) => relation(e).rel_type === "m.replace" && relation(e).event_id === first.event_id && e.sender === first.sender);
      const latest = edits.at(-1)?.content["m.new_content"] as Record<string, unknown> | undefined;
      return {
        eventId: first.event_id,
        sender: first.sender,
        body: String((latest ?? first.content).body),
        fields: fieldsOf(latest ?? first.content),
        versions: [fieldsOf(first.content), ...edits.map((e) => fieldsOf(e.content["m.new_content"] as Record<string, unknown> | undefined))],
      };
    });
  const files = inThread.filter((e) => e.content.msgtype === "m.file");
  return { root, session: root.content[TRANSCRIPT_SESSION_KEY] as TranscriptSessionFields | undefined, messages, files };
}
