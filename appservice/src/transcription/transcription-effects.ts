// The transcription effects of the call lifecycle: decided in a database transaction (a start, a
// stop, a call's first participant, a transcriber leaving), run after it with retries. Each reads the
// room's transcription state first, so an effect that runs late acts on the state as it is now.
import { TRANSCRIBER_NOTICE_KEY, type TranscriberNoticeFields, type TranscriptionJobMetadata } from "../../../config/wire-types.ts";
import type { RecordingTranscriptionEffect, TranscriptionDispatchEffect, TranscriptionEffect, TranscriptionStopEffect } from "../calls/call-effect-types.ts";
import { EffectPendingError, type TranscriptionEffectRunner } from "../calls/call-effects.ts";
import type { CallStore } from "../calls/call-store.ts";
import { recordingLiveKitRoom } from "../focus/livekit-names.ts";
import type { HomeserverClient } from "../homeserver-client.ts";
import type { Logger } from "../log.ts";
import type { EnsureOutcome, TranscriberDispatch } from "./transcriber-dispatch.ts";
import { threadNotice, type TranscriptionStateReader } from "./transcription-state.ts";
import { transcriptionTexts } from "./transcription-texts.ts";

export interface TranscriptionEffectsDeps {
  state: TranscriptionStateReader;
  calls: Pick<CallStore, "activeCall" | "openPresences">;
  dispatch: TranscriberDispatch;
  /** Posts the bot's notices in the transcript thread. */
  homeserver: Pick<HomeserverClient, "sendMessage">;
  /** This ministry's server name, whose workers transcribe the call on its SFU. */
  serverName: string;
  log: Logger;
  now?: () => number;
}

/** How long a call may wait for a worker to take its transcription before the thread is told. */
export const NO_WORKER_NOTICE_MS = 30_000;
const MAX_SESSIONS_REMEMBERED = 10_000;

