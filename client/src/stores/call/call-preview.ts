// Devices and the pre-join preview: which camera, microphone and speaker, the local tracks the join
// publishes as they are, and where each input stands (starting, on, turned off, or why unavailable).
// Joining waits until neither input is still starting.
import { computed, markRaw, ref, shallowRef } from "vue";
import { asVisioError, type VisioError } from "../../services/errors.ts";
import {
  deviceProblem,
  type CallMedia,
  type DeviceProblem,
  type MediaDeviceChoice,
  type PreviewTracks,
} from "../../services/livekit/call-media.ts";
import { createMicLevel, type MicLevelOptions } from "./mic-level.ts";

export type DeviceKind = "audioinput" | "videoinput" | "audiooutput";
/** An input's state: starting, on, turned off by the user, or unavailable for a reason. */
export type InputState = "pending" | "on" | "off" | DeviceProblem;
type Input = "audio" | "video";

const INPUTS: readonly Input[] = ["video", "audio"];

export function createCallPreview(callMedia: CallMedia, onError: (error: VisioError) => void, levelOptions: MicLevelOptions = {}) {
  const cameras = ref<MediaDeviceChoice[]>([]);
  const microphones = ref<MediaDeviceChoice[]>([]);
  const speakers = ref<MediaDeviceChoice[]>([]);
  const cameraId = ref<string | null>(null);
  const microphoneId = ref<string | null>(null);
  const speakerId = ref<string | null>(null);
  const preview = shallowRef<PreviewTracks>({ video: null, audio: null });
  const states = ref<Record<Input, InputState>>({ video: "off", audio: "off" });
  const settled = computed(() => states.value.video !== "pending" && states.value.audio !== "pending");
  const mic = createMicLevel(levelOptions);

  // Bumped whenever an input's track is stopped: a track created for an older choice (two quick
  // changes, or the pre-join closed meanwhile) is stopped when it arrives instead of replacing a newer one.
  const generation: Record<Input, number> = { video: 0, audio: 0 };
  const starting = new Set<Promise<void>>();

  function setTrack(kind: Input, track: PreviewTracks[Input], state: InputState): void {
    preview.value = { ...preview.value, [kind]: track && markRaw(track) };
    states.value = { ...states.value, [kind]: state };
    if (kind === "audio") {
      const audio = preview.value.audio;
      mic.follow(audio !== null && callMedia.measureLevel !== undefined ? callMedia.measureLevel(audio) : null);
    }
  }

  function stopInput(kind: Input, state: InputState): void {
    generation[kind] += 1;
    preview.value[kind]?.stop();
    setTrack(kind, null, state);
  }

  function stop(): void {
    for (const kind of INPUTS) stopInput(kind, "off");
  }

  async function start(kinds: readonly Input[]): Promise<void> {
    const mine: Partial<Record<Input, number>> = {};
    for (const kind of kinds) {
      stopInput(kind, "pending");
      mine[kind] = generation[kind];
    }
    const choice = {
      cameraId: kinds.includes("video") ? (cameraId.value ?? "default") : null,
      microphoneId: kinds.includes("audio") ? (microphoneId.value ?? "default") : null,
    };
    let tracks: PreviewTracks;
    try {
      tracks = await callMedia.createPreview(choice);
    } catch (caught) {
      const problem = deviceProblem(caught);
      tracks = { video: null, audio: null, problems: { video: problem, audio: problem } };
    }
    for (const kind of INPUTS) {
      const track = tracks[kind];
      if (mine[kind] !== generation[kind]) {
        track?.stop();
        continue;
      }
      setTrack(kind, track, track !== null ? "on" : (tracks.problems?.[kind] ?? "failed"));
    }
  }

  /** Starts these inputs; the join waits for it (see whenSettled). */
  function refresh(kinds: readonly Input[] = INPUTS): Promise<void> {
    const run = start(kinds).finally(() => starting.delete(run));
    starting.add(run);
    return run;
  }

  /** Resolves once no input is starting any more. */
  async function whenSettled(): Promise<void> {
    while (starting.size > 0) await Promise.all(starting);
  }

  async function listDevices(): Promise<void> {
    const devices = await callMedia.listDevices();
    cameras.value = devices.cameras;
    microphones.value = devices.microphones;
    speakers.value = devices.speakers ?? [];
  }

  /** The default devices previewed, then the list of devices to choose from (labelled once allowed). */
  async function open(): Promise<void> {
    cameraId.value = "default";
    microphoneId.value = "default";
    // Labels of devices only show once the page has been granted access: preview first, then list.
    await refresh();
    try {
      await listDevices();
      const videoId = preview.value.video?.mediaStreamTrack.getSettings().deviceId;
      const audioId = preview.value.audio?.mediaStreamTrack.getSettings().deviceId;
      cameraId.value = videoId ?? cameras.value[0]?.deviceId ?? null;
      microphoneId.value = audioId ?? microphones.value[0]?.deviceId ?? null;
      speakerId.value ??= speakers.value[0]?.deviceId ?? null;
    } catch (caught) {
      onError(asVisioError(caught));
    }
  }

  /** Remembers a device choice without touching any track (in a call, LiveKit switches the track). */
  function record(kind: DeviceKind, deviceId: string): void {
    if (kind === "videoinput") cameraId.value = deviceId;
    else if (kind === "audioinput") microphoneId.value = deviceId;
    else speakerId.value = deviceId;
  }

  /** Before joining: another device; its preview restarts if it was on (or starting). */
  async function choose(kind: DeviceKind, deviceId: string): Promise<void> {
    record(kind, deviceId);
    const input: Input | null = kind === "videoinput" ? "video" : kind === "audioinput" ? "audio" : null;
    if (input !== null && states.value[input] !== "off") await refresh([input]);
  }

  /** Before joining: one input off, or started again. */
  async function toggle(kind: Input): Promise<void> {
    if (states.value[kind] === "on" || states.value[kind] === "pending") return stopInput(kind, "off");
    await refresh([kind]);
  }

  /** What the call store shows of it, read-only. */
  const exposed = {
    cameras: computed(() => cameras.value),
    microphones: computed(() => microphones.value),
    speakers: computed(() => speakers.value),
    cameraId: computed(() => cameraId.value),
    microphoneId: computed(() => microphoneId.value),
    speakerId: computed(() => speakerId.value),
    preview: computed(() => preview.value),
    deviceStates: computed(() => states.value),
    devicesSettled: settled,
    micLevel: computed(() => mic.level.value),
    micSilent: computed(() => mic.silent.value),
    refreshDeviceList: listDevices,
    /** The meter is the pre-join's: it stops when that screen goes (the track, published, runs on). */
    stopMicLevel: mic.close,
  };

  return {
    exposed,
    cameras,
    microphones,
    speakers,
    cameraId,
    microphoneId,
    speakerId,
    preview,
    states,
    settled,
    micLevel: mic.level,
    micSilent: mic.silent,
    stop,
    refresh,
    whenSettled,
    listDevices,
    open,
    record,
    choose,
    toggle,
  };
}
