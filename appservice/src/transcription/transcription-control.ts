// Starting and stopping a meeting's transcription: one code path for the HTTP API and the chat
// command. Who may: a member joined to the room, from an allowed server, with at least the configured
// power level. What it does: the room state says whether the meeting is transcribed (everyone sees
// it: consent); the LiveKit side (dispatching a transcriber, telling it to stop) follows as effects.
import { randomUUID } from "node:crypto";
import {
  MAX_RECORDING_BYTES,
  TRANSCRIPTION_STATE_EVENT,
  type RecordingJobFields,
  type RecordingTranscriptionResponse,
  type RoomEvent,
  type TranscriptionStateContent,
} from "../../../config/wire-types.ts";
import type { TranscriptionEffect } from "../calls/call-effect-types.ts";
import { MatrixError } from "../errors.ts";
import type { HomeserverClient } from "../homeserver-client.ts";
import type { Logger } from "../log.ts";
import {
  threadNotice,
  transcriptionStartedNotice,
  transcriptionStoppedNotice,
  type TranscriptionStateReader,
} from "./transcription-state.ts";
import { serverOfUserId } from "../focus/focus-requests.ts";
import { authorizeInHostedRoom } from "../room-authorization.ts";
import { oneAtATimePerKey } from "./one-at-a-time.ts";
import { transcriptionTexts } from "./transcription-texts.ts";

export interface TranscriptionRequest {
  roomId: string;
  /** Already authenticated: the OpenID token's owner, or the command event's sender. */
  userId: string;
  action: "start" | "stop";
  language?: string;
}

export interface RecordingRequest {
  roomId: string;
  /** Already authenticated, as for TranscriptionRequest. */
  userId: string;
  /** The recording's message in the room. */
  eventId: string;
  language?: string;
}

export interface TranscriptionControl {
  /** Applies a start or stop and answers the room's new state; refusals are MatrixErrors. */
  control(request: TranscriptionRequest): Promise<TranscriptionStateContent>;
  /** Queues the transcription of a recording posted in the room; refusals are MatrixErrors. */
  transcribeRecording(request: RecordingRequest): Promise<RecordingTranscriptionResponse>;
  /**
   * The bridge's worker refused the session threaded under `threadRoot` (no model for its language):
   * the transcription stops, saying why, if that session is still the room's. Answers whether it did.
   */
  refusedByWorker(roomId: string, threadRoot: string): Promise<boolean>;
  /**
   * Starts transcribing a breakout group of a transcribed meeting, in the meeting's language. No check
   * of `userId` here: the meeting's moderator who started the groups was checked for that.
   */
  startInGroup(roomId: string, userId: string, language: string): Promise<TranscriptionStateContent>;
}

