// The viewer's subtitle settings (see services/subtitles/subtitle-settings.ts), saved on every change.
import { defineStore } from "pinia";
import { computed, ref } from "vue";
import { useServices } from "../services/index.ts";
import {
  loadSubtitleSettings,
  saveSubtitleSettings,
  type SubtitlePosition,
  type SubtitleSettings,
  type SubtitleSize,
} from "../services/subtitles/subtitle-settings.ts";

export const useSubtitleSettingsStore = defineStore("subtitleSettings", () => {
  const { storage } = useServices();
  const settings = ref<SubtitleSettings>(loadSubtitleSettings(storage));

  function change(patch: Partial<SubtitleSettings>): void {
    settings.value = { ...settings.value, ...patch };
    saveSubtitleSettings(storage, settings.value);
  }

  return {
    visible: computed(() => settings.value.visible),
    size: computed(() => settings.value.size),
    position: computed(() => settings.value.position),
    announce: computed(() => settings.value.announce),
    setVisible: (visible: boolean) => change({ visible }),
    setSize: (size: SubtitleSize) => change({ size }),
    setPosition: (position: SubtitlePosition) => change({ position }),
    setAnnounce: (announce: boolean) => change({ announce }),
  };
});
