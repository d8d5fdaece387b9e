// The transcription worker: registered with the ministry's LiveKit server as an agent worker (through the
// agent connection it is given), it runs one TranscriptionJob per dispatched call, many at once. LiveKit
// offers each dispatch to one registered worker (by reported load); several worker processes share the calls.
import { JobStatus, type Job, type JobAssignment } from "@livekit/protocol";
import { ServerError, type RoomServiceClient } from "livekit-server-sdk";
import { JobMetadataError, parseJobMetadata } from "../../../config/job-metadata-schema.ts";
import type { TranscriptionJobMetadata } from "../../../config/wire-types.ts";
import type { WorkerConfig } from "../../../config/worker-schema.ts";
import type { AgentConnectionHandlers, AgentLink, AvailabilityAnswer } from "../agent/agent-connection.ts";
import type { CallListener } from "../live/room-listener.ts";
import type { MatrixClient } from "../matrix/matrix-client.ts";
import type { SttEngine } from "../stt/engine.ts";
import { vadOptions } from "../vad-from-config.ts";
import { RecordingJob, type RecordingJobDeps, type RecordingJobEvent } from "./recording-job.ts";
import { TranscriptionJob, type JobEnd, type JobEvent, type TranscriptionJobDeps } from "./transcription-job.ts";

export type WorkerEvent =
  | { event: "registered"; workerId: string }
  | { event: "connection-lost"; reason: string; retryInMs: number }
  | { event: "job-refused"; job: string; room: string; reason: string }
  | { event: "job-started"; job: string; room: string; matrixRoom: string }
  | { event: "job-ended"; job: string; room: string; end: JobEnd }
  | { event: "job-lost"; job: string; room: string; why: string }
  | { event: "error"; message: string; job?: string; room?: string }
  | ((JobEvent | RecordingJobEvent) & { job: string; room: string });

export interface WorkerDeps {
  /** The agent protocol connection to the ministry's LiveKit server, started with the worker. */
  connection: AgentLink;
  /** LiveKit's room API, asked after a reconnection which jobs' participants it still has. */
  rooms: Pick<RoomServiceClient, "listParticipants">;
  engine: SttEngine;
  matrix: Pick<MatrixClient, "request" | "sendEvent" | "upload" | "joinRoom" | "downloadToFile">;
  /** A new presence in a call, for each call's job. */
  listener(): CallListener;
  /** A new LiveKit room, for each recording's job. */
  recordingRoom(): RecordingJobDeps["room"];
  /** A call job's thread poster. */
  poster: TranscriptionJobDeps["poster"];
  report(event: WorkerEvent): void;
  /** The worker's recent CPU use as a fraction of one core, asked at each status update. */
  load(): number;
  /** How often the load is sent again (default STATUS_INTERVAL_MS). */
  statusIntervalMs?: number;
}

interface RunningJob {
  room: string;
  /** The job's participant in the LiveKit room. */
  identity: string;
  job: Pick<TranscriptionJob, "run" | "stop" | "shutdown"> | undefined;
  done: Promise<void> | undefined;
}

// An accepted job whose assignment never came (the server gave up on it) frees its slot after this.
const ASSIGNMENT_TIMEOUT_MS = 15_000;
// The load LiveKit dispatches by is sent again this often, as the calls' cost changes.
const STATUS_INTERVAL_MS = 2_500;

export class TranscriptionWorker {
  #config: WorkerConfig;
  #deps: WorkerDeps;
  #connection: AgentLink;
  #jobs = new Map<string, RunningJob>();
  #closing = false;
  #reconnecting = false;
  #statusTimer: NodeJS.Timeout | undefined;

  constructor(config: WorkerConfig, deps: WorkerDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#connection = deps.connection;
  }

  get jobCount(): number {
    return this.#jobs.size;
  }