/** The recording a message carries: an m.audio or m.video, or an m.file of an audio or video type, as unencrypted media. */
export function recordingOf(event: RoomEvent): RecordingJobFields {
  const content = event.content;
  const info = (typeof content.info === "object" && content.info !== null ? content.info : {}) as { mimetype?: unknown; size?: unknown };
  const mimetype = typeof info.mimetype === "string" ? info.mimetype : "";
  if (event.type !== "m.room.message" || typeof content.msgtype !== "string") {
    throw new MatrixError("M_INVALID_PARAM", "This event is not a message with a recording", undefined, { reason: "not_a_recording" });
  }
  const recorded = content.msgtype === "m.audio" || content.msgtype === "m.video";
  if (!recorded && !(content.msgtype === "m.file" && /^(audio|video)\//.test(mimetype))) {
    throw new MatrixError("M_INVALID_PARAM", "This message is not an audio or video recording", undefined, { reason: "not_a_recording" });
  }
  if (content.file !== undefined) {
    throw new MatrixError("M_INVALID_PARAM", "This recording is end-to-end encrypted: the transcription service cannot read it", undefined, {
      reason: "encrypted_recording",
    });
  }
  if (typeof content.url !== "string" || !/^mxc:\/\/[^/]+\/[^/]+$/.test(content.url)) {
    throw new MatrixError("M_INVALID_PARAM", "This recording has no media URL (mxc://…)", undefined, { reason: "no_media" });
  }
  const size = typeof info.size === "number" && Number.isSafeInteger(info.size) && info.size >= 0 ? info.size : undefined;
  if (size !== undefined && size > MAX_RECORDING_BYTES) {
    throw new MatrixError("M_TOO_LARGE", `This recording is larger than ${MAX_RECORDING_BYTES / 1024 / 1024} MiB, the most the transcription service takes`, undefined, {
      reason: "recording_too_large",
      params: { mib: MAX_RECORDING_BYTES / 1024 / 1024 },
    });
  }
  const named = typeof content.filename === "string" && content.filename !== "" ? content.filename : content.body;
  const filename = typeof named === "string" && named !== "" ? named.slice(0, 255) : "recording";
  return { url: content.url, filename, ...(size !== undefined ? { size } : {}) };
}

export interface TranscriptionControlDeps {
  homeserver: Pick<HomeserverClient, "getEvent" | "getState" | "setState" | "sendMessage" | "invite">;
  state: TranscriptionStateReader;
  /** Whether this appservice created the room (CallStore.hostsRoom). */
  hostsRoom(roomId: string): Promise<boolean>;
  /** Latest membership as the transactions recorded it (Store.membership). */
  membership(roomId: string, userId: string): Promise<string | null>;
  /** Records LiveKit work to do once the state is written, run and retried by the call lifecycle. */
  enqueue(effect: TranscriptionEffect): Promise<void>;
  botUserId: string;
  /** The bridge's Matrix user (the worker's own), invited into each transcribed room to post the transcript there. */
  bridgeUserId: string;
  /** This server and the federation allowlist. */
  allowedServers: readonly string[];
  controlPowerLevel: number;
  defaultLanguage: string;
  engine: string;
  log: Logger;
  now?: () => number;
}

export function createTranscriptionControl(deps: TranscriptionControlDeps): TranscriptionControl {
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ component: "transcription" });

  const authorize = (request: Pick<TranscriptionRequest, "roomId" | "userId">): Promise<void> =>
    authorizeInHostedRoom(
      { ...deps, powerLevels: (roomId) => deps.homeserver.getState(roomId, "m.room.power_levels", "") },
      request.roomId,
      request.userId,
      deps.controlPowerLevel,
      "Transcription (starting, stopping, recordings)",
    );

  /**
   * The bridge's user invited into the room (needed in invite and knock rooms); the worker, whose
   * user it is, joins when it takes the job. This appservice cannot act as that user.
   */
  const inviteBridge = async (roomId: string): Promise<void> => {
    const membership = await deps.membership(roomId, deps.bridgeUserId);
    if (membership === "join" || membership === "invite") return;
    try {
      await deps.homeserver.invite(roomId, deps.bridgeUserId);
    } catch (err) {
      // A public meeting needs no invite; in another the worker's join fails and says why.
      log.warn("transcription bridge not invited", { roomId, err });
    }
  };

  const writeState = (roomId: string, state: TranscriptionStateContent): Promise<unknown> =>
    deps.homeserver.setState(roomId, TRANSCRIPTION_STATE_EVENT, "", { ...state });

  const start = async (request: TranscriptionRequest, current: TranscriptionStateContent | null): Promise<TranscriptionStateContent> => {
    if (current?.active) {
      throw new MatrixError("ORG.VISIO.TRANSCRIPTION_ACTIVE", "This meeting is already being transcribed", undefined, { reason: "already_transcribed" });
    }
    const startedAt = now();
    const language = request.language ?? deps.defaultLanguage;
    const root = await deps.homeserver.sendMessage(
      request.roomId,
      `visio-transcription-${startedAt}-${randomUUID()}`,
      transcriptionStartedNotice({ language, engine: deps.engine }),
    );
    await inviteBridge(request.roomId);
    const state: TranscriptionStateContent = {
      active: true,
      requested_by: request.userId,
      language,
      engine: deps.engine,
      started_at: startedAt,
      thread_root: root.event_id,
    };
    // The dispatch follows from the state itself, when it comes back in a transaction (call-tracker.ts).
    await writeState(request.roomId, state);
    log.info("transcription started", { roomId: request.roomId, userId: request.userId, language });
    return state;
  };

  // `refusedBy`: the ministry whose worker refused the session; the notice says so, in words and fields.
  const stop = async (request: Pick<TranscriptionRequest, "roomId" | "userId">, current: TranscriptionStateContent | null, refusedBy?: string): Promise<TranscriptionStateContent> => {
    if (!current?.active) throw new MatrixError("ORG.VISIO.TRANSCRIPTION_INACTIVE", "This meeting is not being transcribed", undefined, { reason: "not_transcribed" });
    const stoppedAt = now();
    const state: TranscriptionStateContent = { ...current, active: false, requested_by: request.userId, stopped_at: stoppedAt };
    // The stop follows from the state, as the dispatch does.
    await writeState(request.roomId, state);
    try {
      await deps.homeserver.sendMessage(request.roomId, `visio-transcription-stop-${stoppedAt}-${randomUUID()}`, transcriptionStoppedNotice(state, refusedBy));
    } catch (err) {
      // The state says it: the notice only marks the moment in the timeline.
      log.warn("transcription stopped notice not sent", { roomId: request.roomId, err });
    }
    log.info("transcription stopped", { roomId: request.roomId, userId: request.userId });
    return state;
  };

  // One change at a time per room: two starts racing must not both see "not transcribed".
  const oneAtATime = oneAtATimePerKey();

  const transcribeRecording = async (request: RecordingRequest): Promise<RecordingTranscriptionResponse> => {
    await authorize(request);
    const event = await deps.homeserver.getEvent(request.roomId, request.eventId);
    if (event === null) throw new MatrixError("M_NOT_FOUND", "No such message in this room", undefined, { reason: "no_such_message" });
    const recording = recordingOf(event);
    const language = request.language ?? deps.defaultLanguage;
    const requestedAt = now();
    await inviteBridge(request.roomId);
    await deps.enqueue({
      kind: "recording_transcription",
      roomId: request.roomId,
      eventId: request.eventId,
      recording,
      language,
      engine: deps.engine,
      requestedAt,
    });
    try {
      await deps.homeserver.sendMessage(
        request.roomId,
        `visio-recording-${requestedAt}-${randomUUID()}`,
        threadNotice(request.eventId, transcriptionTexts(language).recordingQueued(recording.filename, language)),
      );
    } catch (err) {
      // The job is queued: the notice only acknowledges it.
      log.warn("recording notice not sent", { roomId: request.roomId, err });
    }
    log.info("recording transcription queued", { roomId: request.roomId, userId: request.userId, language });
    return { event_id: request.eventId, filename: recording.filename, language };
  };

  return {
    async control(request) {
      await authorize(request);
      return oneAtATime(request.roomId, async () => {
        const current = await deps.state.read(request.roomId);
        return request.action === "start" ? start(request, current) : stop(request, current);
      });
    },
    transcribeRecording,
    startInGroup(roomId, userId, language) {
      return oneAtATime(roomId, async () => start({ roomId, userId, action: "start", language }, await deps.state.read(roomId)));
    },
    refusedByWorker(roomId, threadRoot) {
      return oneAtATime(roomId, async () => {
        const current = await deps.state.read(roomId);
        if (current?.active !== true || current.thread_root !== threadRoot) return false;
        log.warn("transcription stopped: the worker has no model for the meeting's language", { roomId, language: current.language });
        await stop({ roomId, userId: deps.bridgeUserId }, current, serverOfUserId(deps.bridgeUserId));
        return true;
      });
    },
  };
}
