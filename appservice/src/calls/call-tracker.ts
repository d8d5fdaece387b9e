// The call state machine: presences open and close (LiveKit connections from webhooks, MatrixRTC
// memberships from transactions); the first presence starts a room's call, the last one to close
// ends it. Runs inside the database transaction of the change, and only enqueues effects (notices,
// LiveKit removals), which run after the commit.
import type { Logger } from "../log.ts";
import type { CallInput, RoomDeparture, RtcJoin, RtcLeave, TranscriptionStateChange } from "./call-events.ts";
import { sendDelayedLeave } from "./call-effect-types.ts";
import { callEndedNotice, callStartedNotice, noticeTxnId } from "./call-notices.ts";
import type { Call, CallStore, NewPresence, Presence } from "./call-store.ts";

export interface LiveKitParticipantEvent {
  livekitRoom: string;
  identity: string;
  /** LiveKit participant SID: a reconnection under the same identity is a new SID. */
  sid: string;
  at: number;
  /** The transcription bridge's participant (see transcription/transcriber-dispatch.ts). */
  transcriber?: boolean;
  /** Why LiveKit let a participant go (its DisconnectReason), when it says. */
  disconnectReason?: number;
}

// LiveKit's DisconnectReason values for a connection replaced by the same participant's next one
// (a reconnection, a move to another node): the participant is still in the call.
const DUPLICATE_IDENTITY = 2;
const MIGRATION = 8;

export interface CallTracker {
  apply(input: CallInput): Promise<void>;
  liveKitJoined(event: LiveKitParticipantEvent): Promise<void>;
  liveKitLeft(event: LiveKitParticipantEvent): Promise<void>;
  liveKitRoomFinished(livekitRoom: string, at: number): Promise<void>;
  /**
   * LiveKit (re)created a LiveKit room at `createdAt`: nobody can still be in it from before. After
   * a LiveKit restart, which tells nothing of the participants it lost, their presences end there.
   */
  liveKitRoomStarted(livekitRoom: string, createdAt: number): Promise<void>;
  /** Ends calls whose remaining MatrixRTC memberships expired without a leave event. */
  sweep(now: number): Promise<void>;
}

