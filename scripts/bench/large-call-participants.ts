// Bench helper: the participants of a large call that one process carries, run inside a ministry's
// namespace (libwebrtc needs real interfaces). Each joins as a MatrixRTC client does: its call
// membership state event in the meeting room, an OpenID token from its homeserver, a LiveKit token
// from the focus (get_token), then LiveKit; speakers say recorded speech in a loop, video publishers
// send generated 320x180 frames (15 fps in the bench), everyone subscribes to everything. On SIGUSR2 the
// participants start joining (each after its own delay); on SIGTERM, or at the job's deadline, they
// leave (LiveKit, then their membership emptied) and the process exits. Reports JSON lines on stdout:
//   {"event":"ready"} {"event":"joined","index":…,"joinMs":…,…} {"event":"join-error","index":…,"stage":…,"message":…}
//   {"event":"frames","index":…,"at":…,"video":{<track sid>:<frames>}} (observers, every second)
//   {"event":"dropped","index":…,"reason":…} {"event":"left","index":…,"leaveMs":…,"audioTracks":…,"videoTracks":…} {"event":"done"}
//   large-call-participants.ts <job file>
import { readFile } from "node:fs/promises";
import {
  AudioFrame,
  AudioSource,
  LocalAudioTrack,
  LocalVideoTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  VideoBufferType,
  VideoFrame,
  VideoSource,
  VideoStream,
} from "@livekit/rtc-node";
import type { FocusGetTokenRequest, OpenIdToken } from "../../config/wire-types.ts";
import { report, runScript } from "../../tests/harness/json-line-script.ts";

export type LoadRole = "speak" | "video" | "listen";

export interface LoadParticipant {
  index: number;
  userId: string;
  deviceId: string;
  accessToken: string;
  role: LoadRole;
  /** Counts the video frames it decodes from each track, reported every second. */
  observe: boolean;
  /** After the go signal (SIGUSR2). */
  joinDelayMs: number;
  /** Client-server API path and content of its call membership. */
  membershipPath: string;
  membershipContent: Record<string, unknown>;
}

export interface LoadJob {
  /** The homeserver's client-server API, as seen from the namespace. */
  homeserverUrl: string;
  /** The focus's get_token URL. */
  focusTokenUrl: string;
  roomId: string;
  slotId: string;
  /** Raw 16 kHz mono signed 16-bit speech that the speakers say in a loop. */
  speechPath: string;
  /** Frames per second the video publishers send. */
  videoFps: number;
  /** Epoch ms: everyone leaves by then, whatever happens. */
  deadline: number;
  participants: LoadParticipant[];
}

const SPEECH_RATE = 16_000;
const SPEECH_FRAME = SPEECH_RATE / 100;
const HTTP_TIMEOUT_MS = 30_000;
// Leaving 20 rooms at once on a machine without CPU to spare took up to 12 s.
const DISCONNECT_TIMEOUT_MS = 30_000;
const VIDEO_WIDTH = 320;
const VIDEO_HEIGHT = 180;

class JoinError extends Error {
  readonly stage: string;
  constructor(stage: string, message: string) {
    super(message);
    this.stage = stage;
  }
}

interface Joined {
  participant: LoadParticipant;
  room: Room;
  audioTracks: number;
  videoTracks: number;
}

let leaving = false;

