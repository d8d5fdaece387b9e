// The browser's media and the LiveKit connection, behind one narrow interface so the call store
// can be driven by a fake in unit tests.
import {
  ConnectionQuality,
  createLocalAudioTrack,
  createLocalVideoTrack,
  Room,
  type LocalAudioTrack,
  type LocalVideoTrack,
} from "livekit-client";
import { measureLevel } from "./audio-level.ts";

export interface MediaDeviceChoice {
  deviceId: string;
  label: string;
}

/** Why a camera or microphone gives no track: refused by the user or the browser, none there, in use elsewhere, or else. */
export type DeviceProblem = "denied" | "missing" | "busy" | "failed";

export interface PreviewTracks {
  video: LocalVideoTrack | null;
  audio: LocalAudioTrack | null;
  /** For a kind asked for that gave no track: why. */
  problems?: { video?: DeviceProblem; audio?: DeviceProblem };
}

export interface DeviceList {
  cameras: MediaDeviceChoice[];
  microphones: MediaDeviceChoice[];
  /** Empty where the browser cannot route sound to a chosen output (no setSinkId). */
  speakers?: MediaDeviceChoice[];
}

/** How loud a microphone is right now, from 0 (silence) to 1. */
export interface LevelSource {
  level(): number;
  close(): void;
}

export interface CallMedia {
  listDevices(): Promise<DeviceList>;
  /**
   * Local tracks for the pre-join preview, published as they are when joining: a null ID asks for no
   * track of that kind; a device that fails leaves its track null, with the problem, and the other
   * kind's track is still given.
   */
  createPreview(choice: { cameraId: string | null; microphoneId: string | null }): Promise<PreviewTracks>;
  /** A connected LiveKit room; remote sound goes to speakerId when given. */
  connect(url: string, jwt: string, speakerId?: string | null): Promise<Room>;
  /** The level of a microphone track (absent where there is no audio processing). */
  measureLevel?(track: LocalAudioTrack): LevelSource;
}

/** The browser's error name, as a device problem. */
export function deviceProblem(error: unknown): DeviceProblem {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === "NotAllowedError" || name === "SecurityError") return "denied";
  if (name === "NotFoundError" || name === "OverconstrainedError") return "missing";
  if (name === "NotReadableError" || name === "AbortError") return "busy";
  return "failed";
}

/** Whether sound can be sent to a chosen output device (HTMLMediaElement.setSinkId). */
export function canChooseSpeaker(): boolean {
  return typeof HTMLMediaElement !== "undefined" && typeof (HTMLMediaElement.prototype as { setSinkId?: unknown }).setSinkId === "function";
}

function choices(devices: MediaDeviceInfo[]): MediaDeviceChoice[] {
  return devices.map((d, index) => ({ deviceId: d.deviceId, label: d.label || `${d.kind} ${index + 1}` }));
}

export function createCallMedia(options: { iceServers?: RTCIceServer[] } = {}): CallMedia {
  return {
    async listDevices() {
      const [cameras, microphones, speakers] = await Promise.all([
        Room.getLocalDevices("videoinput"),
        Room.getLocalDevices("audioinput"),
        canChooseSpeaker() ? Room.getLocalDevices("audiooutput") : [],
      ]);
      return { cameras: choices(cameras), microphones: choices(microphones), speakers: choices(speakers) };
    },
    async createPreview({ cameraId, microphoneId }) {
      const [video, audio] = await Promise.allSettled([
        cameraId === null ? null : createLocalVideoTrack({ deviceId: cameraId, resolution: { width: 640, height: 360, frameRate: 24 } }),
        microphoneId === null ? null : createLocalAudioTrack({ deviceId: microphoneId, echoCancellation: true, noiseSuppression: true }),
      ]);
      // One failing (the camera refused, the microphone missing) leaves the other usable.
      return {
        video: video.status === "fulfilled" ? video.value : null,
        audio: audio.status === "fulfilled" ? audio.value : null,
        problems: {
          ...(video.status === "rejected" ? { video: deviceProblem(video.reason) } : {}),
          ...(audio.status === "rejected" ? { audio: deviceProblem(audio.reason) } : {}),
        },
      };
    },
    measureLevel: (track) => measureLevel(track.mediaStreamTrack),
    async connect(url, jwt, speakerId) {
      const room = new Room({ adaptiveStream: true, dynacast: true, ...(speakerId ? { audioOutput: { deviceId: speakerId } } : {}) });
      await room.connect(url, jwt, options.iceServers === undefined ? {} : { rtcConfig: { iceServers: options.iceServers } });
      return room;
    },
  };
}

export { ConnectionQuality };
