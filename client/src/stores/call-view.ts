// How this viewer looks at the call: grid or speaker view, a pinned tile, who spoke last, and which
// of the room's tabs is open beside the call (over it, on a phone).
import { defineStore } from "pinia";
import { computed, ref, watch } from "vue";
import { arrangeStage, tileKey, type StageMode, type StageTile } from "../services/call/stage-layout.ts";
import { useCallStore } from "./call.ts";

export type RoomTab = "chat" | "members" | "transcript";
export const ROOM_TABS: readonly RoomTab[] = ["chat", "members", "transcript"];

export const useCallViewStore = defineStore("callView", () => {
  const call = useCallStore();
  const mode = ref<StageMode>("grid");
  const pinned = ref<string | null>(null);
  const activeSpeaker = ref<string | null>(null);
  const tab = ref<RoomTab>("chat");
  /** Narrow screens: the room's tabs cover the call until closed. */
  const panelOpen = ref(false);

  // The speaker view follows whoever else spoke last, and stays on them through silences.
  watch(
    () => call.participants.find((p) => p.speaking && !p.isLocal)?.identity ?? null,
    (speaking) => {
      if (speaking !== null) activeSpeaker.value = speaking;
    },
  );
  watch(
    () => call.phase,
    (phase) => {
      if (phase !== "idle") return;
      pinned.value = null;
      activeSpeaker.value = null;
      panelOpen.value = false;
    },
  );

  const tiles = computed<StageTile[]>(() => {
    const tiles: StageTile[] = [];
    for (const p of call.participants) if (p.screen !== null) tiles.push({ key: tileKey(p.identity, "screen"), identity: p.identity, source: "screen", isLocal: p.isLocal });
    for (const p of call.participants) tiles.push({ key: tileKey(p.identity, "camera"), identity: p.identity, source: "camera", isLocal: p.isLocal });
    return tiles;
  });
  const arrangement = computed(() => arrangeStage(tiles.value, { mode: mode.value, pinned: pinned.value, activeSpeaker: activeSpeaker.value }));

  function togglePin(key: string): void {
    pinned.value = pinned.value === key ? null : key;
  }

  function showTab(next: RoomTab): void {
    tab.value = next;
    panelOpen.value = true;
  }

  return {
    mode,
    pinned: computed(() => pinned.value),
    activeSpeaker: computed(() => activeSpeaker.value),
    arrangement,
    tab,
    panelOpen,
    togglePin,
    setMode: (next: StageMode) => void (mode.value = next),
    showTab,
    closePanel: () => void (panelOpen.value = false),
  };
});
