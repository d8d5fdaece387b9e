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

export interface MediaDeviceChoice {
  deviceId: string;
  label: string;
}

export interface PreviewTracks {
  video: LocalVideoTrack | null;
  audio: LocalAudioTrack | null;
}

export interface CallMedia {
  listDevices(): Promise<{ cameras: MediaDeviceChoice[]; microphones: MediaDeviceChoice[] }>;
  /** Local tracks for the pre-join preview; published as they are when joining. */
  createPreview(choice: { cameraId: string | null; microphoneId: string | null }): Promise<PreviewTracks>;
  /** A connected LiveKit room. */
  connect(url: string, jwt: string): Promise<Room>;
}

function choices(devices: MediaDeviceInfo[]): MediaDeviceChoice[] {
  return devices.map((d, index) => ({ deviceId: d.deviceId, label: d.label || `${d.kind} ${index + 1}` }));
}

export function createCallMedia(options: { iceServers?: RTCIceServer[] } = {}): CallMedia {
  return {
    async listDevices() {
      const [cameras, microphones] = await Promise.all([Room.getLocalDevices("videoinput"), Room.getLocalDevices("audioinput")]);
      return { cameras: choices(cameras), microphones: choices(microphones) };
    },
    async createPreview({ cameraId, microphoneId }) {
      const [video, audio] = await Promise.allSettled([
        cameraId === null ? null : createLocalVideoTrack({ deviceId: cameraId, resolution: { width: 640, height: 360, frameRate: 24 } }),
        microphoneId === null ? null : createLocalAudioTrack({ deviceId: microphoneId, echoCancellation: true, noiseSuppression: true }),
      ]);
      if (video.status === "fulfilled" && audio.status === "fulfilled") return { video: video.value, audio: audio.value };
      // One failed: the other's device must not stay open (the camera light on) with nobody to stop it.
      if (video.status === "fulfilled") video.value?.stop();
      if (audio.status === "fulfilled") audio.value?.stop();
      throw video.status === "rejected" ? video.reason : (audio as PromiseRejectedResult).reason;
    },
    async connect(url, jwt) {
      const room = new Room({ adaptiveStream: true, dynacast: true });
      await room.connect(url, jwt, options.iceServers === undefined ? {} : { rtcConfig: { iceServers: options.iceServers } });
      return room;
    },
  };
}

export { ConnectionQuality };
