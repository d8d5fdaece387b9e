// Hands and reactions: raising and lowering our hand, sending a reaction, and the reactions flying
// over the call for a few seconds (Element Call's `io.element.call.reaction` events, whoever sent them).
import { RoomEvent, type MatrixClient, type MatrixEvent, type Room } from "matrix-js-sdk";
import type { MatrixRTCSession } from "matrix-js-sdk/lib/matrixrtc/index.js";
import { ref } from "vue";
import { CALL_REACTION_EVENT, lowerHand, ownMembership, raiseHand, sendCallReaction } from "../../services/matrix/call-membership.ts";

export interface FlyingReaction {
  id: string;
  name: string;
  emoji: string;
}

const REACTION_LINGER_MS = 4_000;

export function createCallReactions(displayName: (userId: string) => string) {
  const reactions = ref<FlyingReaction[]>([]);

  /** Shows the room's reactions as they come; answers how to stop. */
  function watch(room: Room): () => void {
    const onTimeline = (event: MatrixEvent, _room: Room | undefined, toStart: boolean | undefined): void => {
      if (toStart === true || event.getType() !== CALL_REACTION_EVENT) return;
      const content = event.getContent<{ emoji?: unknown }>();
      const eventId = event.getId();
      const sender = event.getSender();
      if (typeof content.emoji !== "string" || eventId === undefined || sender === undefined) return;
      reactions.value = [...reactions.value, { id: eventId, name: displayName(sender), emoji: content.emoji }];
      setTimeout(() => {
        reactions.value = reactions.value.filter((r) => r.id !== eventId);
      }, REACTION_LINGER_MS);
    };
    room.on(RoomEvent.Timeline, onTimeline);
    return () => room.off(RoomEvent.Timeline, onTimeline);
  }

  return { reactions, watch };
}

/** Raises our hand (an m.reaction 🖐️ on our membership), or lowers it (`raised`: that reaction's ID). */
export async function toggleOwnHand(client: MatrixClient, rtcSession: MatrixRTCSession, roomId: string, raised: string | undefined): Promise<void> {
  if (raised !== undefined) return lowerHand(client, roomId, raised);
  const membership = ownMembership(rtcSession, client);
  if (membership !== undefined) await raiseHand(client, roomId, membership.eventId);
}

/** A reaction on our membership, as Element Call sends it. */
export async function sendOwnReaction(client: MatrixClient, rtcSession: MatrixRTCSession, roomId: string, reaction: { emoji: string; name: string }): Promise<void> {
  const membership = ownMembership(rtcSession, client);
  if (membership !== undefined) await sendCallReaction(client, roomId, membership.eventId, reaction);
}
