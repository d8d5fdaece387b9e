// A call's audio to transcript segments and live subtitles: one pipeline per microphone track the call
// listener opens, each segment version sent back to the room as a subtitle while the room is joined
// and handed on (to the Matrix thread).
import type { SttEngine } from "../stt/engine.ts";
import type { EnergyVadOptions } from "../transcript/energy-vad.ts";
import type { TranscriptSegment } from "../transcript/segment.ts";
import type { ListenerEvent } from "./room-listener.ts";
import { speakerResolver, type ParticipantInfo, type SpeakerResolver } from "./speaker.ts";
import { SpeakerPipelines } from "./speaker-pipelines.ts";
import { SubtitlePublisher, type TextSender } from "./subtitle-publisher.ts";

export interface CallTranscriberOptions {
  engine: SttEngine;
  language?: string;
  vad?: Partial<EnergyVadOptions>;
  speakerOf?: SpeakerResolver;
  /** Transcript time now, in milliseconds since transcription started. */
  nowMs(): number;
  report(event: ListenerEvent): void;
  /** Each segment version, besides its subtitle (the Matrix thread). */
  onSegment(trackSid: string, segment: TranscriptSegment): void;
  /** Each utterance's outcome at once: decoded, or lost to an engine failure. */
  onUtterance?(trackSid: string, outcome: { ok: true } | { ok: false; error: Error }): void;
}

export class CallTranscriber {
  #options: CallTranscriberOptions;
  #pipelines: SpeakerPipelines;
  #publisher: SubtitlePublisher | undefined;
  #inRoom = false;
  #finishing = false;
  #closing = new Set<Promise<void>>();

  constructor(options: CallTranscriberOptions) {
    this.#options = options;
    this.#pipelines = new SpeakerPipelines({
      engine: options.engine,
      language: options.language,
      vad: options.vad,
      nowMs: options.nowMs,
      onSegment: (trackSid, segment) => this.#onSegment(trackSid, segment),
      onError: (trackSid, err) => options.report({ event: "error", message: `track ${trackSid}: ${err.message}` }),
      ...(options.onUtterance === undefined ? {} : { onUtterance: options.onUtterance }),
    });
  }

  /** The room is joined: subtitles go out through its participant from now on. */
  joined(sender: TextSender): void {
    const report = this.#options.report;
    this.#publisher = new SubtitlePublisher({
      sender,
      onError: (err) => report({ event: "error", message: `subtitle not sent: ${err.message}` }),
      onSent: (trackSid, segmentId, segment) =>
        report({ event: "subtitle", trackSid, segmentId, final: segment.final, startMs: Math.round(segment.startMs), endMs: Math.round(segment.endMs) }),
    });
    this.#inRoom = true;
  }

  /** The room is gone (the call ended): the last finals still go to the thread, not as subtitles. */
  left(): void {
    this.#inRoom = false;
  }

  trackOpened(trackSid: string, participant: ParticipantInfo): void {
    // A track published while the job ends is not listened to: nothing would finalise its utterance.
    if (this.#finishing || this.#pipelines.trackSids.includes(trackSid)) return;
    const speaker = (this.#options.speakerOf ?? speakerResolver())(participant);
    this.#pipelines.open(trackSid, speaker);
    this.#options.report({ event: "subscribed", trackSid, participant: participant.identity, speaker: speaker.id });
  }

  audio(trackSid: string, pcm: Int16Array): void {
    this.#pipelines.push(trackSid, pcm);
  }

  /** The track's utterance in progress still gets its final segment: what was said before leaving counts. */
  trackEnded(trackSid: string): void {
    if (!this.#pipelines.trackSids.includes(trackSid)) return;
    const closing = this.#pipelines.close(trackSid).then(() => this.#options.report({ event: "track-closed", trackSid }));
    this.#closing.add(closing);
    void closing.finally(() => this.#closing.delete(closing));
  }

  /** Every open utterance gets its final segment, and every subtitle is sent (while the room is joined). */
  async finish(): Promise<void> {
    this.#finishing = true;
    for (const trackSid of this.#pipelines.trackSids) this.trackEnded(trackSid);
    await Promise.all(this.#closing);
    await this.#publisher?.flush();
  }

  #onSegment(trackSid: string, segment: TranscriptSegment): void {
    if (this.#inRoom) void this.#publisher?.publish(trackSid, segment);
    this.#options.onSegment(trackSid, segment);
  }
}
