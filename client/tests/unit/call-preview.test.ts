// The call store's pre-join preview with a fake media layer whose tracks arrive when the test says:
// two quick device changes, or the pre-join closed while the camera opens, leave no track running.
import assert from "node:assert/strict";
import type { LocalAudioTrack, LocalVideoTrack } from "livekit-client";
import { createPinia } from "pinia";
import { createApp } from "vue";
import { DEFAULT_CLIENT_CONFIG } from "../../src/services/client-config.ts";
import { provideServices, type Services } from "../../src/services/index.ts";
import type { CallMedia, PreviewTracks } from "../../src/services/livekit/call-media.ts";
import { useCallStore } from "../../src/stores/call.ts";
import { memoryStorage } from "./doubles.ts";

interface FakeTrack {
  name: string;
  stopped: boolean;
  stop(): void;
  mediaStreamTrack: { getSettings(): { deviceId: string } };
}

function fakeTrack(name: string): FakeTrack {
  return {
    name,
    stopped: false,
    stop() {
      this.stopped = true;
    },
    mediaStreamTrack: { getSettings: () => ({ deviceId: name }) },
  };
}

/** createPreview answers only when the test resolves it, in any order. */
function slowMedia() {
  const pending: { choice: { cameraId: string | null }; resolve(tracks: PreviewTracks): void; tracks: FakeTrack[] }[] = [];
  const media: CallMedia = {
    listDevices: async () => ({ cameras: [{ deviceId: "cam-1", label: "Camera 1" }], microphones: [{ deviceId: "mic-1", label: "Mic 1" }] }),
    createPreview: (choice) =>
      new Promise<PreviewTracks>((resolve) => {
        const tracks = [fakeTrack(`video-${pending.length}`), fakeTrack(`audio-${pending.length}`)];
        pending.push({ choice, resolve, tracks });
      }),
    connect: () => Promise.reject(new Error("no calls in this test")),
  };
  const answer = (index: number): void => {
    const p = pending[index]!;
    p.resolve({ video: p.tracks[0] as unknown as LocalVideoTrack, audio: p.tracks[1] as unknown as LocalAudioTrack });
  };
  return { media, pending, answer };
}

function callStore(media: CallMedia): ReturnType<typeof useCallStore> {
  const app = createApp({});
  const services: Services = {
    fetch: () => Promise.reject(new Error("no network in this test")),
    storage: memoryStorage(),
    tabStorage: memoryStorage(),
    createMatrixClient: () => {
      throw new Error("no Matrix client in this test");
    },
    callMedia: media,
    config: DEFAULT_CLIENT_CONFIG,
  } as unknown as Services;
  provideServices(app, services);
  const pinia = createPinia();
  app.use(pinia);
  return app.runWithContext(() => useCallStore(pinia));
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe("call store: pre-join preview (fake media layer)", () => {
  it("two quick device changes: the older choice's tracks are stopped when they arrive, the newer ones shown", async () => {
    const { media, pending, answer } = slowMedia();
    const call = callStore(media);
    const opening = call.openPrejoin();
    answer(0);
    await opening;
    const first = call.chooseDevices({ cameraId: "cam-2" });
    const second = call.chooseDevices({ cameraId: "cam-3" });
    await settle();
    assert.equal(pending.length, 3);
    answer(2);
    await second;
    answer(1);
    await first;
    assert.deepEqual(
      pending.map((p) => p.tracks.map((t) => t.stopped)),
      [
        [true, true],
        [true, true],
        [false, false],
      ],
      "only the latest choice's tracks run",
    );
    assert.equal((call.preview.video as unknown as FakeTrack | null)?.name, "video-2");
    call.cancelPrejoin();
    assert.ok(pending[2]!.tracks.every((t) => t.stopped), "closing the pre-join stops them");
  });

  it("closing the pre-join while the camera opens: its tracks are stopped when they arrive", async () => {
    const { media, pending, answer } = slowMedia();
    const call = callStore(media);
    const opening = call.openPrejoin();
    await settle();
    call.cancelPrejoin();
    answer(0);
    await opening;
    assert.ok(pending[0]!.tracks.every((t) => t.stopped));
    assert.equal(call.preview.video, null);
    assert.equal(call.phase, "idle");
  });
});
