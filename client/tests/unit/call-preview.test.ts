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

/** createPreview answers only when the test resolves it, in any order; it gives a track only for the kinds asked. */
function slowMedia() {
  const pending: { choice: { cameraId: string | null; microphoneId: string | null }; resolve(tracks: PreviewTracks): void; tracks: FakeTrack[] }[] = [];
  const media: CallMedia = {
    listDevices: async () => ({ cameras: [{ deviceId: "cam-1", label: "Camera 1" }], microphones: [{ deviceId: "mic-1", label: "Mic 1" }] }),
    createPreview: (choice) =>
      new Promise<PreviewTracks>((resolve) => {
        const tracks = [fakeTrack(`video-${pending.length}`), fakeTrack(`audio-${pending.length}`)];
        pending.push({ choice, resolve, tracks });
      }),
    connect: () => Promise.reject(new Error("no calls in this test")),
  };
  const answer = (index: number, problems: PreviewTracks["problems"] = {}): void => {
    const p = pending[index]!;
    const asked = (kind: "video" | "audio", id: string | null) => (id === null || problems[kind] !== undefined ? null : p.tracks[kind === "video" ? 0 : 1]!);
    p.resolve({
      video: asked("video", p.choice.cameraId) as unknown as LocalVideoTrack | null,
      audio: asked("audio", p.choice.microphoneId) as unknown as LocalAudioTrack | null,
      problems,
    });
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
  it("two quick camera changes: the older choice's camera is stopped when it arrives, the newer shown, the microphone untouched", async () => {
    const { media, pending, answer } = slowMedia();
    const call = callStore(media);
    const opening = call.openPrejoin();
    answer(0);
    await opening;
    const first = call.switchDevice("videoinput", "cam-2");
    const second = call.switchDevice("videoinput", "cam-3");
    await settle();
    assert.equal(pending.length, 3);
    assert.deepEqual(
      pending.map((p) => p.choice),
      [
        { cameraId: "default", microphoneId: "default" },
        { cameraId: "cam-2", microphoneId: null },
        { cameraId: "cam-3", microphoneId: null },
      ],
    );
    answer(2);
    await second;
    answer(1);
    await first;
    assert.deepEqual(
      pending.map((p) => p.tracks.map((t) => t.stopped)),
      [
        [true, false],
        [true, false],
        [false, false],
      ],
      "only the latest camera runs, and the first microphone still does",
    );
    assert.equal((call.preview.video as unknown as FakeTrack | null)?.name, "video-2");
    assert.equal((call.preview.audio as unknown as FakeTrack | null)?.name, "audio-0");
    call.cancelPrejoin();
    assert.ok(pending[2]!.tracks[0]!.stopped && pending[0]!.tracks[1]!.stopped, "closing the pre-join stops them");
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

  it("settling: the devices are not settled while the tracks start, and are once they have come", async () => {
    const { media, answer } = slowMedia();
    const call = callStore(media);
    const opening = call.openPrejoin();
    await settle();
    assert.equal(call.devicesSettled, false);
    assert.deepEqual(call.deviceStates, { video: "pending", audio: "pending" });
    assert.equal(call.micEnabled, false);
    answer(0);
    await opening;
    assert.equal(call.devicesSettled, true);
    assert.deepEqual(call.deviceStates, { video: "on", audio: "on" });
    assert.equal(call.micEnabled, true);
    assert.equal(call.cameraEnabled, true);
    assert.equal(call.microphoneId, "audio-0", "the device the track opened");
  });

  it("a refused camera: said as such, the microphone still on, and the devices settled", async () => {
    const { media, answer } = slowMedia();
    const call = callStore(media);
    const opening = call.openPrejoin();
    answer(0, { video: "denied" });
    await opening;
    assert.equal(call.devicesSettled, true);
    assert.deepEqual(call.deviceStates, { video: "denied", audio: "on" });
    assert.equal(call.preview.video, null);
    assert.equal(call.error, null, "no error banner: the pre-join says it");
  });

  it("a media layer that throws: both inputs say why (the browser's error name)", async () => {
    const media: CallMedia = {
      listDevices: async () => ({ cameras: [], microphones: [] }),
      createPreview: () => Promise.reject(new DOMException("Permission denied", "NotAllowedError")),
      connect: () => Promise.reject(new Error("no calls in this test")),
    };
    const call = callStore(media);
    await call.openPrejoin();
    assert.deepEqual(call.deviceStates, { video: "denied", audio: "denied" });
    assert.equal(call.devicesSettled, true);
  });

  it("the microphone off and on again: only the microphone restarts, the camera untouched", async () => {
    const { media, pending, answer } = slowMedia();
    const call = callStore(media);
    const opening = call.openPrejoin();
    answer(0);
    await opening;
    await call.toggleMicrophone();
    assert.equal(call.micEnabled, false);
    assert.equal(call.deviceStates.audio, "off");
    assert.ok(pending[0]!.tracks[1]!.stopped, "its track stopped");
    // Another microphone chosen while off: remembered, nothing opened.
    await call.switchDevice("audioinput", "mic-2");
    assert.equal(pending.length, 1);
    assert.equal(call.microphoneId, "mic-2");
    const on = call.toggleMicrophone();
    await settle();
    assert.deepEqual(pending[1]!.choice, { cameraId: null, microphoneId: "mic-2" });
    assert.equal(call.devicesSettled, false);
    answer(1);
    await on;
    assert.equal(call.micEnabled, true);
    assert.equal(pending[0]!.tracks[0]!.stopped, false, "the camera kept running");
  });

  it("turned off while it starts: the track is stopped when it comes, and the input stays off", async () => {
    const { media, pending, answer } = slowMedia();
    const call = callStore(media);
    const opening = call.openPrejoin();
    await settle();
    await call.toggleCamera();
    assert.equal(call.deviceStates.video, "off");
    assert.equal(call.devicesSettled, false, "the microphone still starts");
    answer(0);
    await opening;
    assert.ok(pending[0]!.tracks[0]!.stopped);
    assert.deepEqual(call.deviceStates, { video: "off", audio: "on" });
  });
});
