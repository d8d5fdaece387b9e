// One recording's transcription: the job a worker runs for a recording posted in a meeting (a dispatch
// whose metadata has `recording`). It stays in the recording's own LiveKit room while it works (the job
// lives as long as the room), downloads the recording from the media repository as the bridge's user,
// transcribes it through the same VAD and engine as calls, and answers in the thread under it with the
// WebVTT and Markdown files, or with a notice saying why it could not.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Room } from "@livekit/rtc-node";
import { MAX_RECORDING_BYTES, type RecordingJobFields, type TranscriptionJobMetadata } from "../../../config/wire-types.ts";
import { AudioDecodeError, decodeAudioFile } from "../audio/decode-file.ts";
import { MatrixHttpError } from "../../../config/matrix/matrix-http-error.ts";
import type { MatrixClient } from "../matrix/matrix-client.ts";
import { postTranscriptFiles } from "../matrix/transcript-files.ts";
import { threadRelation } from "../matrix/transcript-poster.ts";
import { transcribeRecording } from "../recordings/transcribe-recording.ts";
import { SttEngineNotReadyError, type SttEngine } from "../stt/engine.ts";
import { transcriptTexts, type TranscriptTexts } from "../transcript/transcript-texts.ts";
import type { VadSettings } from "../transcript/vad.ts";
import type { JobEnd } from "./transcription-job.ts";

export type RecordingJobEvent =
  | { event: "recording-downloaded"; bytes: number }
  | { event: "recording-transcribed"; segments: number; durationMs: number; elapsedMs: number }
  | { event: "recording-failed"; reason: string }
  | { event: "files-posted"; files: { filename: string; url: string; eventId: string }[] };

export interface RecordingJobOptions {
  metadata: TranscriptionJobMetadata & { recording: RecordingJobFields };
  url: string;
  token: string;
  vad?: VadSettings;
  /** Utterances decoded at the same time. */
  concurrency: number;
  report(event: RecordingJobEvent): void;
  now?(): number;
}

/** What a recording job works with, given to it: the engine, the bridge's Matrix user, its LiveKit room. */
export interface RecordingJobDeps {
  engine: SttEngine;
  matrix: Pick<MatrixClient, "sendEvent" | "upload" | "joinRoom" | "downloadToFile">;
  /** The recording's own LiveKit room, where the job stays while it works (nothing subscribed). */
  room: Pick<Room, "connect" | "disconnect">;
}

/** Why a recording could not be transcribed, in words for the room: never what the recording says. */
function reasonOf(err: unknown, texts: TranscriptTexts): string {
  if (err instanceof MatrixHttpError && err.status === 413) return texts.tooLarge(MAX_RECORDING_BYTES / 1024 / 1024);
  if (err instanceof MatrixHttpError) return texts.notDownloaded(err.message);
  if (err instanceof AudioDecodeError) return err.soundless ? texts.soundless : texts.undecodable;
  if (err instanceof SttEngineNotReadyError) return texts.noModel(err.message);
  return texts.engineFailed(err instanceof Error ? err.message : String(err));
}

export class RecordingJob {
  #options: RecordingJobOptions;
  #deps: RecordingJobDeps;
  #abort = new AbortController();

  constructor(options: RecordingJobOptions, deps: RecordingJobDeps) {
    this.#options = options;
    this.#deps = deps;
  }

  /** The dispatch was withdrawn or the worker shuts down: the recording is left (it can be asked for again). */
  stop(): void {
    this.#abort.abort();
  }

  shutdown(): void {
    this.#abort.abort();
  }

  async run(): Promise<JobEnd> {
    const { metadata, report } = this.#options;
    const { matrix, engine, room } = this.#deps;
    const now = this.#options.now ?? Date.now;
    const { recording, room_id: roomId, thread_root: recordingEvent } = metadata;
    await matrix.joinRoom(roomId);
    await room.connect(this.#options.url, this.#options.token, { autoSubscribe: false, dynacast: false });
    const dir = await mkdtemp(join(tmpdir(), "visio-recording-"));
    // The txnIds derive from the request: a job run again by LiveKit posts the same messages once.
    const sessionId = `recording.${metadata.started_at}`;
    const texts = transcriptTexts(metadata.language);
    try {
      const path = join(dir, "recording");
      let transcript;
      let model: string;
      const started = now();
      try {
        model = engine.modelFor(metadata.language);
        const bytes = await matrix.downloadToFile(recording.url, path, MAX_RECORDING_BYTES);
        report({ event: "recording-downloaded", bytes });
        if (this.#abort.signal.aborted) return "shutdown";
        transcript = await transcribeRecording(decodeAudioFile(path), {
          engine,
          speaker: { id: "recording", name: recording.filename },
          language: engine.language === undefined && metadata.language !== "und" ? metadata.language : undefined,
          vad: this.#options.vad,
          concurrency: this.#options.concurrency,
        });
      } catch (err) {
        const reason = reasonOf(err, texts);
        report({ event: "recording-failed", reason });
        await matrix.sendEvent(
          roomId,
          "m.room.message",
          { msgtype: "m.notice", body: texts.recordingFailed(recording.filename, reason), "m.relates_to": threadRelation(recordingEvent) },
          `visio-transcript.${sessionId}.failed`,
        );
        return "stopped";
      }
      report({ event: "recording-transcribed", segments: transcript.segments.length, durationMs: transcript.durationMs, elapsedMs: now() - started });
      const files = await postTranscriptFiles(matrix, {
        roomId,
        threadRoot: recordingEvent,
        sessionId,
        startedAt: metadata.started_at,
        language: engine.language ?? metadata.language,
        engine: engine.name,
        model,
        segments: transcript.segments,
        title: texts.recordingTitle(recording.filename),
        details: [texts.duration(transcript.durationMs / 1000)],
      });
      report({ event: "files-posted", files: files.map(({ filename, url, eventId }) => ({ filename, url, eventId })) });
      return "stopped";
    } finally {
      await rm(dir, { recursive: true, force: true });
      await room.disconnect();
    }
  }
}
