// Devices and the pre-join preview: which camera and microphone, and their local tracks, which the
// join publishes as they are.
import { markRaw, ref, shallowRef } from "vue";
import { ERRCODE, VisioError, asVisioError, reasonOf } from "../../services/errors.ts";
import type { CallMedia, MediaDeviceChoice, PreviewTracks } from "../../services/livekit/call-media.ts";

export function createCallPreview(callMedia: CallMedia, onError: (error: VisioError) => void) {
  const cameras = ref<MediaDeviceChoice[]>([]);
  const microphones = ref<MediaDeviceChoice[]>([]);
  const cameraId = ref<string | null>(null);
  const microphoneId = ref<string | null>(null);
  const preview = shallowRef<PreviewTracks>({ video: null, audio: null });

  // Bumped whenever the preview is stopped: tracks created for an older choice (two quick changes,
  // or the pre-join closed meanwhile) are stopped when they arrive instead of replacing newer ones.
  let generation = 0;
  function stop(): void {
    generation += 1;
    preview.value.video?.stop();
    preview.value.audio?.stop();
    preview.value = { video: null, audio: null };
  }

  async function refresh(): Promise<void> {
    stop();
    const mine = generation;
    try {
      const tracks = await callMedia.createPreview({ cameraId: cameraId.value, microphoneId: microphoneId.value });
      if (mine !== generation) {
        tracks.video?.stop();
        tracks.audio?.stop();
        return;
      }
      preview.value = { video: tracks.video && markRaw(tracks.video), audio: tracks.audio && markRaw(tracks.audio) };
    } catch (caught) {
      const message = caught instanceof Error ? caught.message : String(caught);
      onError(new VisioError(ERRCODE.unknown, "call.noMedia", { reason: reasonOf(caught), cause: caught, detail: message }));
    }
  }

  /** The default devices previewed, then the list of devices to choose from (labelled once allowed). */
  async function open(): Promise<void> {
    cameraId.value = "default";
    microphoneId.value = "default";
    // Labels of devices only show once the page has been granted access: preview first, then list.
    await refresh();
    try {
      const devices = await callMedia.listDevices();
      cameras.value = devices.cameras;
      microphones.value = devices.microphones;
      const videoId = preview.value.video?.mediaStreamTrack.getSettings().deviceId;
      const audioId = preview.value.audio?.mediaStreamTrack.getSettings().deviceId;
      cameraId.value = videoId ?? devices.cameras[0]?.deviceId ?? null;
      microphoneId.value = audioId ?? devices.microphones[0]?.deviceId ?? null;
    } catch (caught) {
      onError(asVisioError(caught));
    }
  }

  async function choose(choice: { cameraId?: string | null; microphoneId?: string | null }): Promise<void> {
    if (choice.cameraId !== undefined) cameraId.value = choice.cameraId;
    if (choice.microphoneId !== undefined) microphoneId.value = choice.microphoneId;
    await refresh();
  }

  /** Before joining: one of the two previewed tracks off, or both previewed again. */
  async function toggle(kind: "audio" | "video"): Promise<void> {
    const track = preview.value[kind];
    if (track === null) return refresh();
    track.stop();
    preview.value = { ...preview.value, [kind]: null };
  }

  return { cameras, microphones, cameraId, microphoneId, preview, stop, refresh, open, choose, toggle };
}
