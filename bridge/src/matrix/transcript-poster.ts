// Transcript segments to the Matrix timeline: a "Transcription started" notice is the thread root, each
// utterance is one notice in its thread, and the utterance's later versions (interim, then final) are
// `m.replace` edits of that notice, so the timeline holds one message per utterance.
import type { TranscriptFields, TranscriptSessionFields } from "../../../wire-types.ts";
import type { TranscriptSegment } from "../transcript/segment.ts";

export const TRANSCRIPT_KEY = "org.visio.transcript";
export const TRANSCRIPT_SESSION_KEY = "org.visio.transcript.session";

/** The one capability needed from a Matrix client: send a room event, idempotent per txnId. */
export interface MatrixEventSender {
  sendEvent(roomId: string, type: string, content: Record<string, unknown>, txnId: string): Promise<string>;
}

export interface TranscriptPosterOptions {
  sender: MatrixEventSender;
  roomId: string;
  /** Unique per transcription run: txnIds derive from it, so a new run never collides with an old one. */
  sessionId: string;
  session: TranscriptSessionFields;
  /** A post failed: the timeline is best effort, transcription goes on. */
  onError(err: Error): void;
  onPosted?(eventId: string, segment: TranscriptSegment): void;
}

interface Posted {
  /** Local number of the utterance: txnIds must not carry the speaker's name. */
  n: number;
  versions: number;
  eventId: string | undefined;
}

export class TranscriptPoster {
  #options: TranscriptPosterOptions;
  #root: Promise<string | undefined> | undefined;
  #posted = new Map<string, Posted>();
  #count = 0;
  // Chained so that an edit is never sent before the message it edits.
  #queue: Promise<void> = Promise.resolve();

  constructor(options: TranscriptPosterOptions) {
    this.#options = options;
  }

  /** Posts the thread root; resolves to its event id, undefined if it could not be sent. */
  start(): Promise<string | undefined> {
    this.#root ??= this.#send("m.room.message", this.#rootContent(), this.#txnId("root")).catch((err: unknown) => {
      this.#fail(err);
      return undefined;
    });
    return this.#root;
  }

  /** Queues this version of the segment; resolves once it is sent (or failed). */
  post(trackSid: string, segment: TranscriptSegment): Promise<void> {
    const key = `${trackSid}\n${segment.id}`;
    let posted = this.#posted.get(key);
    if (posted === undefined) {
      this.#count += 1;
      posted = { n: this.#count, versions: 0, eventId: undefined };
      this.#posted.set(key, posted);
    }
    if (segment.final) this.#posted.delete(key);
    posted.versions += 1;
    const entry = posted;
    const txnId = this.#txnId(`${entry.n}.${entry.versions}`);
    const sent = this.#queue.then(async () => {
      try {
        const root = await this.start();
        if (root === undefined) throw new Error("no thread root: the transcription-started notice was not sent");
        // A first version that failed leaves nothing to edit: the next version is posted as new.
        const content = entry.eventId === undefined ? this.#threadContent(root, segment) : this.#editContent(entry.eventId, segment);
        const eventId = await this.#send("m.room.message", content, txnId);
        entry.eventId ??= eventId;
        this.#options.onPosted?.(eventId, segment);
      } catch (err) {
        this.#fail(err);
      }
    });
    this.#queue = sent;
    return sent;
  }

  /** Resolves once every queued post is sent. */
  flush(): Promise<void> {
    return this.#queue;
  }

  #txnId(suffix: string): string {
    return `visio-transcript.${this.#options.sessionId}.${suffix}`;
  }

  #send(type: string, content: Record<string, unknown>, txnId: string): Promise<string> {
    return this.#options.sender.sendEvent(this.#options.roomId, type, content, txnId);
  }

  #fail(err: unknown): void {
    this.#options.onError(err instanceof Error ? err : new Error(String(err)));
  }

  #rootContent(): Record<string, unknown> {
    return { msgtype: "m.notice", body: "Transcription started", [TRANSCRIPT_SESSION_KEY]: this.#options.session };
  }

  #threadContent(root: string, segment: TranscriptSegment): Record<string, unknown> {
    return {
      ...messageContent(segment),
      // is_falling_back: clients without threads show a reply to the root rather than a plain message.
      "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } },
    };
  }

  #editContent(original: string, segment: TranscriptSegment): Record<string, unknown> {
    const replacement = messageContent(segment);
    return {
      ...replacement,
      body: `* ${String(replacement.body)}`,
      "m.new_content": replacement,
      "m.relates_to": { rel_type: "m.replace", event_id: original },
    };
  }
}

function messageContent(segment: TranscriptSegment): Record<string, unknown> {
  const fields: TranscriptFields = {
    speaker: segment.speaker.id,
    speaker_name: segment.speaker.name,
    start_ms: Math.round(segment.startMs),
    end_ms: Math.round(segment.endMs),
    language: segment.language,
    engine: segment.engine,
    final: segment.final,
  };
  return { msgtype: "m.notice", body: `${segment.speaker.name}: ${segment.text}`, [TRANSCRIPT_KEY]: fields };
}
