// Runs the effects that committed call changes left in call_effects: the bot's notices and the
// LiveKit room API calls. Every effect is safe to run twice (notices carry a fixed transaction ID,
// LiveKit answers not_found for what is already gone), so one left half-done by a crash is simply
// run again after the restart.
import type { ParticipantInfo, RoomServiceClient } from "livekit-server-sdk";
import type { HomeserverClient } from "../homeserver-client.ts";
import { isLiveKitNotFound as isNotFound } from "../livekit/lazy-sdk.ts";
import type { Logger } from "../log.ts";
import type { CallEffect, CloseLiveKitRoomsEffect, RemoveFromLiveKitEffect, TranscriptionEffect } from "./call-effect-types.ts";
import type { CallStore, PendingEffect } from "./call-store.ts";

/**
 * Thrown by an effect that did its part but waits on something else (a worker taking a job, a
 * transcriber leaving): it runs again at the next check, and is not logged as a failure.
 */
export class EffectPendingError extends Error {
  override name = "EffectPendingError";
}

/** Runs the transcription effects (transcription/transcription-effects.ts). */
export interface TranscriptionEffectRunner {
  run(effect: TranscriptionEffect): Promise<void>;
  /**
   * Compares a room's transcription state with its LiveKit rooms (the reconciler): the effects that
   * would bring them together (a dispatch where callers are transcribed by nobody, a stop where a
   * transcriber stayed after the session ended). A missed webhook or a lost worker is caught here.
   */
  reconcile(roomId: string): Promise<TranscriptionEffect[]>;
}

/** The LiveKit room API calls the call lifecycle makes; a fake implements these three. */
export type LiveKitRoomService = Pick<RoomServiceClient, "listParticipants" | "removeParticipant" | "deleteRoom">;

export interface CallEffectsDeps {
  store: Pick<CallStore, "pendingEffects" | "effectAttempted" | "effectWaiting" | "identitiesOf" | "identity" | "activeCall" | "hostsRoom">;
  homeserver: Pick<HomeserverClient, "sendNotice" | "sendDelayedEvent">;
  /** null when the appservice has no focus section: calls run on other ministries' SFUs. */
  livekit: LiveKitRoomService | null;
  /** Absent: transcription effects are dropped (no LiveKit to dispatch on). */
  transcription?: Pick<TranscriptionEffectRunner, "run">;
  botUserId: string;
  log: Logger;
  /** Runs (one per drain) before an effect is given up. */
  maxAttempts?: number;
  /** Pause before an effect that waits (EffectPendingError) runs again; default 4 s. */
  pendingRetryMs?: number;
  now?: () => number;
}

export interface CallEffects {
  /** Runs every pending effect once; failed ones stay pending for the next drain. */
  drain(): Promise<void>;
}

const BATCH = 50;
/** Lanes (see laneOf) whose effects run at the same time. */
const LANES_AT_ONCE = 8;
/**
 * Effects of one lane run in order, lanes side by side: a room's notices (the homeserver), a room's
 * call on LiveKit (removals, closing, its transcriber), each recording's own LiveKit room, each
 * member's delegated leave.
 */
function laneOf(effect: CallEffect): string {
  if (effect.kind === "notice") return `homeserver ${effect.roomId}`;
  if (effect.kind === "recording_transcription") return `recording ${effect.roomId} ${effect.eventId}`;
  if (effect.kind === "send_delayed_leave") return `homeserver ${effect.roomId} ${effect.userId}`;
  return `livekit ${effect.roomId}`;
}

/** After the n-th failed attempt: 1 s, 2 s, 4 s… up to a minute (20 attempts span about 15 minutes). */
const retryDelayMs = (attempts: number): number => Math.min(1000 * 2 ** (attempts - 1), 60_000);

/** The participants LiveKit has in a room; none when it has no such room. */
export async function participantsOf(livekit: LiveKitRoomService, livekitRoom: string): Promise<ParticipantInfo[]> {
  try {
    return await livekit.listParticipants(livekitRoom);
  } catch (err) {
    if (await isNotFound(err)) return [];
    throw err;
  }
}

