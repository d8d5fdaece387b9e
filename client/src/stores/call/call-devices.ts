// Our microphone, camera and speaker once in the call: on or off, and switched in place on the track
// we publish (LiveKit's switchActiveDevice: the others keep receiving us); the speaker for the sound
// of every connection, our own focus's and the other members' foci. Before joining, the preview's.
import type { Room as LkRoom } from "livekit-client";
import { computed, type Ref } from "vue";
import { ERRCODE, VisioError, asVisioError } from "../../services/errors.ts";
import type { createCallPreview, DeviceKind } from "./call-preview.ts";
import type { ParticipantView } from "./participant-view.ts";

export interface CallDevicesContext {
  phase: Ref<"idle" | "prejoin" | "joining" | "joined">;
  preview: ReturnType<typeof createCallPreview>;
  local: Ref<ParticipantView | null>;
  /** Our own focus's room, where we publish. */
  own: Ref<LkRoom | null>;
  /** The rooms of other foci we subscribe on. */
  others: () => Iterable<LkRoom>;
  changed: () => void;
  onError: (error: VisioError) => void;
}

/** Switches the device on these rooms; a room that cannot is an error. */
export async function switchActiveDevice(rooms: readonly LkRoom[], kind: DeviceKind, deviceId: string): Promise<void> {
  const switched = await Promise.all(rooms.map((room) => room.switchActiveDevice(kind, deviceId)));
  if (switched.includes(false)) throw new VisioError(ERRCODE.unknown, "call.deviceNotSwitched", { detail: `switchActiveDevice(${kind}) refused` });
}

export function createCallDevices(c: CallDevicesContext) {
  const { preview } = c;
  const joined = (): boolean => c.phase.value === "joined";
  const micEnabled = computed(() => (joined() ? c.local.value?.micMuted === false : preview.preview.value.audio !== null));
  const cameraEnabled = computed(() => (joined() ? c.local.value?.camera !== null : preview.preview.value.video !== null));

  async function toggle(kind: "audio" | "video"): Promise<void> {
    if (c.phase.value === "prejoin") return preview.toggle(kind);
    const lk = c.own.value;
    if (lk === null) return;
    const deviceId = kind === "audio" ? preview.microphoneId.value : preview.cameraId.value;
    const options = deviceId ? { deviceId } : undefined;
    if (kind === "audio") await lk.localParticipant.setMicrophoneEnabled(!micEnabled.value, options);
    else await lk.localParticipant.setCameraEnabled(!cameraEnabled.value, options);
    c.changed();
  }

  /** Another microphone, camera or speaker: the preview's before joining, the published track's in the call. */
  async function switchDevice(kind: DeviceKind, deviceId: string): Promise<void> {
    if (c.phase.value === "prejoin" || c.phase.value === "idle") return preview.choose(kind, deviceId);
    // While joining, the preview's tracks are being published: a choice waits for the call.
    const own = c.own.value;
    if (!joined() || own === null) return;
    try {
      await switchActiveDevice(kind === "audiooutput" ? [own, ...c.others()] : [own], kind, deviceId);
      preview.record(kind, deviceId);
    } catch (caught) {
      c.onError(asVisioError(caught));
    }
    c.changed();
  }

  return {
    micEnabled,
    cameraEnabled,
    toggleMicrophone: () => toggle("audio"),
    toggleCamera: () => toggle("video"),
    switchDevice,
  };
}