async function matrix<T>(job: LoadJob, p: LoadParticipant, stage: string, method: "PUT" | "POST", path: string, body: unknown): Promise<T> {
  const res = await fetch(`${job.homeserverUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${p.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const text = await res.text();
  if (!res.ok) throw new JoinError(stage, `${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

/** The same I420 frames in a loop: a bright bar crossing a gradient, one second long. */
function videoFrames(fps: number): Uint8Array[] {
  const lumaSize = VIDEO_WIDTH * VIDEO_HEIGHT;
  return Array.from({ length: fps }, (_, n) => {
    const data = new Uint8Array(lumaSize * 1.5).fill(128);
    const bar = Math.floor((n * VIDEO_WIDTH) / fps);
    for (let y = 0; y < VIDEO_HEIGHT; y++) {
      for (let x = 0; x < VIDEO_WIDTH; x++) data[y * VIDEO_WIDTH + x] = Math.abs(x - bar) < 16 ? 235 : 16 + ((x + y) % 200);
    }
    return data;
  });
}

async function speak(room: Room, speech: Int16Array, index: number): Promise<void> {
  const source = new AudioSource(SPEECH_RATE, 1);
  const options = new TrackPublishOptions();
  options.source = TrackSource.SOURCE_MICROPHONE;
  await room.localParticipant!.publishTrack(LocalAudioTrack.createAudioTrack("microphone", source), options);
  // captureFrame waits while the source's queue is full: real time. Each speaker starts elsewhere.
  void (async () => {
    for (let at = index * 3 * SPEECH_RATE; !leaving && room.isConnected; at += SPEECH_FRAME) {
      const offset = at % (speech.length - SPEECH_FRAME);
      await source.captureFrame(new AudioFrame(speech.slice(offset, offset + SPEECH_FRAME), SPEECH_RATE, 1, SPEECH_FRAME));
    }
  })().catch(() => undefined);
}

async function sendVideo(room: Room, frames: Uint8Array[], fps: number): Promise<void> {
  const source = new VideoSource(VIDEO_WIDTH, VIDEO_HEIGHT);
  const options = new TrackPublishOptions();
  options.source = TrackSource.SOURCE_CAMERA;
  // One layer: at 320x180 simulcast would have nothing smaller worth sending.
  options.simulcast = false;
  await room.localParticipant!.publishTrack(LocalVideoTrack.createVideoTrack("camera", source), options);
  let n = 0;
  const timer = setInterval(() => {
    if (leaving || !room.isConnected) return clearInterval(timer);
    source.captureFrame(new VideoFrame(frames[n % frames.length]!, VIDEO_WIDTH, VIDEO_HEIGHT, VideoBufferType.I420), BigInt(Math.round((n * 1e6) / fps)));
    n++;
  }, 1000 / fps);
}

/** Counts the frames decoded from each video track, reported every second while in the call. */
function observe(room: Room, index: number): void {
  const counts: Record<string, number> = {};
  room.on(RoomEvent.TrackSubscribed, (track) => {
    if (track.kind !== TrackKind.KIND_VIDEO || track.sid === undefined) return;
    const sid = track.sid;
    counts[sid] = 0;
    const reader = new VideoStream(track).getReader();
    void (async () => {
      for (;;) {
        const { done } = await reader.read();
        if (done || leaving) return;
        counts[sid] = (counts[sid] ?? 0) + 1;
      }
    })().catch(() => undefined);
  });
  const timer = setInterval(() => {
    if (leaving) return clearInterval(timer);
    report("frames", { index, at: Date.now(), video: { ...counts } });
  }, 1000);
}

async function join(job: LoadJob, p: LoadParticipant, media: { speech: Int16Array; frames: Uint8Array[] }): Promise<Joined> {
  const started = performance.now();
  await matrix(job, p, "membership", "PUT", p.membershipPath, p.membershipContent);
  const membershipDone = performance.now();
  const openid = await matrix<OpenIdToken>(job, p, "openid", "POST", `/_matrix/client/v3/user/${encodeURIComponent(p.userId)}/openid/request_token`, {});
  const request: FocusGetTokenRequest = {
    room_id: job.roomId,
    slot_id: job.slotId,
    openid_token: openid,
    member: { id: `member-${p.deviceId}`, claimed_user_id: p.userId, claimed_device_id: p.deviceId },
  };
  const res = await fetch(job.focusTokenUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(request),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const answer = (await res.json()) as { url?: string; jwt?: string; errcode?: string; error?: string };
  if (res.status !== 200 || !answer.url || !answer.jwt) throw new JoinError("token", `${res.status} ${answer.errcode ?? ""} ${answer.error ?? ""}`);
  const tokenDone = performance.now();
  const room = new Room();
  const joined: Joined = { participant: p, room, audioTracks: 0, videoTracks: 0 };
  room.on(RoomEvent.TrackSubscribed, (track) => {
    if (track.kind === TrackKind.KIND_AUDIO) joined.audioTracks++;
    else if (track.kind === TrackKind.KIND_VIDEO) joined.videoTracks++;
  });
  room.on(RoomEvent.Disconnected, (reason) => {
    if (!leaving) report("dropped", { index: p.index, reason });
  });
  if (p.observe) observe(room, p.index);
  try {
    await room.connect(answer.url, answer.jwt, { autoSubscribe: true, dynacast: true });
  } catch (err) {
    throw new JoinError("connect", err instanceof Error ? err.message : String(err));
  }
  const connected = performance.now();
  try {
    if (p.role === "speak") await speak(room, media.speech, p.index);
    else if (p.role === "video") await sendVideo(room, media.frames, job.videoFps);
  } catch (err) {
    throw new JoinError("publish", err instanceof Error ? err.message : String(err));
  }
  report("joined", {
    index: p.index,
    role: p.role,
    joinMs: connected - started,
    membershipMs: membershipDone - started,
    tokenMs: tokenDone - membershipDone,
    connectMs: connected - tokenDone,
    publishMs: performance.now() - connected,
  });
  return joined;
}

async function leave(job: LoadJob, joined: Joined): Promise<void> {
  const p = joined.participant;
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`LiveKit disconnect took over ${DISCONNECT_TIMEOUT_MS} ms`)), DISCONNECT_TIMEOUT_MS)));
  try {
    await Promise.race([joined.room.disconnect(), late]);
  } finally {
    clearTimeout(timer);
  }
  await matrix(job, p, "leave", "PUT", p.membershipPath, {});
  report("left", { index: p.index, leaveMs: performance.now() - started, audioTracks: joined.audioTracks, videoTracks: joined.videoTracks });
}

