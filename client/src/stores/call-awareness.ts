// The call's toasts: members joining and leaving, hands going up (see ./call/call-awareness.ts).
import { defineStore } from "pinia";
import { computed, watch } from "vue";
import { createCallAwareness, type CallPresence } from "./call/call-awareness.ts";
import { useCallStore } from "./call.ts";

export type { CallToast } from "./call/call-awareness.ts";

export const useCallAwarenessStore = defineStore("callAwareness", () => {
  const call = useCallStore();
  const awareness = createCallAwareness();

  const presence = computed<CallPresence | null>(() => {
    if (call.phase !== "joined") return null;
    const members = new Map<string, string>();
    for (const p of call.participants) if (!p.isLocal && p.userId !== null) members.set(p.userId, p.name);
    return { members, hands: call.handQueue.filter((userId) => userId !== call.local?.userId) };
  });
  watch(presence, (now) => awareness.observe(now), { immediate: true });

  return { toasts: computed(() => awareness.toasts.value), dismiss: awareness.dismiss };
});
