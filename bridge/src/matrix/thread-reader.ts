// What an earlier run of a room's transcription left in its thread, read back through the relations
// API when a job starts (a restarted worker, or a job dispatched again): the bridge's utterance messages
// with their latest edit (Synapse bundles it under unsigned["m.relations"]["m.replace"]), as segments.
// Final ones are kept as they are and go into the transcript files; unfinished ones are finalised.
import { TRANSCRIPT_KEY, type RoomEvent, type TranscriptFields } from "../../../config/wire-types.ts";
import type { TranscriptSegment } from "../transcript/segment.ts";
import type { MatrixClient } from "./matrix-client.ts";

export interface EarlierMessage {
  eventId: string;
  segment: TranscriptSegment;
}

export interface EarlierTranscript {
  /** Utterances whose latest version is final, in order of start. */
  finals: TranscriptSegment[];
  /** Utterances left with an interim version (their run ended mid-utterance). */
  unfinished: EarlierMessage[];
}

interface RelationsPage {
  chunk?: RoomEvent[];
  next_batch?: string;
}

const PAGE_LIMIT = 100;
// A day of meeting at one utterance every few seconds; a runaway thread cannot keep a job from starting.
const MAX_PAGES = 200;

function fieldsOf(content: unknown): TranscriptFields | undefined {
  if (typeof content !== "object" || content === null) return undefined;
  const fields = (content as Record<string, unknown>)[TRANSCRIPT_KEY];
  if (typeof fields !== "object" || fields === null) return undefined;
  const f = fields as Record<string, unknown>;
  const ok =
    typeof f.speaker === "string" &&
    typeof f.speaker_name === "string" &&
    typeof f.start_ms === "number" &&
    typeof f.end_ms === "number" &&
    typeof f.language === "string" &&
    typeof f.engine === "string" &&
    typeof f.final === "boolean";
  return ok ? (f as unknown as TranscriptFields) : undefined;
}

/** The latest content of a message: its bundled edit's m.new_content, else its own. */
function latestContent(event: RoomEvent & { unsigned?: Record<string, unknown> }): Record<string, unknown> {
  const relations = event.unsigned?.["m.relations"] as Record<string, unknown> | undefined;
  const edit = relations?.["m.replace"] as { sender?: unknown; content?: Record<string, unknown> } | undefined;
  const replacement = edit?.content?.["m.new_content"];
  if (edit?.sender === event.sender && typeof replacement === "object" && replacement !== null) return replacement as Record<string, unknown>;
  return event.content;
}

/** Reads the thread under threadRoot; only messages sent by the bridge's user count. */
export async function readEarlierTranscript(
  client: Pick<MatrixClient, "request">,
  roomId: string,
  threadRoot: string,
  bridgeUserId: string,
): Promise<EarlierTranscript> {
  const finals: TranscriptSegment[] = [];
  const unfinished: EarlierMessage[] = [];
  let from: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const answer = await client.request<RelationsPage>({
      method: "GET",
      path: ["_matrix", "client", "v1", "rooms", roomId, "relations", threadRoot, "m.thread"],
      query: { limit: String(PAGE_LIMIT), dir: "f", from },
    });
    for (const event of answer.chunk ?? []) {
      if (event.type !== "m.room.message" || event.sender !== bridgeUserId) continue;
      const content = latestContent(event);
      const fields = fieldsOf(content);
      if (fields === undefined) continue;
      const body = typeof content.body === "string" ? content.body : "";
      const prefix = `${fields.speaker_name}: `;
      const segment: TranscriptSegment = {
        id: event.event_id,
        speaker: { id: fields.speaker, name: fields.speaker_name },
        startMs: fields.start_ms,
        endMs: fields.end_ms,
        text: body.startsWith(prefix) ? body.slice(prefix.length) : body,
        language: fields.language,
        engine: fields.engine,
        final: fields.final,
      };
      if (fields.final) finals.push(segment);
      else unfinished.push({ eventId: event.event_id, segment });
    }
    from = answer.next_batch;
    if (from === undefined) break;
  }
  finals.sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
  return { finals, unfinished };
}
