// The transcription effects of the call lifecycle: decided in a database transaction (a start, a
// stop, a call's first participant, a transcriber leaving), run after it with retries. Each reads the
// room's transcription state first, so an effect that runs late acts on the state as it is now.
import type { TranscriptionJobMetadata } from "../../../wire-types.ts";
import type { TranscriptionDispatchEffect, TranscriptionEffect, TranscriptionStopEffect } from "../calls/call-effect-types.ts";
import { EffectPendingError, type TranscriptionEffectRunner } from "../calls/call-effects.ts";
import type { CallStore } from "../calls/call-store.ts";
import type { Logger } from "../log.ts";
import type { TranscriberDispatch } from "./transcriber-dispatch.ts";
import type { TranscriptionStateReader } from "./transcription-state.ts";

export interface TranscriptionEffectsDeps {
  state: TranscriptionStateReader;
  calls: Pick<CallStore, "activeCall" | "openPresences">;
  dispatch: TranscriberDispatch;
  log: Logger;
}

export function createTranscriptionEffects(deps: TranscriptionEffectsDeps): TranscriptionEffectRunner {
  const { calls, dispatch } = deps;

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
    await eachRoom(rooms, (livekitRoom) => dispatch.ensure(livekitRoom, metadata, effect.since));
  };

  const runStop = async (effect: TranscriptionStopEffect): Promise<void> => {
    const state = await deps.state.read(effect.roomId);
    // Started again since: the new session's dispatch decides who transcribes.
    if (state?.active) return;
    const session = { roomId: effect.roomId, startedAt: effect.startedAt };
    await eachRoom(await liveKitRoomsOfCall(effect.roomId), (livekitRoom) => dispatch.stop(livekitRoom, session, effect.requestedAt));
  };

  return {
    run(effect: TranscriptionEffect) {
      return effect.kind === "transcription_dispatch" ? runDispatch(effect) : runStop(effect);
    },
  };
}