async function main(): Promise<void> {
  const jobPath = process.argv[2];
  if (!jobPath) throw new Error("usage: large-call-participants.ts <job file>");
  const job = JSON.parse(await readFile(jobPath, "utf8")) as LoadJob;
  const raw = await readFile(job.speechPath);
  const speech = new Int16Array(raw.buffer, raw.byteOffset, Math.floor(raw.byteLength / 2));
  const media = { speech, frames: videoFrames(job.videoFps) };
  const stopAt = Math.max(0, job.deadline - Date.now());
  const stop = new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
    // Also what keeps the process alive while it waits for its signals.
    setTimeout(resolve, stopAt);
  });
  // Bounded whatever LiveKit or a server does: 20 s after the deadline the process is gone.
  setTimeout(() => {
    report("error", { message: "still running 20 s after the deadline" });
    process.exit(3);
  }, stopAt + 20_000).unref();
  const go = new Promise<void>((resolve) => process.once("SIGUSR2", resolve));
  report("ready");
  await Promise.race([go, stop]);
  const joins = job.participants.map(async (p): Promise<Joined | undefined> => {
    await new Promise((resolve) => setTimeout(resolve, p.joinDelayMs));
    if (leaving) return undefined;
    try {
      return await join(job, p, media);
    } catch (err) {
      report("join-error", { index: p.index, stage: err instanceof JoinError ? err.stage : "unknown", message: err instanceof Error ? err.message : String(err) });
      return undefined;
    }
  });
  await stop;
  leaving = true;
  const joined = (await Promise.all(joins)).filter((j): j is Joined => j !== undefined);
  await Promise.all(
    joined.map((j) =>
      leave(job, j).catch((err: unknown) => report("leave-error", { index: j.participant.index, message: err instanceof Error ? err.message : String(err) })),
    ),
  );
  report("done");
}

runScript(main);