  start(): void {
    const deps = this.#deps;
    const handlers: AgentConnectionHandlers = {
      availability: (job: Job) => this.#availability(job),
      assignment: (assignment: JobAssignment) => this.#assignment(assignment),
      termination: (jobId: string) => this.#jobs.get(jobId)?.job?.stop("terminated"),
      registered: (workerId: string) => {
        deps.report({ event: "registered", workerId });
        if (this.#reconnecting) void this.#dropJobsLiveKitLost();
        this.#reconnecting = false;
      },
      disconnected: (reason: string, delayMs: number) => {
        this.#reconnecting = true;
        deps.report({ event: "connection-lost", reason, retryInMs: delayMs });
      },
    };
    this.#connection.start(handlers);
    this.#statusTimer = setInterval(() => this.#updateStatus(), this.#deps.statusIntervalMs ?? STATUS_INTERVAL_MS);
    this.#statusTimer.unref();
  }

  /** Stops taking jobs, lets running ones finalise what they heard (no files: they are dispatched again), and disconnects. */
  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#statusTimer);
    this.#updateStatus();
    for (const running of this.#jobs.values()) running.job?.shutdown();
    await Promise.all([...this.#jobs.values()].map((running) => running.done));
    await this.#connection.close();
  }

  #availability(job: Job): AvailabilityAnswer {
    const room = job.room?.name ?? "";
    const refuse = (reason: string): AvailabilityAnswer => {
      this.#deps.report({ event: "job-refused", job: job.id, room, reason });
      return { available: false, reason };
    };
    if (this.#closing) return refuse("the worker is shutting down");
    if (this.#jobs.size >= this.#config.worker.max_jobs) return refuse("the worker is full");
    // A second dispatch for a call this worker already transcribes would post every utterance twice.
    if ([...this.#jobs.values()].some((running) => running.room === room)) return refuse("already transcribing this room");
    try {
      parseJobMetadata(job.metadata);
    } catch (err) {
      if (err instanceof JobMetadataError) return refuse(err.message);
      throw err;
    }
    const identity = `${this.#config.worker.identity_prefix}-${job.id}`;
    const reserved: RunningJob = { room, identity, job: undefined, done: undefined };
    this.#jobs.set(job.id, reserved);
    setTimeout(() => {
      if (this.#jobs.get(job.id) === reserved && reserved.job === undefined) {
        this.#jobs.delete(job.id);
        this.#updateStatus();
      }
    }, ASSIGNMENT_TIMEOUT_MS).unref();
    this.#updateStatus();
    return { available: true, identity, name: this.#config.worker.name };
  }

  /**
   * Back in touch with LiveKit after losing it: a server that restarted has forgotten the rooms and
   * their participants, while the jobs' own connections may not notice for a long time. A job whose
   * participant LiveKit no longer has is let go (its utterances finalised, no files: the call gets a
   * new dispatch), so that its slot takes that dispatch.
   */
  async #dropJobsLiveKitLost(): Promise<void> {
    for (const [id, running] of this.#jobs) {
      if (running.job === undefined) continue;
      let why: string | null;
      try {
        const participants = await this.#deps.rooms.listParticipants(running.room);
        why = participants.some((p) => p.identity === running.identity) ? null : "its participant is not in the room any more";
      } catch (err) {
        // Unreachable or refusing: nothing known, the job goes on.
        why = err instanceof ServerError && err.status === 404 ? "the room does not exist any more" : null;
      }
      if (why === null) continue;
      this.#deps.report({ event: "job-lost", job: id, room: running.room, why });
      running.job.shutdown();
    }
  }

  #assignment(assignment: JobAssignment): void {
    const job = assignment.job;
    if (job === undefined) return;
    const running = this.#jobs.get(job.id);
    const room = job.room?.name ?? "";
    if (running === undefined || running.job !== undefined) {
      this.#deps.report({ event: "error", message: "assignment for a job this worker did not accept", job: job.id, room });
      this.#connection.updateJob(job.id, JobStatus.JS_FAILED, "not accepted by this worker");
      return;
    }
    let metadata: TranscriptionJobMetadata;
    try {
      metadata = parseJobMetadata(job.metadata);
    } catch (err) {
      this.#jobs.delete(job.id);
      this.#connection.updateJob(job.id, JobStatus.JS_FAILED, (err as Error).message);
      return;
    }
    const report = this.#deps.report;
    const url = assignment.url !== undefined && assignment.url !== "" ? assignment.url : this.#config.livekit.url;
    const common = { url, token: assignment.token, vad: vadOptions(this.#config.vad) };
    const { engine, matrix } = this.#deps;
    const { recording } = metadata;
    const transcription =
      recording !== undefined
        ? new RecordingJob(
            {
              ...common,
              metadata: { ...metadata, recording },
              concurrency: this.#config.worker.recording_concurrency,
              report: (event) => report({ ...event, job: job.id, room }),
            },
            { engine, matrix, room: this.#deps.recordingRoom() },
          )
        : new TranscriptionJob(
            {
              ...common,
              metadata,
              bridgeUserId: this.#config.matrix.user_id,
              report: (event) => report({ ...event, job: job.id, room }),
            },
            { engine, matrix, listener: this.#deps.listener(), poster: this.#deps.poster },
          );
    running.job = transcription;
    report({ event: "job-started", job: job.id, room, matrixRoom: metadata.room_id });
    this.#connection.updateJob(job.id, JobStatus.JS_RUNNING);
    running.done = transcription.run().then(
      (end) => {
        report({ event: "job-ended", job: job.id, room, end });
        this.#connection.updateJob(job.id, JobStatus.JS_SUCCESS);
      },
      (err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        report({ event: "error", message: `job failed: ${message}`, job: job.id, room });
        this.#connection.updateJob(job.id, JobStatus.JS_FAILED, message);
      },
    ).finally(() => {
      this.#jobs.delete(job.id);
      this.#updateStatus();
    });
  }

  /** Load: the recent CPU fraction (what a call costs varies); full: no free job slot, or shutting down. */
  #updateStatus(): void {
    const max = this.#config.worker.max_jobs;
    const count = this.#jobs.size;
    this.#connection.updateStatus(this.#deps.load(), count, this.#closing || count >= max);
  }
}
