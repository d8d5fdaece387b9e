// Transcript segments to the Matrix timeline: under the "Transcription started" notice that the
// appservice posts (the thread root, named in the job), each utterance is one notice in the thread,
// and the utterance's later versions (interim, then final) are `m.replace` edits of that notice, so the
// timeline holds one message per utterance. Live subtitles carry every interim version; the timeline
// takes at most one interim edit per interval (each edit is an event that the homeserver stores and
// sends to every ministry in the meeting), and always the final version.
import { TRANSCRIPT_KEY, type TranscriptFields } from "../../../config/wire-types.ts";
import type { TranscriptSegment } from "../transcript/segment.ts";

/** The one capability needed from a Matrix client: send a room event, idempotent per txnId. */
export interface MatrixEventSender {
  sendEvent(roomId: string, type: string, content: Record<string, unknown>, txnId: string): Promise<string>;
}

export interface TranscriptPosterOptions {
  sender: MatrixEventSender;
  roomId: string;
  /** Event ID of the "Transcription started" notice. */
  threadRoot: string;
  /** Unique per job: txnIds derive from it, so a restarted job never collides with an earlier one. */
  sessionId: string;
  /** A post failed: the timeline is best effort, transcription goes on. */
  onError(err: Error): void;
  onPosted?(eventId: string, segment: TranscriptSegment): void;
  /** Interim versions of an utterance closer than this to its last posted version are left out (default 2,000 ms). */
  interimEditIntervalMs?: number;
  /** Milliseconds, monotonic; for tests. */
  now?: () => number;
}

const DEFAULT_INTERIM_EDIT_INTERVAL_MS = 2000;

interface Posted {
  /** Local number of the utterance: txnIds must not carry the speaker's name. */
  n: number;
  versions: number;
  eventId: string | undefined;
  /** When its last version was queued. */
  lastPostedAt: number;
}

export class TranscriptPoster {
  #options: TranscriptPosterOptions;
  #posted = new Map<string, Posted>();
  #count = 0;
  // Chained so that an edit is never sent before the message it edits.
  #queue: Promise<void> = Promise.resolve();

  constructor(options: TranscriptPosterOptions) {
    this.#options = options;
  }

  /** Queues this version of the segment; resolves once it is sent (or failed). */
  post(trackSid: string, segment: TranscriptSegment): Promise<void> {
    const key = `${trackSid}\n${segment.id}`;
    let posted = this.#posted.get(key);
    const now = (this.#options.now ?? performance.now.bind(performance))();
    if (posted === undefined) {
      this.#count += 1;
      posted = { n: this.#count, versions: 0, eventId: undefined, lastPostedAt: now };
      this.#posted.set(key, posted);
    } else if (!segment.final && now - posted.lastPostedAt < (this.#options.interimEditIntervalMs ?? DEFAULT_INTERIM_EDIT_INTERVAL_MS)) {
      // A newer interim or the final version follows: this one stays on the live subtitles only.
      return this.#queue;
    }
    posted.lastPostedAt = now;
    if (segment.final) this.#posted.delete(key);
    posted.versions += 1;
    const entry = posted;
    const txnId = this.#txnId(`${entry.n}.${entry.versions}`);
    const sent = this.#queue.then(async () => {
      try {
        const root = this.#options.threadRoot;
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

  /**
   * Makes a message that an earlier run left unfinished final, as it stands: the audio behind it went with
   * that run, and readers must not see it as still in progress.
   */
  finalise(eventId: string, segment: TranscriptSegment): Promise<void> {
    this.#count += 1;
    const txnId = this.#txnId(`${this.#count}.final`);
    const sent = this.#queue.then(async () => {
      try {
        const id = await this.#send("m.room.message", this.#editContent(eventId, { ...segment, final: true }), txnId);
        this.#options.onPosted?.(id, { ...segment, final: true });
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

  #threadContent(root: string, segment: TranscriptSegment): Record<string, unknown> {
    return {
      ...messageContent(segment),
      "m.relates_to": threadRelation(root),
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

/** A message's place in the thread under root. */
export function threadRelation(root: string): Record<string, unknown> {
  // is_falling_back: clients without threads show a reply to the root rather than a plain message.
  return { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } };
}

/** The body of an utterance's message: its speaker, then what was said (transcriptFromThread strips the prefix). */
export function messageBody(speakerName: string, text: string): string {
  return `${speakerName}: ${text}`;
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
  return { msgtype: "m.notice", body: messageBody(segment.speaker.name, segment.text), [TRANSCRIPT_KEY]: fields };
}