export function createCallEffects(deps: CallEffectsDeps): CallEffects {
  const { store, log } = deps;
  const now = deps.now ?? Date.now;
  const maxAttempts = deps.maxAttempts ?? 20;
  const pendingRetryMs = deps.pendingRetryMs ?? 4_000;

  const removeParticipant = async (livekit: LiveKitRoomService, livekitRoom: string, identity: string): Promise<boolean> => {
    try {
      await livekit.removeParticipant(livekitRoom, identity);
      return true;
    } catch (err) {
      if (await isNotFound(err)) return false;
      throw err;
    }
  };

  const removeFromLiveKit = async (livekit: LiveKitRoomService, effect: RemoveFromLiveKitEffect): Promise<void> => {
    let removed = 0;
    if (effect.only) {
      if (await removeParticipant(livekit, effect.only.livekitRoom, effect.only.identity)) removed++;
    } else {
      const identities = (await store.identitiesOf(effect.roomId, effect.userId)).filter(
        (i) => effect.deviceId === undefined || i.deviceId === effect.deviceId,
      );
      // Asking LiveKit who is connected bounds the work by the call's size, not by tokens ever issued.
      for (const livekitRoom of new Set(identities.map((i) => i.livekitRoom))) {
        const wanted = new Set(identities.filter((i) => i.livekitRoom === livekitRoom).map((i) => i.identity));
        for (const p of await participantsOf(livekit, livekitRoom)) {
          if (!wanted.has(p.identity)) continue;
          if (effect.joinedBefore !== undefined && Number(p.joinedAt) * 1000 > effect.joinedBefore) continue;
          if (await removeParticipant(livekit, livekitRoom, p.identity)) removed++;
        }
      }
    }
    if (removed > 0) log.info("removed from LiveKit", { roomId: effect.roomId, userId: effect.userId, reason: effect.reason, removed });
  };

  const closeLiveKitRooms = async (livekit: LiveKitRoomService, effect: CloseLiveKitRoomsEffect): Promise<void> => {
    // Somebody came back since the call emptied: the new call uses the same LiveKit room.
    if (await store.activeCall(effect.roomId)) return;
    for (const livekitRoom of effect.livekitRooms) {
      const participants = await participantsOf(livekit, livekitRoom);
      const known = await Promise.all(participants.map((p) => store.identity(livekitRoom, p.identity)));
      // Only participants of ours count: a transcription bridge alone does not keep a call open.
      if (known.some((k) => k !== null)) continue;
      try {
        await livekit.deleteRoom(livekitRoom);
        log.info("LiveKit room closed", { roomId: effect.roomId, callId: effect.callId });
      } catch (err) {
        if (!(await isNotFound(err))) throw err;
      }
    }
  };

  const run = async (effect: CallEffect): Promise<void> => {
    switch (effect.kind) {
      case "notice":
        // Meetings hosted by another ministry (followed for multi_sfu): its appservice posts there.
        if (!(await store.hostsRoom(effect.roomId))) return;
        await deps.homeserver.sendNotice(effect.roomId, effect.txnId, effect.content);
        return;
      case "remove_from_livekit":
        if (deps.livekit) await removeFromLiveKit(deps.livekit, effect);
        return;
      case "close_livekit_rooms":
        if (deps.livekit) await closeLiveKitRooms(deps.livekit, effect);
        return;
      case "send_delayed_leave": {
        // The focus takes delegations from users of this homeserver only: it is theirs.
        const sent = await deps.homeserver.sendDelayedEvent(effect.delayId);
        log.info(sent ? "delegated leave sent" : "delegated leave already gone", { roomId: effect.roomId, userId: effect.userId });
        return;
      }
      case "transcription_dispatch":
      case "transcription_stop":
      case "recording_transcription":
        await deps.transcription?.run(effect);
        return;
    }
  };

  /** One try of one effect: done, waiting (out of the batches until its next check), or failed: when it is retried. */
  const attempt = async ({ id, effect, attempts }: PendingEffect): Promise<"done" | "waiting" | { retryAt: number }> => {
    try {
      await run(effect);
      await store.effectAttempted(id, true, now());
      return "done";
    } catch (err) {
      if (err instanceof EffectPendingError) {
        // Waiting is not failing: it does not count towards giving up (the effect ends by
        // itself when what it waits for is moot, e.g. the call ended), and is checked again
        // after a pause rather than at every drain that other changes cause. It is out of the
        // batches until then: effects that wait never hold back the others.
        await store.effectWaiting(id, now() + pendingRetryMs);
        log.debug("call effect waiting", { kind: effect.kind, roomId: effect.roomId, reason: err.message });
        return "waiting";
      }
      const giveUp = attempts + 1 >= maxAttempts;
      const fields = { kind: effect.kind, roomId: effect.roomId, attempts: attempts + 1, err };
      if (giveUp) log.error("call effect given up", fields);
      else log.warn("call effect failed, will retry", fields);
      // Out of the batches until its retry: failing effects never fill a batch and hold back new ones.
      const retryAt = now() + retryDelayMs(attempts + 1);
      await store.effectAttempted(id, giveUp, now(), retryAt);
      return giveUp ? "done" : { retryAt };
    }
  };

  /**
   * A lane's effects in their order; after a failure the lane's later ones wait for the retry: a
   * notice that cannot be posted never holds back a removal.
   */
  const runLane = async (effects: readonly PendingEffect[]): Promise<void> => {
    for (const [index, pending] of effects.entries()) {
      const outcome = await attempt(pending);
      if (typeof outcome === "string") continue;
      // The ones behind it wait as long, so that they are retried after it, in order.
      for (const later of effects.slice(index + 1)) await store.effectWaiting(later.id, outcome.retryAt);
      return;
    }
  };

  const drainOnce = async (): Promise<void> => {
    for (;;) {
      const pending = await store.pendingEffects(BATCH, now());
      const byLane = new Map<string, PendingEffect[]>();
      for (const p of pending) {
        const key = laneOf(p.effect);
        byLane.set(key, [...(byLane.get(key) ?? []), p]);
      }
      // Lanes side by side, a few at a time: one slow homeserver or LiveKit call (each has a timeout)
      // holds back its own lane only.
      const lanes = [...byLane.values()];
      const worker = async (): Promise<void> => {
        for (let next = lanes.shift(); next !== undefined; next = lanes.shift()) await runLane(next);
      };
      await Promise.all(Array.from({ length: Math.min(LANES_AT_ONCE, lanes.length) }, worker));
      // Failed and waiting effects are out of the next batch until their time: a drain then (the
      // timer's, or one a new change asks for) tries them again.
      if (pending.length < BATCH) return;
    }
  };

  // One drain at a time; a drain asked for while one runs runs once more after it.
  let running: Promise<void> | null = null;
  let again = false;
  const drain = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await drainOnce();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };

  return { drain };
}
