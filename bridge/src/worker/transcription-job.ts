// One call's transcription: the job a worker runs for one dispatch. It joins the Matrix room as the
// bridge's user, reads back what an earlier run left in the thread (finals kept as they are, unfinished
// ones finalised), joins the LiveKit room with the job's token, and posts subtitles and thread messages
// until it is told to stop (TranscriptionControlMessage from the server API), the call ends (the room is
// closed), or the worker shuts down. When transcription ends (stop, call ended, job terminated), open
// utterances are finalised and the transcript files go into the thread; a worker shutting down only
// finalises, since the job is dispatched again and the next run goes on in the same thread.
import { randomUUID } from "node:crypto";
import { DisconnectReason } from "@livekit/rtc-node";
import type { TranscriptionJobMetadata } from "../../../config/wire-types.ts";
import { CallTranscriber } from "../live/call-transcriber.ts";
import type { CallListener, ListenerEvent } from "../live/room-listener.ts";
import { speakerResolver, matrixUserOf } from "../live/speaker.ts";
import type { MatrixClient } from "../matrix/matrix-client.ts";
import { EngineOutageNotices } from "../matrix/engine-outage-notices.ts";
import { LostMessagesNotice } from "../matrix/lost-messages-notice.ts";
import { SpeakerNames } from "../matrix/speaker-names.ts";
import { readEarlierTranscript } from "../matrix/thread-reader.ts";
import { postTranscriptFiles } from "../matrix/transcript-files.ts";
import type { TranscriptPoster, TranscriptPosterOptions } from "../matrix/transcript-poster.ts";
import { SttEngineNotReadyError, type SttEngine } from "../stt/engine.ts";
import type { VadSettings } from "../transcript/vad.ts";
import type { TranscriptSegment } from "../transcript/segment.ts";
import { refuseLanguage } from "./language-refusal.ts";
import { readControlMessage } from "./control-message.ts";

/**
 * Why a job ended. "stopped", "call-ended" and "terminated" end the transcription (files are posted);
 * "shutdown" (the worker goes down), "left" (disconnected for another reason) and "withdrawn" (the job
 * was terminated before it joined the call: its dispatch was replaced) do not. "refused": no model of
 * this worker covers the meeting's language; the thread says so and the appservice stops it.
 */
export type JobEnd = "stopped" | "call-ended" | "terminated" | "shutdown" | "left" | "withdrawn" | "refused";

const ENDS_TRANSCRIPTION: readonly JobEnd[] = ["stopped", "call-ended", "terminated"];

export type JobEvent =
  | ListenerEvent
  | { event: "resumed"; finals: number; unfinished: number }
  | { event: "control-ignored"; reason: string }
  | { event: "files-posted"; files: { filename: string; url: string; eventId: string }[] }
  | { event: "engine-outage"; state: "interrupted" | "resumed"; lost: number }
  | { event: "refused"; language: string; reason: string }
  | { event: "ending"; reason: JobEnd };

export interface TranscriptionJobOptions {
  metadata: TranscriptionJobMetadata;
  /** LiveKit server URL and the job's token (from the JobAssignment). */
  url: string;
  token: string;
  vad?: VadSettings;
  /** The bridge's Matrix user: only its messages in the thread are transcript. */
  bridgeUserId: string;
  report(event: JobEvent): void;
  /** Milliseconds since the epoch (Date.now in production): transcript times count from metadata.started_at. */
  now?(): number;
}

/** The thread messages of the job's utterances (TranscriptPoster; a fake in unit tests). */
export type TranscriptSink = Pick<TranscriptPoster, "post" | "finalise" | "flush">;

/** What a job works with, given to it: the engine, the bridge's Matrix user, its call and its thread. */
export interface TranscriptionJobDeps {
  engine: SttEngine;
  matrix: Pick<MatrixClient, "request" | "sendEvent" | "upload" | "joinRoom">;
  /** The job's presence in the LiveKit room, joined with the job's token. */
  listener: CallListener;
  /** The thread's poster, for the run's session (its transaction IDs) and its error and posted handlers. */
  poster(options: TranscriptPosterOptions): TranscriptSink;
}

// The call ended: LiveKit closed or deleted the room. Other disconnections (a kick, a lost connection the
// SDK gave up on) end this job without ending the transcription.
const CALL_ENDED: readonly DisconnectReason[] = [DisconnectReason.ROOM_DELETED, DisconnectReason.ROOM_CLOSED];

export class TranscriptionJob {
  #options: TranscriptionJobOptions;
  #deps: TranscriptionJobDeps;
  #end: Promise<JobEnd>;
  #finish!: (end: JobEnd) => void;
  #ended = false;
  #joined = false;

