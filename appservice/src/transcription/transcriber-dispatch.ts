// The LiveKit side of transcription: the bridge workers register as LiveKit agents under
// TRANSCRIBER_AGENT_NAME and take the calls dispatched to them. LiveKit 1.13 launches a dispatch's job
// once, when it is created, and only if a worker is registered then; a lost worker's job is not
// launched again. So "a transcriber is in the call" is checked and, when needed, brought about again:
// by a new dispatch, retried until a worker has taken it.
import type { AgentDispatch, DataPacket_Kind } from "@livekit/protocol";
import type { AgentDispatchClient, ParticipantInfo, RoomServiceClient, SendDataOptions } from "livekit-server-sdk";
import { isLiveKitNotFound as isNotFound } from "../livekit/lazy-sdk.ts";
import { DATA_PACKET_RELIABLE, JOB_STATUS_PENDING, JOB_STATUS_RUNNING, PARTICIPANT_KIND_AGENT } from "../livekit/protocol-values.ts";
import {
  TRANSCRIBER_AGENT_NAME,
  TRANSCRIPTION_CONTROL_TOPIC,
  type TranscriptionControlMessage,
  type TranscriptionJobMetadata,
} from "../../../config/wire-types.ts";
import { EffectPendingError } from "../calls/call-effects.ts";
import type { Logger } from "../log.ts";
import { oneAtATimePerKey } from "./one-at-a-time.ts";

/** The LiveKit agent dispatch API calls made here; a fake implements these three. */
export type AgentDispatchApi = Pick<AgentDispatchClient, "createDispatch" | "deleteDispatch" | "listDispatch">;
/** The LiveKit room API calls made here (sendData in its options form). */
export interface TranscriberRoomApi extends Pick<RoomServiceClient, "listParticipants" | "removeParticipant" | "createRoom"> {
  sendData(room: string, data: Uint8Array, kind: DataPacket_Kind, options: SendDataOptions): Promise<void>;
}

/** How long a new dispatch may wait for a worker to take its job before it is made again. */
export const JOB_TAKE_WAIT_MS = 5_000;
/** How long a transcriber told to stop may take to post its files and leave before it is removed. */
export const STOP_GRACE_MS = 60_000;
/**
 * A recording's LiveKit room: kept while nobody is in it for long enough for a worker to take the job
 * and join (the job ends with the room), closed soon after the worker left.
 */
const RECORDING_ROOM_EMPTY_TIMEOUT_S = 120;
const RECORDING_ROOM_DEPARTURE_TIMEOUT_S = 20;

/** The bridge's participant: an agent (what workers join as), or named by the agent name. */
export function isTranscriberParticipant(p: Pick<ParticipantInfo, "kind" | "identity">): boolean {
  return p.kind === PARTICIPANT_KIND_AGENT || p.identity.startsWith(TRANSCRIBER_AGENT_NAME);
}


/** The session a dispatch was made for (its metadata's room and start), or null for another's. */
function sessionOf(dispatch: AgentDispatch): { roomId: string; startedAt: number } | null {
  try {
    const meta = JSON.parse(dispatch.metadata) as Partial<TranscriptionJobMetadata>;
    return typeof meta.room_id === "string" && typeof meta.started_at === "number" ? { roomId: meta.room_id, startedAt: meta.started_at } : null;
  } catch {
    return null;
  }
}

/**
 * Whether a worker has the dispatch's job now. A job that ended (its worker shut down or died) is
 * no transcriber on its way: LiveKit keeps it in the dispatch's state after it ended.
 */
const hasLiveJob = (dispatch: AgentDispatch): boolean =>
  (dispatch.state?.jobs ?? []).some((job) => {
    const status = job.state?.status ?? JOB_STATUS_PENDING;
    return status === JOB_STATUS_PENDING || status === JOB_STATUS_RUNNING;
  });

/** When LiveKit created a dispatch, in ms (it keeps nanoseconds). */
const createdAtMs = (dispatch: AgentDispatch): number => Number((dispatch.state?.createdAt ?? 0n) / 1_000_000n);

export type EnsureOutcome = "no_call" | "present" | "taken";

