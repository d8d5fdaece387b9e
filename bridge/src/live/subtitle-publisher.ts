// Transcript segments to live subtitles: each version of a segment (interim ones, then the final one)
// goes out as its own `lk.transcription` text stream, as LiveKit's agents do, so that clients replace
// the text of a segment id until the final version arrives.
import { SUBTITLE_ATTRIBUTES, SUBTITLE_TOPIC } from "../../../config/wire-types.ts";
import type { TranscriptSegment } from "../transcript/segment.ts";

/** The one capability needed from the LiveKit participant (LocalParticipant.sendText). */
export interface TextSender {
  sendText(text: string, options: { topic: string; attributes: Record<string, string> }): Promise<unknown>;
}

export interface SubtitlePublisherOptions {
  sender: TextSender;
  /** A send failed: subtitles are best effort, the transcription goes on. */
  onError(err: Error, segment: TranscriptSegment): void;
  /** A subtitle went out (for logs and latency measurements). */
  onSent?(trackSid: string, segmentId: string, segment: TranscriptSegment): void;
}

export class SubtitlePublisher {
  #options: SubtitlePublisherOptions;
  // Segment ids only need to be unique within the room; the transcriber's ids hold the speaker's name,
  // which has no business in a wire identifier.
  #ids = new Map<string, string>();
  #count = 0;
  // Sends are chained so that a segment's final version never overtakes its interim ones.
  #queue: Promise<void> = Promise.resolve();

  constructor(options: SubtitlePublisherOptions) {
    this.#options = options;
  }

  /** Queues the subtitle for this version of the segment; resolves once it is sent (or failed). */
  publish(trackSid: string, segment: TranscriptSegment): Promise<void> {
    const key = `${trackSid}\n${segment.id}`;
    let segmentId = this.#ids.get(key);
    if (segmentId === undefined) {
      this.#count += 1;
      segmentId = `SG_${trackSid}_${this.#count}`;
      this.#ids.set(key, segmentId);
    }
    if (segment.final) this.#ids.delete(key);
    const id = segmentId;
    const attributes = {
      [SUBTITLE_ATTRIBUTES.trackId]: trackSid,
      [SUBTITLE_ATTRIBUTES.segmentId]: id,
      [SUBTITLE_ATTRIBUTES.final]: segment.final ? "true" : "false",
    };
    const sent = this.#queue.then(async () => {
      try {
        await this.#options.sender.sendText(segment.text, { topic: SUBTITLE_TOPIC, attributes });
        this.#options.onSent?.(trackSid, id, segment);
      } catch (err) {
        this.#options.onError(err instanceof Error ? err : new Error(String(err)), segment);
      }
    });
    this.#queue = sent;
    return sent;
  }

  /** Resolves once every queued subtitle is sent. */
  flush(): Promise<void> {
    return this.#queue;
  }
}
