// Breakout groups of the open meeting: what a moderator starts and ends, and the moves of this user's
// call (into their group's call when the groups start, back to the meeting's when they end or their
// time is up). The rules are in services/breakouts/breakouts.ts; this store follows the room.
import { KnownMembership, MsgType, type Room } from "matrix-js-sdk";
import { defineStore } from "pinia";
import { computed, onScopeDispose, ref, shallowRef, watch } from "vue";
import type { BreakoutGroup, BreakoutsContent } from "../../../config/wire-types.ts";
import { breakoutsOf, controlBreakouts, groupOf, isRunning, parentOf } from "../services/breakouts/breakouts.ts";
import { asVisioError, type VisioError } from "../services/errors.ts";
import { useServices } from "../services/index.ts";
import { liveMemberships, rtcSessionOf } from "../services/matrix/call-membership.ts";
import { appserviceOfRoom } from "../services/transcription/transcription-control.ts";
import { useCallStore } from "./call.ts";
import { useCallReturnStore } from "./call-return.ts";
import { useRoomsStore } from "./rooms.ts";
import { useSessionStore } from "./session.ts";

const ROOM_READY_TIMEOUT_MS = 20_000;

export const useBreakoutsStore = defineStore("breakouts", () => {
  const services = useServices();
  const session = useSessionStore();
  const rooms = useRoomsStore();
  const call = useCallStore();
  const callReturn = useCallReturnStore();
  const pending = ref(false);
  const moving = ref(false);
  const failure = shallowRef<VisioError | null>(null);
  // Time limits and countdowns follow the clock.
  const now = ref(Date.now());
  const tick = setInterval(() => (now.value = Date.now()), 1000);
  onScopeDispose(() => clearInterval(tick));

  /** The meeting the open room belongs to: the room itself, or the meeting of the group it is. */
  const meeting = computed<Room | null>(() => {
    void rooms.revision;
    const room = rooms.selectedRoom;
    const parentId = parentOf(room);
    return (parentId !== null ? session.client?.getRoom(parentId) : null) ?? room;
  });
  const state = computed<BreakoutsContent | null>(() => {
    void rooms.revision;
    return breakoutsOf(meeting.value);
  });
  const running = computed(() => isRunning(state.value, now.value));
  const myGroup = computed<BreakoutGroup | null>(() => groupOf(state.value, session.userId, now.value));
  const secondsLeft = computed(() => (running.value && state.value?.ends_at !== undefined ? Math.max(0, Math.round((state.value.ends_at - now.value) / 1000)) : null));

  /** Who can be sent to a group: the people in the meeting's call now. */
  const participants = computed<string[]>(() => {
    void rooms.revision;
    void now.value;
    const client = session.client;
    const room = meeting.value;
    if (client === null || room === null) return [];
    return [...new Set(liveMemberships(rtcSessionOf(client, room)).map((m) => m.sender).filter((s): s is string => s !== undefined))];
  });

  async function control(request: { action: "start" | "end"; groups?: string[][]; durationMinutes?: number }): Promise<boolean> {
    const client = session.client;
    const room = meeting.value;
    if (client === null || room === null || pending.value) return false;
    pending.value = true;
    failure.value = null;
    try {
      const url = await appserviceOfRoom(services.fetch, { alias: room.getCanonicalAlias(), roomId: room.roomId }, session, "breakouts.noService");
      await controlBreakouts(services.fetch, url, { roomId: room.roomId, ...request, openIdToken: await client.getOpenIdToken() });
      return true;
    } catch (caught) {
      failure.value = asVisioError(caught);
      return false;
    } finally {
      pending.value = false;
    }
  }

  /** Until the room is joined and its state has come down the sync: a call needs its power levels. */
  async function roomReady(roomId: string): Promise<void> {
    const client = session.client;
    if (client === null) return;
    if (client.getRoom(roomId)?.getMyMembership() !== KnownMembership.Join) await client.joinRoom(roomId);
    const deadline = Date.now() + ROOM_READY_TIMEOUT_MS;
    while (client.getRoom(roomId)?.currentState.getStateEvents("m.room.power_levels", "") == null) {
      if (Date.now() > deadline) throw new Error(`room ${roomId} not synced`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The user's call moves to `roomId`'s: out of the current one, into the other, devices as before. */
  async function moveCall(roomId: string): Promise<void> {
    moving.value = true;
    failure.value = null;
    try {
      await call.leave();
      // Moved, not left: nothing to offer back.
      callReturn.dismiss();
      await roomReady(roomId);
      rooms.select(roomId);
      await call.openPrejoin();
      await call.join();
    } catch (caught) {
      failure.value = asVisioError(caught);
    } finally {
      moving.value = false;
    }
  }

  // Where this user's call belongs, as the groups start and end: into their group's call from the
  // meeting's, back to the meeting's once the groups are over. Someone in no group (a moderator
  // visiting the groups) is never moved while they run.
  watch(
    () => [call.phase, call.callRoomId, myGroup.value?.room_id ?? null, running.value, meeting.value?.roomId ?? null].join("\n"),
    () => {
      const inCall = call.callRoomId;
      const meetingId = meeting.value?.roomId ?? null;
      const group = myGroup.value?.room_id ?? null;
      if (call.phase !== "joined" || inCall === null || meetingId === null || moving.value) return;
      if (group !== null && inCall === meetingId) void moveCall(group);
      const inAGroup = state.value?.groups.some((g) => g.room_id === inCall) ?? false;
      if (inAGroup && (!running.value || (group !== null && group !== inCall))) void moveCall(meetingId);
    },
  );

  /** "Appeler l'animateur": a message in the meeting that mentions the moderator who started the groups. */
  async function callModerator(text: string): Promise<void> {
    const client = session.client;
    const room = meeting.value;
    const moderator = state.value?.started_by;
    if (client === null || room === null || moderator === undefined) return;
    try {
      await client.sendMessage(room.roomId, { msgtype: MsgType.Text, body: text, "m.mentions": { user_ids: [moderator] } });
    } catch (caught) {
      failure.value = asVisioError(caught);
    }
  }

  return {
    meeting,
    state,
    running,
    myGroup,
    secondsLeft,
    participants,
    pending: computed(() => pending.value),
    moving: computed(() => moving.value),
    failure: computed(() => failure.value),
    start: (groups: string[][], durationMinutes?: number) => control({ action: "start", groups, ...(durationMinutes !== undefined ? { durationMinutes } : {}) }),
    end: () => control({ action: "end" }),
    /** A moderator in no group goes to see one: their call moves there (and back to the meeting's at the end). */
    visit: (roomId: string) => moveCall(roomId),
    callModerator,
  };
});