/** `language`: the server's (transcription.language), which the call notices are written in. */
export function callTracker(store: CallStore, log: Logger, language: string): CallTracker {
  const join = async (roomId: string, presence: Omit<NewPresence, "callId">): Promise<void> => {
    let call = await store.activeCall(roomId);
    if (!call) {
      call = await store.startCall(roomId, presence.joinedAt);
      log.info("call started", { roomId, callId: call.id });
      await store.enqueueEffect(
        { kind: "notice", roomId, txnId: noticeTxnId(call.id, "started"), content: callStartedNotice(call, language) },
        presence.joinedAt,
      );
    }
    const open = await store.openPresence(call.id, presence.source, presence.key);
    if (open) {
      // A refreshed membership (MatrixRTC clients re-send it to extend `expires`).
      if (open.expiresAt !== presence.expiresAt) await store.updateExpiry(open.id, presence.expiresAt);
      return;
    }
    await store.addPresence({ ...presence, callId: call.id });
  };

  /**
   * A meeting's transcription state changed (the room's power levels decide who may change it: the
   * hosting ministry's bot): the part of its call on this ministry's SFU gets this ministry's
   * transcriber, or is told to stop. This is the one place the dispatch is enqueued, also for the
   * meetings this appservice hosts, whose start and stop requests only write the state: the effect
   * is enqueued in the same database transaction as the homeserver's transaction that carries the
   * state, which the homeserver delivers again until it is acknowledged, so no crash between the
   * two leaves a state without its effect.
   */
  const transcriptionState = async (input: TranscriptionStateChange): Promise<void> => {
    if (input.active) {
      await store.enqueueEffect({ kind: "transcription_dispatch", roomId: input.roomId, since: input.startedAt ?? input.at }, input.at);
    } else if (input.startedAt !== undefined) {
      await store.enqueueEffect({ kind: "transcription_stop", roomId: input.roomId, startedAt: input.startedAt, requestedAt: input.at }, input.at);
    }
  };

  /** Closes expired memberships, and ends the call when nobody is left. */
  const endIfEmpty = async (call: Call, now: number): Promise<void> => {
    let open = await store.openPresences(call.id);
    for (const p of open) {
      if (p.source === "matrixrtc" && p.expiresAt !== null && p.expiresAt <= now) await store.closePresence(p, p.expiresAt);
    }
    open = await store.openPresences(call.id);
    if (open.length > 0) return;
    const all = await store.presences(call.id);
    // The call ended when its last participant left, whenever we learn about it.
    const endedAt = Math.max(call.startedAt, ...all.map((p) => p.leftAt ?? call.startedAt));
    const ended = await store.endCall(call.id, endedAt);
    const participantIds = [...new Set(all.map((p) => p.userId))];
    log.info("call ended", { roomId: call.roomId, callId: call.id, participants: participantIds.length });
    await store.enqueueEffect(
      {
        kind: "notice",
        roomId: call.roomId,
        txnId: noticeTxnId(call.id, "ended"),
        content: callEndedNotice({ ...ended, endedAt }, participantIds, language),
      },
      now,
    );
    const livekitRooms = [...new Set(all.flatMap((p) => (p.livekitRoom === null ? [] : [p.livekitRoom])))];
    if (livekitRooms.length > 0) {
      await store.enqueueEffect({ kind: "close_livekit_rooms", roomId: call.roomId, callId: call.id, livekitRooms }, now);
    }
  };

  const hasLiveKitIdentity = async (roomId: string, userId: string, deviceId?: string): Promise<boolean> =>
    (await store.identitiesOf(roomId, userId)).some((i) => deviceId === undefined || i.deviceId === deviceId);

  const rtcJoin = (input: RtcJoin): Promise<void> =>
    join(input.roomId, {
      source: "matrixrtc",
      key: input.stateKey,
      userId: input.userId,
      deviceId: input.deviceId,
      livekitRoom: null,
      identity: null,
      joinedAt: input.at,
      expiresAt: input.expiresAt,
    });

  const rtcLeave = async (input: RtcLeave): Promise<void> => {
    const call = await store.activeCall(input.roomId);
    const open = call ? await store.openPresence(call.id, "matrixrtc", input.stateKey) : null;
    if (open) await store.closePresence(open, input.at);
    // Also when we never saw the join: a crashed client's delayed leave must still clear its device.
    // A device we cannot tell (an m.rtc.member leave whose join we missed) is left to its connection.
    const deviceId = open?.deviceId ?? input.keyDevice;
    if (deviceId !== null && (await hasLiveKitIdentity(input.roomId, input.userId, deviceId))) {
      await store.enqueueEffect(
        { kind: "remove_from_livekit", roomId: input.roomId, userId: input.userId, deviceId, joinedBefore: input.at, reason: "left_call" },
        input.at,
      );
    }
    if (call) await endIfEmpty(call, input.at);
  };

  const departure = async (input: RoomDeparture): Promise<void> => {
    const call = await store.activeCall(input.roomId);
    if (call) {
      // A removed user cannot send their own leave event any more: their memberships end here.
      for (const p of await store.openPresences(call.id)) {
        if (p.source === "matrixrtc" && p.userId === input.userId) await store.closePresence(p, input.at);
      }
    }
    if (await hasLiveKitIdentity(input.roomId, input.userId)) {
      const reason = input.removed ? (input.isBan ? "banned" : "kicked") : "left_room";
      await store.enqueueEffect({ kind: "remove_from_livekit", roomId: input.roomId, userId: input.userId, reason }, input.at);
    }
    if (call) await endIfEmpty(call, input.at);
  };

  /**
   * The participant's connection is gone: the delayed leave its client handed to the focus is sent
   * now, so that its call membership ends with it (a closed tab, a crash), not when the delay runs
   * out. Not when the connection was only replaced by the same participant's next one.
   */
  const sendDelegatedLeave = async (event: LiveKitParticipantEvent, inRoom: readonly Presence[]): Promise<void> => {
    if (event.disconnectReason === DUPLICATE_IDENTITY || event.disconnectReason === MIGRATION) return;
    if (inRoom.some((p) => p.identity === event.identity && p.key !== event.sid)) return;
    const leave = await store.takeDelegatedLeave(event.livekitRoom, event.identity);
    if (!leave) return;
    await store.enqueueEffect(sendDelayedLeave(leave), event.at);
  };

  return {
    async apply(input) {
      if (input.kind === "rtc-join") return rtcJoin(input);
      if (input.kind === "rtc-leave") return rtcLeave(input);
      if (input.kind === "transcription-state") return transcriptionState(input);
      return departure(input);
    },

    async liveKitJoined(event) {
      const known = await store.identity(event.livekitRoom, event.identity);
      // Not issued by our focus service (the transcription bridge, an agent): not a call participant.
      if (!known) return log.debug("LiveKit participant not issued by this focus", { livekitRoom: event.livekitRoom });
      if ((await store.membership(known.roomId, known.userId)) !== "join") {
        // Removed from the room while holding a still-valid LiveKit token: LiveKit lets them rejoin.
        await store.enqueueEffect(
          {
            kind: "remove_from_livekit",
            roomId: known.roomId,
            userId: known.userId,
            only: { livekitRoom: event.livekitRoom, identity: event.identity },
            reason: "not_joined",
          },
          event.at,
        );
        return;
      }
      // The first participant of a LiveKit room: a transcribed meeting gets its transcriber there.
      const first = (await store.openPresencesInLiveKitRoom(event.livekitRoom)).length === 0;
      if (first) {
        await store.enqueueEffect(
          { kind: "transcription_dispatch", roomId: known.roomId, livekitRoom: event.livekitRoom, since: event.at },
          event.at,
        );
      }
      await join(known.roomId, {
        source: "livekit",
        key: event.sid,
        userId: known.userId,
        deviceId: known.deviceId,
        livekitRoom: event.livekitRoom,
        identity: event.identity,
        joinedAt: event.at,
        expiresAt: null,
      });
    },

    async liveKitLeft(event) {
      if (event.transcriber) {
        // A transcriber gone while people remain (a worker died or stopped): dispatched again if
        // the room is still transcribed, its dispatch withdrawn if not.
        const remaining = await store.openPresencesInLiveKitRoom(event.livekitRoom);
        const call = remaining[0] ? await store.call(remaining[0].callId) : null;
        if (call && call.endedAt === null) {
          await store.enqueueEffect(
            { kind: "transcription_dispatch", roomId: call.roomId, livekitRoom: event.livekitRoom, since: event.at },
            event.at,
          );
        }
        return;
      }
      const inRoom = await store.openPresencesInLiveKitRoom(event.livekitRoom);
      await sendDelegatedLeave(event, inRoom);
      const open = inRoom.find((p) => p.key === event.sid);
      if (!open) return;
      await store.closePresence(open, event.at);
      const call = await store.call(open.callId);
      if (call && call.endedAt === null) await endIfEmpty(call, event.at);
    },

    async liveKitRoomStarted(livekitRoom, createdAt) {
      const stale = (await store.openPresencesInLiveKitRoom(livekitRoom)).filter((p) => p.joinedAt < createdAt);
      if (stale.length === 0) return;
      log.warn("LiveKit room started again: the presences it lost are closed", { livekitRoom, closed: stale.length });
      for (const p of stale) await store.closePresence(p, createdAt);
      for (const callId of new Set(stale.map((p) => p.callId))) {
        const call = await store.call(callId);
        if (call && call.endedAt === null) await endIfEmpty(call, createdAt);
      }
    },

    async liveKitRoomFinished(livekitRoom, at) {
      const open = await store.openPresencesInLiveKitRoom(livekitRoom);
      for (const p of open) await store.closePresence(p, at);
      for (const callId of new Set(open.map((p) => p.callId))) {
        const call = await store.call(callId);
        if (call && call.endedAt === null) await endIfEmpty(call, at);
      }
    },

    async sweep(now) {
      for (const call of await store.activeCalls()) await endIfEmpty(call, now);
    },
  };
}
