// Leaving a call and coming back: once a call of this tab ends (the user left, or the connection was
// lost) or the page was reloaded in the middle of one, the meeting offers to rejoin it instead of
// dropping the user back to an empty room without a word.
import { defineStore } from "pinia";
import { computed, shallowRef, watch } from "vue";
import { callInTab, forgetCall, rememberCall } from "../services/call/call-return.ts";
import { useServices } from "../services/index.ts";
import { useSessionStore } from "./session.ts";

export type CallReturnReason = "left" | "lost" | "moderated" | "reloaded";

export interface CallReturnOffer {
  roomId: string;
  reason: CallReturnReason;
}

export const useCallReturnStore = defineStore("callReturn", () => {
  const services = useServices();
  const session = useSessionStore();
  const offer = shallowRef<CallReturnOffer | null>(null);

  // Signed in (after a reload too): was this tab in a call a moment ago?
  watch(
    () => session.userId,
    (userId) => {
      if (userId === null) {
        offer.value = null;
        return;
      }
      const inTab = callInTab(services.tabStorage, userId, Date.now());
      offer.value = inTab === null ? null : { roomId: inTab.roomId, reason: "reloaded" };
    },
    { immediate: true },
  );

  /** The call of `roomId` is joined: a reload from now on offers it back. */
  function joined(roomId: string): void {
    offer.value = null;
    if (session.userId !== null) rememberCall(services.tabStorage, { roomId, userId: session.userId, since: Date.now() });
  }

  /** The call ended; `roomId` when it had been joined (then rejoining it is offered), null otherwise. */
  function ended(roomId: string | null, reason: "left" | "lost" | "moderated"): void {
    forgetCall(services.tabStorage);
    offer.value = roomId === null || session.userId === null ? null : { roomId, reason };
  }

  /** The offer is answered (rejoin or not): it goes away. */
  function dismiss(): void {
    forgetCall(services.tabStorage);
    offer.value = null;
  }

  return { offer: computed(() => offer.value), joined, ended, dismiss };
});