export interface TranscriberDispatch {
  /**
   * Makes sure a transcriber of this session is in the LiveKit room or on its way: "present" (its
   * participant is there), "taken" (a worker took a dispatch made since `since`), "no_call" (the
   * room is gone or only a transcriber is left). Otherwise dispatches (again) and throws
   * EffectPendingError, so that the caller checks later whether a worker took it.
   */
  ensure(livekitRoom: string, metadata: TranscriptionJobMetadata, since: number): Promise<EnsureOutcome>;
  /**
   * Tells the session's transcribers to finish (stop message, through the server API) and withdraws
   * the session's dispatches once they left. Throws EffectPendingError while a transcriber still
   * finishes; after STOP_GRACE_MS past `requestedAt` it is removed from the room.
   */
  stop(livekitRoom: string, session: { roomId: string; startedAt: number }, requestedAt: number): Promise<void>;
  /**
   * Gets a worker to transcribe a recording (metadata.recording) in its own LiveKit room: "taken" once
   * a worker has the job (whatever happens to it then: the worker reports in the thread); otherwise
   * opens the room, dispatches (again) and throws EffectPendingError.
   */
  ensureRecording(livekitRoom: string, metadata: TranscriptionJobMetadata): Promise<"taken">;
  /** Deletes every dispatch of the transcriber agent in the room but those of `keep`. */
  withdraw(livekitRoom: string, keep?: { roomId: string; startedAt: number }): Promise<number>;
  /**
   * What the room holds for the reconciler, changing nothing: "transcribed" (a transcriber is in it),
   * "on_its_way" (a dispatch of the session has a live job, or was made too recently to have one),
   * "untranscribed" (callers, and neither), "no_call" (gone, or only transcribers are left; then
   * `transcribers` says whether some are).
   */
  inspect(livekitRoom: string, session: { roomId: string; startedAt: number } | null): Promise<{ status: "transcribed" | "on_its_way" | "untranscribed" | "no_call"; transcribers: boolean }>;
}

export interface TranscriberDispatchDeps {
  dispatches: AgentDispatchApi;
  rooms: TranscriberRoomApi;
  log: Logger;
  now?: () => number;
}

const STOP_PACKET: Uint8Array = new TextEncoder().encode(JSON.stringify({ action: "stop" } satisfies TranscriptionControlMessage));