  constructor(options: TranscriptionJobOptions, deps: TranscriptionJobDeps) {
    this.#options = options;
    this.#deps = deps;
    this.#end = new Promise((resolve) => {
      this.#finish = (end) => {
        if (this.#ended) return;
        this.#ended = true;
        resolve(end);
      };
    });
  }

  /**
   * The transcription ends: finalise, post the files, leave. LiveKit terminates a job when its dispatch
   * is deleted, with the room (the call ended) or by the appservice; a job terminated before it joined
   * the call never listened, and its dispatch was replaced: it only goes away.
   */
  stop(reason: "stopped" | "terminated" = "stopped"): void {
    this.#finish(reason === "terminated" && !this.#joined ? "withdrawn" : reason);
  }

  /** The worker goes down: finalise what was heard and leave; the transcription goes on elsewhere. */
  shutdown(): void {
    this.#finish("shutdown");
  }

  /** Runs the job to its end; rejects when it could not start (Matrix room or LiveKit room unreachable). */
  async run(): Promise<JobEnd> {
    const { metadata, report } = this.#options;
    const { matrix, engine, listener } = this.#deps;
    const now = this.#options.now ?? Date.now;
    const roomId = metadata.room_id;
    await matrix.joinRoom(roomId);
    let model: string;
    try {
      model = engine.modelFor(metadata.language);
    } catch (err) {
      if (!(err instanceof SttEngineNotReadyError)) throw err;
      await refuseLanguage(matrix, metadata, this.#options.bridgeUserId, err.message);
      report({ event: "refused", language: metadata.language, reason: err.message });
      report({ event: "ending", reason: "refused" });
      return "refused";
    }
    const names = new SpeakerNames(matrix, roomId);
    // Names are a nicety: speakers are named by their user ID until they can be read.
    await names.load().catch(() => undefined);
    const earlier = await readEarlierTranscript(matrix, roomId, metadata.thread_root, this.#options.bridgeUserId);
    if (earlier.finals.length > 0 || earlier.unfinished.length > 0) {
      report({ event: "resumed", finals: earlier.finals.length, unfinished: earlier.unfinished.length });
    }
    const sessionId = randomUUID();
    const lost = new LostMessagesNotice({
      sender: matrix,
      roomId,
      threadRoot: metadata.thread_root,
      sessionId,
      language: metadata.language,
      onError: (err) => report({ event: "error", message: `lost messages notice not sent: ${err.message}` }),
    });
    const poster = this.#deps.poster({
      sender: matrix,
      roomId,
      threadRoot: metadata.thread_root,
      sessionId,
      onError: (err) => {
        lost.failed(err);
        report({ event: "error", message: `transcript message not sent: ${err.message}` });
      },
      onPosted: (eventId, segment) => {
        lost.posted();
        report({ event: "posted", eventId, final: segment.final, speaker: segment.speaker.id, startMs: Math.round(segment.startMs), endMs: Math.round(segment.endMs) });
      },
    });
    const outages = new EngineOutageNotices({
      sender: matrix,
      roomId,
      threadRoot: metadata.thread_root,
      sessionId,
      engineName: engine.name,
      language: metadata.language,
      onError: (err) => report({ event: "error", message: `engine notice not sent: ${err.message}` }),
      onNotice: (state, lost) => report({ event: "engine-outage", state, lost }),
    });
    const finals: TranscriptSegment[] = [...earlier.finals];
    for (const { eventId, segment } of earlier.unfinished) {
      void poster.finalise(eventId, segment);
      finals.push({ ...segment, final: true });
    }
    const transcriber = new CallTranscriber({
      engine,
      // Engines with a fixed model label segments with its language; others are told the requested one.
      language: engine.language === undefined && metadata.language !== "und" ? metadata.language : undefined,
      vad: this.#options.vad,
      nowMs: () => now() - metadata.started_at,
      speakerOf: speakerResolver((userId) => names.nameOf(userId)),
      report,
      onSegment: (trackSid, segment) => {
        void poster.post(trackSid, segment);
        if (segment.final) finals.push(segment);
      },
      onUtterance: (_trackSid, outcome) => (outcome.ok ? outages.succeeded() : outages.failed(outcome.error)),
    });
    if (this.#ended) {
      // Withdrawn or shut down while starting: nothing was heard.
      await poster.flush();
      const end = await this.#end;
      report({ event: "ending", reason: end });
      return end;
    }
    try {
      const subtitles = await listener.connect(this.#options.url, this.#options.token, {
        trackOpened: (trackSid, participant) => transcriber.trackOpened(trackSid, participant),
        audio: (trackSid, pcm) => transcriber.audio(trackSid, pcm),
        trackEnded: (trackSid) => transcriber.trackEnded(trackSid),
        participant: (participant) => {
          const userId = matrixUserOf(participant);
          if (userId !== undefined) void names.lookup(userId);
        },
        data: (payload, topic, fromServer) => this.#onControl(payload, topic, fromServer),
        disconnected: (reason) => {
          transcriber.left();
          this.#finish(CALL_ENDED.includes(reason) ? "call-ended" : "left");
        },
        report,
      });
      transcriber.joined(subtitles);
      this.#joined = true;
    } catch (err) {
      await poster.flush();
      throw err;
    }
    const end = await this.#end;
    report({ event: "ending", reason: end });
    await transcriber.finish();
    await listener.close();
    await poster.flush();
    await outages.flush();
    await lost.flush();
    if (ENDS_TRANSCRIPTION.includes(end)) {
      const files = await postTranscriptFiles(matrix, {
        roomId,
        threadRoot: metadata.thread_root,
        sessionId,
        startedAt: metadata.started_at,
        language: engine.language ?? metadata.language,
        engine: engine.name,
        model,
        segments: finals,
      });
      report({ event: "files-posted", files: files.map(({ filename, url, eventId }) => ({ filename, url, eventId })) });
      // The thread is reachable again: it hears of messages lost at the very end too.
      lost.posted();
      await lost.flush();
    }
    return end;
  }

  #onControl(payload: Uint8Array, topic: string | undefined, fromServer: boolean): void {
    const decision = readControlMessage(payload, topic, fromServer);
    if (decision.action === "ignore") this.#options.report({ event: "control-ignored", reason: decision.reason });
    if (decision.action === "stop") this.#finish("stopped");
  }
}
