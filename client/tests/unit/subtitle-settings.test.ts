// The viewer's subtitle settings: defaults, each change saved, read back by a new page, a damaged or
// partly unknown entry falling back field by field.
import assert from "node:assert/strict";
import { createPinia } from "pinia";
import { createApp } from "vue";
import { DEFAULT_CLIENT_CONFIG } from "../../src/services/client-config.ts";
import { provideServices, type Services } from "../../src/services/index.ts";
import { DEFAULT_SUBTITLE_SETTINGS, parseSubtitleSettings } from "../../src/services/subtitles/subtitle-settings.ts";
import { useSubtitleSettingsStore } from "../../src/stores/subtitle-settings.ts";
import { memoryStorage, noMedia } from "./doubles.ts";

function settingsStore(storage: Storage): ReturnType<typeof useSubtitleSettingsStore> {
  const app = createApp({});
  const fetchNothing = () => Promise.reject(new Error("no network in this test"));
  const services: Services = {
    fetch: fetchNothing,
    storage,
    tabStorage: memoryStorage(),
    createMatrixClient: () => {
      throw new Error("no Matrix client in this test");
    },
    callMedia: noMedia,
    config: DEFAULT_CLIENT_CONFIG,
  };
  provideServices(app, services);
  const pinia = createPinia();
  app.use(pinia);
  return app.runWithContext(() => useSubtitleSettingsStore(pinia));
}

describe("subtitle settings", () => {
  it("starts shown, medium, at the bottom, not read out", () => {
    const store = settingsStore(memoryStorage());
    assert.deepEqual([store.visible, store.size, store.position, store.announce], [true, "medium", "bottom", false]);
  });

  it("saves every change, and a new page (a new store on the same storage) reads them back", () => {
    const storage = memoryStorage();
    const store = settingsStore(storage);
    store.setSize("large");
    store.setPosition("top");
    store.setVisible(false);
    store.setAnnounce(true);
    assert.deepEqual([store.visible, store.size, store.position, store.announce], [false, "large", "top", true]);
    const reloaded = settingsStore(storage);
    assert.deepEqual([reloaded.visible, reloaded.size, reloaded.position, reloaded.announce], [false, "large", "top", true]);
    reloaded.setPosition("below");
    assert.equal(settingsStore(storage).position, "below");
  });

  it("falls back to the default of each field it cannot read", () => {
    assert.deepEqual(parseSubtitleSettings(null), DEFAULT_SUBTITLE_SETTINGS);
    assert.deepEqual(parseSubtitleSettings("{"), DEFAULT_SUBTITLE_SETTINGS);
    assert.deepEqual(parseSubtitleSettings("[1]"), DEFAULT_SUBTITLE_SETTINGS);
    assert.deepEqual(parseSubtitleSettings('{"visible":"no","size":"huge","position":"left","announce":1}'), DEFAULT_SUBTITLE_SETTINGS);
    assert.deepEqual(parseSubtitleSettings('{"size":"small","position":"below"}'), { ...DEFAULT_SUBTITLE_SETTINGS, size: "small", position: "below" });
  });
});