export function createTranscriptionEffects(deps: TranscriptionEffectsDeps): TranscriptionEffectRunner {
  const { calls, dispatch, log } = deps;
  const now = deps.now ?? Date.now;

  // Sessions ("room started_at") whose thread was told no worker took the call, with how many
  // times that was said (it makes each notice's transaction ID).
  const waitingSaid = new Map<string, number>();
  const said = new Map<string, number>();

  const notice = async (metadata: TranscriptionJobMetadata, state: "waiting" | "running", count: number): Promise<void> => {
    const texts = transcriptionTexts(metadata.language);
    const recording = metadata.recording !== undefined;
    const body = state === "waiting" ? texts.waiting(deps.serverName, recording) : texts.running(deps.serverName, recording);
    const content = threadNotice(metadata.thread_root, body, {
      [TRANSCRIBER_NOTICE_KEY]: { state, server_name: deps.serverName, ...(recording ? { recording } : {}) } satisfies TranscriberNoticeFields,
    });
    const txnId = `visio-transcriber.${metadata.started_at}.${count}.${state}`;
    try {
      await deps.homeserver.sendMessage(metadata.room_id, txnId, content);
    } catch (err) {
      // The notice is the report, not the work: the dispatch goes on being retried.
      log.warn("transcriber notice not posted", { roomId: metadata.room_id, state, err });
    }
  };

  /** Tells the thread once when the call waited too long for a worker, and once when one came. */
  const reportWorker = async (metadata: TranscriptionJobMetadata, since: number, taken: boolean): Promise<void> => {
    const session = `${metadata.room_id} ${metadata.started_at}`;
    const waiting = waitingSaid.get(session);
    if (taken) {
      if (waiting === undefined) return;
      waitingSaid.delete(session);
      await notice(metadata, "running", waiting);
    } else if (waiting === undefined && now() - since >= NO_WORKER_NOTICE_MS) {
      const count = (said.get(session) ?? 0) + 1;
      // Kept for the process's life, bounded: a count forgotten only makes a later notice's
      // transaction ID repeat an old one, which the homeserver then takes as already sent.
      if (said.size >= MAX_SESSIONS_REMEMBERED) said.clear();
      said.set(session, count);
      waitingSaid.set(session, count);
      log.warn("no transcription worker has taken the call", { roomId: metadata.room_id, waitedMs: now() - since });
      await notice(metadata, "waiting", count);
    }
  };

  /** The LiveKit rooms (on this ministry's SFU) where the room's call has participants now. */
  const liveKitRoomsOfCall = async (roomId: string): Promise<string[]> => {
    const call = await calls.activeCall(roomId);
    if (!call) return [];
    const open = await calls.openPresences(call.id);
    return [...new Set(open.flatMap((p) => (p.source === "livekit" && p.livekitRoom !== null ? [p.livekitRoom] : [])))];
  };

  /** Runs the work for each LiveKit room; one still waiting makes the effect wait, after the others ran. */
  const eachRoom = async (rooms: readonly string[], work: (livekitRoom: string) => Promise<unknown>): Promise<void> => {
    let pending: EffectPendingError | null = null;
    for (const livekitRoom of rooms) {
      try {
        await work(livekitRoom);
      } catch (err) {
        if (!(err instanceof EffectPendingError)) throw err;
        pending = err;
      }
    }
    if (pending) throw pending;
  };

  const runDispatch = async (effect: TranscriptionDispatchEffect): Promise<void> => {
    // Every ministry transcribes the part of the call on its own SFU, meetings it only follows
    // included: its callers' audio never leaves its machines, and all write into the one thread.
    const state = await deps.state.read(effect.roomId);
    // Never transcribed (most calls): no LiveKit request at all.
    if (state === null) return;
    if (!state.active || state.started_at === undefined || state.thread_root === undefined) {
      // Not transcribed any more: a transcriber that left leaves no dispatch behind.
      if (effect.livekitRoom !== undefined) await dispatch.withdraw(effect.livekitRoom);
      return;
    }
    const rooms = effect.livekitRoom !== undefined ? [effect.livekitRoom] : await liveKitRoomsOfCall(effect.roomId);
    const metadata: TranscriptionJobMetadata = {
      room_id: effect.roomId,
      language: state.language,
      engine: state.engine,
      started_at: state.started_at,
      thread_root: state.thread_root,
    };
    const outcomes: EnsureOutcome[] = [];
    try {
      await eachRoom(rooms, async (livekitRoom) => outcomes.push(await dispatch.ensure(livekitRoom, metadata, effect.since)));
    } catch (err) {
      if (err instanceof EffectPendingError) await reportWorker(metadata, effect.since, false);
      throw err;
    }
    if (outcomes.some((o) => o !== "no_call")) await reportWorker(metadata, effect.since, true);
  };

  const runStop = async (effect: TranscriptionStopEffect): Promise<void> => {
    const state = await deps.state.read(effect.roomId);
    // Started again since: the new session's dispatch decides who transcribes.
    if (state?.active) return;
    const session = { roomId: effect.roomId, startedAt: effect.startedAt };
    await eachRoom(await liveKitRoomsOfCall(effect.roomId), (livekitRoom) => dispatch.stop(livekitRoom, session, effect.requestedAt));
  };

  const reconcile = async (roomId: string): Promise<TranscriptionEffect[]> => {
    const state = await deps.state.read(roomId);
    if (state === null || state.started_at === undefined) return [];
    const rooms = await liveKitRoomsOfCall(roomId);
    if (state.active && state.thread_root !== undefined) {
      const session = { roomId, startedAt: state.started_at };
      const effects: TranscriptionEffect[] = [];
      for (const livekitRoom of rooms) {
        if ((await dispatch.inspect(livekitRoom, session)).status === "untranscribed") {
          log.warn("a transcribed call has no transcriber: dispatching", { roomId, livekitRoom });
          effects.push({ kind: "transcription_dispatch", roomId, livekitRoom, since: now() });
        }
      }
      return effects;
    }
    if (state.active) return [];
    for (const livekitRoom of rooms) {
      if ((await dispatch.inspect(livekitRoom, null)).transcribers) {
        log.warn("a transcriber stayed after the transcription stopped: stopping it", { roomId, livekitRoom });
        return [{ kind: "transcription_stop", roomId, startedAt: state.started_at, requestedAt: state.stopped_at ?? now() }];
      }
    }
    return [];
  };

  const runRecording = async (effect: RecordingTranscriptionEffect): Promise<void> => {
    const metadata: TranscriptionJobMetadata = {
      room_id: effect.roomId,
      language: effect.language,
      engine: effect.engine,
      started_at: effect.requestedAt,
      thread_root: effect.eventId,
      recording: effect.recording,
    };
    try {
      await dispatch.ensureRecording(recordingLiveKitRoom(effect.roomId, effect.eventId), metadata);
    } catch (err) {
      if (err instanceof EffectPendingError) await reportWorker(metadata, effect.requestedAt, false);
      throw err;
    }
    await reportWorker(metadata, effect.requestedAt, true);
  };

  return {
    run(effect: TranscriptionEffect) {
      if (effect.kind === "transcription_dispatch") return runDispatch(effect);
      if (effect.kind === "recording_transcription") return runRecording(effect);
      return runStop(effect);
    },
    reconcile,
  };
}
