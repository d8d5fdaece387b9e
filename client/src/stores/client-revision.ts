// The SDK mutates its Room objects in place and announces it with events; Vue cannot see that.
// A counter bumped on every event that changes what we show lets computed getters re-read the SDK.
import { ClientEvent, RoomEvent, RoomMemberEvent, RoomStateEvent, type MatrixClient } from "matrix-js-sdk";
import { ref, watch, type Ref } from "vue";

const EVENTS = [
  ClientEvent.Room,
  ClientEvent.DeleteRoom,
  RoomEvent.Timeline,
  RoomEvent.TimelineReset,
  RoomEvent.LocalEchoUpdated,
  RoomEvent.Name,
  RoomEvent.MyMembership,
  RoomEvent.Redaction,
  RoomStateEvent.Events,
  RoomStateEvent.Members,
  RoomMemberEvent.Name,
  RoomMemberEvent.Membership,
] as const;

export function useClientRevision(client: Ref<MatrixClient | null>): Ref<number> {
  const revision = ref(0);
  let scheduled = false;
  // Many events arrive per sync: one re-read per frame is enough.
  const bump = (): void => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      revision.value += 1;
    });
  };
  watch(
    client,
    (current, previous) => {
      for (const name of EVENTS) previous?.off(name as ClientEvent.Room, bump);
      for (const name of EVENTS) current?.on(name as ClientEvent.Room, bump);
      bump();
    },
    { immediate: true },
  );
  return revision;
}
