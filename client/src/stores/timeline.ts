// The open room's timeline as the interface shows it, and sending into it.
import { EventStatus, MsgType, type MatrixEvent } from "matrix-js-sdk";
import { defineStore } from "pinia";
import { computed, ref, shallowRef } from "vue";
import { asVisioError, type VisioError } from "../services/errors.ts";
import { buildTimeline, transcriptThreads, type RawEvent, type TimelineModel } from "../timeline/timeline-model.ts";
import { useRoomsStore } from "./rooms.ts";
import { useSessionStore } from "./session.ts";

function rawEvent(event: MatrixEvent): RawEvent | null {
  const eventId = event.getId();
  const sender = event.getSender();
  if (eventId === undefined || sender === undefined) return null;
  if (event.status === EventStatus.NOT_SENT || event.status === EventStatus.CANCELLED) return null;
  const raw: RawEvent = {
    eventId,
    type: event.getType(),
    sender,
    ts: event.getTs(),
    content: event.getOriginalContent(),
    redacted: event.isRedacted(),
  };
  const stateKey = event.getStateKey();
  if (stateKey !== undefined) raw.stateKey = stateKey;
  const prev = event.getPrevContent().membership;
  if (typeof prev === "string") raw.prevMembership = prev;
  return raw;
}

export const useTimelineStore = defineStore("timeline", () => {
  const session = useSessionStore();
  const rooms = useRoomsStore();
  const sendFailure = shallowRef<VisioError | null>(null);
  const loadingOlder = ref(false);

  const model = computed<TimelineModel>(() => {
    void rooms.revision;
    const room = rooms.selectedRoom;
    if (room === null) return { main: [], threads: new Map() };
    const events = room.getLiveTimeline().getEvents();
    const bots = new Set(rooms.serviceMembers.map((member) => member.userId));
    return buildTimeline(events.map(rawEvent).filter((e): e is RawEvent => e !== null), { bots });
  });

  const transcripts = computed(() => transcriptThreads(model.value));

  async function send(body: string): Promise<boolean> {
    const text = body.trim();
    const room = rooms.selectedRoom;
    const client = session.client;
    if (text === "" || room === null || client === null) return false;
    sendFailure.value = null;
    try {
      await client.sendMessage(room.roomId, { msgtype: MsgType.Text, body: text });
      return true;
    } catch (error) {
      sendFailure.value = asVisioError(error);
      return false;
    }
  }

  async function loadOlder(): Promise<void> {
    const room = rooms.selectedRoom;
    const client = session.client;
    if (room === null || client === null || loadingOlder.value) return;
    loadingOlder.value = true;
    try {
      await client.scrollback(room, 50);
    } finally {
      loadingOlder.value = false;
    }
  }

  return {
    model,
    transcripts,
    sendFailure: computed(() => sendFailure.value),
    loadingOlder: computed(() => loadingOlder.value),
    send,
    loadOlder,
  };
});