export function createTranscriberDispatch(deps: TranscriberDispatchDeps): TranscriberDispatch {
  const now = deps.now ?? Date.now;
  const { log } = deps;

  /** Made too recently for a worker to have taken it yet. */
  const mayStillBeTaken = (dispatch: AgentDispatch): boolean => now() - createdAtMs(dispatch) < JOB_TAKE_WAIT_MS;

  const participantsOf = async (livekitRoom: string): Promise<ParticipantInfo[] | null> => {
    try {
      return await deps.rooms.listParticipants(livekitRoom);
    } catch (err) {
      if (await isNotFound(err)) return null;
      throw err;
    }
  };

  const ours = async (livekitRoom: string): Promise<AgentDispatch[]> => {
    try {
      return (await deps.dispatches.listDispatch(livekitRoom)).filter((d) => d.agentName === TRANSCRIBER_AGENT_NAME);
    } catch (err) {
      if (await isNotFound(err)) return [];
      throw err;
    }
  };

  const remove = async (livekitRoom: string, dispatch: AgentDispatch): Promise<void> => {
    try {
      // LiveKit terminates the dispatch's jobs: only for dispatches whose transcriber is gone or told to stop.
      await deps.dispatches.deleteDispatch(dispatch.id, livekitRoom);
    } catch (err) {
      if (!(await isNotFound(err))) throw err;
    }
  };

  const sameSession = (d: AgentDispatch, session: { roomId: string; startedAt: number }): boolean => {
    const s = sessionOf(d);
    return s !== null && s.roomId === session.roomId && s.startedAt === session.startedAt;
  };

  const withdraw: TranscriberDispatch["withdraw"] = async (livekitRoom, keep) => {
    let removed = 0;
    for (const d of await ours(livekitRoom)) {
      if (keep && sameSession(d, keep)) continue;
      await remove(livekitRoom, d);
      removed++;
    }
    return removed;
  };

  /**
   * The session's dispatches (`current`) have no worker: waits while the newest may still be taken;
   * otherwise withdraws them (a lost worker's, an older session's, or those no worker took) and
   * dispatches again. Throws EffectPendingError either way.
   */
  const dispatchAgain = async (livekitRoom: string, metadata: TranscriptionJobMetadata, current: readonly AgentDispatch[]): Promise<never> => {
    const what = metadata.recording === undefined ? "job" : "recording";
    if (current.some(mayStillBeTaken)) {
      throw new EffectPendingError(`no transcription worker has taken the ${what} yet`);
    }
    await withdraw(livekitRoom);
    const created = await deps.dispatches.createDispatch(livekitRoom, TRANSCRIBER_AGENT_NAME, { metadata: JSON.stringify(metadata) });
    log.info(what === "job" ? "transcriber dispatched" : "recording transcriber dispatched", { roomId: metadata.room_id, livekitRoom, dispatchId: created.id });
    throw new EffectPendingError(`${what === "job" ? "transcriber" : "recording"} dispatched; waiting for a worker to take the job`);
  };

  // One check at a time per LiveKit room: a start and a first participant arriving together must
  // not make two dispatches.
  const oneAtATime = oneAtATimePerKey();

  return {
    ensure: (livekitRoom, metadata, since) =>
      oneAtATime(livekitRoom, async (): Promise<EnsureOutcome> => {
        const participants = await participantsOf(livekitRoom);
        if (participants === null || !participants.some((p) => !isTranscriberParticipant(p))) return "no_call";
        if (participants.some(isTranscriberParticipant)) return "present";
        const session = { roomId: metadata.room_id, startedAt: metadata.started_at };
        const current = (await ours(livekitRoom)).filter((d) => sameSession(d, session) && createdAtMs(d) >= since);
        if (current.some(hasLiveJob)) return "taken";
        return dispatchAgain(livekitRoom, metadata, current);
      }),

    inspect: async (livekitRoom, session) => {
      const participants = await participantsOf(livekitRoom);
      const transcribers = participants?.some(isTranscriberParticipant) ?? false;
      if (participants === null || !participants.some((p) => !isTranscriberParticipant(p))) return { status: "no_call", transcribers };
      if (transcribers) return { status: "transcribed", transcribers };
      if (session === null) return { status: "untranscribed", transcribers };
      const current = (await ours(livekitRoom)).filter((d) => sameSession(d, session));
      const onItsWay = current.some((d) => hasLiveJob(d) || mayStillBeTaken(d));
      return { status: onItsWay ? "on_its_way" : "untranscribed", transcribers };
    },

    ensureRecording: (livekitRoom, metadata) =>
      oneAtATime(livekitRoom, async (): Promise<"taken"> => {
        // Opened first (LiveKit answers the existing one): LiveKit has no dispatch list for a room
        // that does not exist, only a timeout.
        await deps.rooms.createRoom({
          name: livekitRoom,
          emptyTimeout: RECORDING_ROOM_EMPTY_TIMEOUT_S,
          departureTimeout: RECORDING_ROOM_DEPARTURE_TIMEOUT_S,
        });
        const session = { roomId: metadata.room_id, startedAt: metadata.started_at };
        const current = (await ours(livekitRoom)).filter((d) => sameSession(d, session));
        // Once a worker has it, it is never dispatched again: a second dispatch would answer twice.
        if (current.some((d) => (d.state?.jobs ?? []).length > 0)) return "taken";
        return dispatchAgain(livekitRoom, metadata, current);
      }),

    stop: (livekitRoom, session, requestedAt) =>
      oneAtATime(livekitRoom, async () => {
        const participants = await participantsOf(livekitRoom);
        if (participants === null) return;
        const transcribers = participants.filter(isTranscriberParticipant);
        if (transcribers.length > 0) {
          if (now() - requestedAt < STOP_GRACE_MS) {
            // Sent again on each check: the bridge treats a repeated stop as the same one.
            await deps.rooms.sendData(livekitRoom, STOP_PACKET, DATA_PACKET_RELIABLE, {
              destinationIdentities: transcribers.map((p) => p.identity),
              topic: TRANSCRIPTION_CONTROL_TOPIC,
            });
            throw new EffectPendingError("waiting for the transcriber to post its files and leave");
          }
          for (const p of transcribers) {
            try {
              await deps.rooms.removeParticipant(livekitRoom, p.identity);
            } catch (err) {
              if (!(await isNotFound(err))) throw err;
            }
          }
          log.warn("transcriber did not leave after the stop message; removed", { roomId: session.roomId, livekitRoom });
        }
        const removed = (await ours(livekitRoom)).filter((d) => sameSession(d, session));
        for (const d of removed) await remove(livekitRoom, d);
      }),

    withdraw: (livekitRoom, keep) => oneAtATime(livekitRoom, () => withdraw(livekitRoom, keep)),
  };
}
