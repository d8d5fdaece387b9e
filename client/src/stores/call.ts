// The call of the open room: pre-join (devices and preview), MatrixRTC membership, the LiveKit
// connection, what each participant shows, raise hand, reactions and live subtitles.
import { ParticipantKind, RoomEvent as LkEvent, Track, type LocalAudioTrack, type LocalVideoTrack, type Participant, type Room as LkRoom } from "livekit-client";
import { RoomEvent, type MatrixEvent, type Room } from "matrix-js-sdk";
import type { MatrixRTCSession } from "matrix-js-sdk/lib/matrixrtc/index.js";
import { MatrixRTCSessionEvent } from "matrix-js-sdk/lib/matrixrtc/index.js";
import { defineStore } from "pinia";
import { computed, markRaw, ref, shallowRef } from "vue";
import { MATRIX_USER_ATTRIBUTE } from "../../../wire-types.ts";
import { ERRCODE, VisioError, asVisioError } from "../services/errors.ts";
import { useServices } from "../services/index.ts";
import type { MediaDeviceChoice, PreviewTracks } from "../services/livekit/call-media.ts";
import { ownFocus, requestFocusToken } from "../services/livekit/focus.ts";
import { listenToSubtitles, type SubtitleUpdate } from "../services/livekit/subtitles.ts";
import {
  CALL_REACTION_EVENT,
  joinCall,
  leaveCall,
  liveMemberships,
  lowerHand,
  ownMembership,
  raiseHand,
  raisedHands,
  rtcSessionOf,
  sendCallReaction,
  transportToUse,
} from "../services/matrix/call-membership.ts";
import { useRoomsStore } from "./rooms.ts";
import { useSessionStore } from "./session.ts";

interface LocalTrackToPublish {
  track: LocalVideoTrack | LocalAudioTrack;
  source: Track.Source;
}

export type CallPhase = "idle" | "prejoin" | "joining" | "joined";
export type Quality = "excellent" | "good" | "poor" | "lost" | "unknown";

export interface ParticipantView {
  identity: string;
  userId: string | null;
  name: string;
  isLocal: boolean;
  speaking: boolean;
  quality: Quality;
  camera: Track | null;
  screen: Track | null;
  audio: Track | null;
  micMuted: boolean;
  handRaised: boolean;
}

export interface Subtitle {
  segmentId: string;
  speaker: string;
  text: string;
  final: boolean;
  updatedAt: number;
}

export interface FlyingReaction {
  id: string;
  name: string;
  emoji: string;
}

const LK_EVENTS = [
  LkEvent.ParticipantConnected,
  LkEvent.ParticipantDisconnected,
  LkEvent.TrackSubscribed,
  LkEvent.TrackUnsubscribed,
  LkEvent.TrackMuted,
  LkEvent.TrackUnmuted,
  LkEvent.LocalTrackPublished,
  LkEvent.LocalTrackUnpublished,
  LkEvent.ActiveSpeakersChanged,
  LkEvent.ConnectionQualityChanged,
  LkEvent.ParticipantAttributesChanged,
] as const;
const SUBTITLE_LINGER_MS = 6_000;
const REACTION_LINGER_MS = 4_000;

function qualityOf(participant: Participant): Quality {
  const value = participant.connectionQuality as string;
  return value === "excellent" || value === "good" || value === "poor" || value === "lost" ? value : "unknown";
}

function trackOf(participant: Participant, source: Track.Source): Track | null {
  const publication = participant.getTrackPublication(source);
  const track = publication?.track;
  return track !== undefined && !publication?.isMuted ? markRaw(track) : null;
}

export const useCallStore = defineStore("call", () => {
  const services = useServices();
  const session = useSessionStore();
  const rooms = useRoomsStore();

  const phase = ref<CallPhase>("idle");
  const error = shallowRef<VisioError | null>(null);
  const callRoomId = ref<string | null>(null);
  const cameras = ref<MediaDeviceChoice[]>([]);
  const microphones = ref<MediaDeviceChoice[]>([]);
  const cameraId = ref<string | null>(null);
  const microphoneId = ref<string | null>(null);
  const preview = shallowRef<PreviewTracks>({ video: null, audio: null });
  const lkRoom = shallowRef<LkRoom | null>(null);
  const rtc = shallowRef<MatrixRTCSession | null>(null);
  const lkRevision = ref(0);
  const rtcRevision = ref(0);
  const reconnecting = ref(false);
  const subtitles = ref<Subtitle[]>([]);
  const reactions = ref<FlyingReaction[]>([]);
  const joinStartedAt = ref<number | null>(null);
  let teardown: (() => void)[] = [];

  const bumpLk = (): void => {
    lkRevision.value += 1;
  };

  /** The MatrixRTC session of the open room, even before we join: to show who is in the call. */
  const roomSession = computed<MatrixRTCSession | null>(() => {
    void rooms.revision;
    const client = session.client;
    const room = rooms.selectedRoom;
    return client === null || room === null ? null : markRaw(rtcSessionOf(client, room));
  });

  const membersInCall = computed(() => {
    void rooms.revision;
    void rtcRevision.value;
    return roomSession.value === null ? 0 : liveMemberships(roomSession.value).length;
  });

  const hands = computed<Map<string, string>>(() => {
    void rooms.revision;
    void rtcRevision.value;
    const room = rooms.selectedRoom;
    const rtcSession = rtc.value ?? roomSession.value;
    return room === null || rtcSession === null ? new Map() : raisedHands(room, rtcSession);
  });

  function nameOfUser(userId: string | null, fallback: string): string {
    return userId === null ? fallback : rooms.displayName(userId);
  }

  const participants = computed<ParticipantView[]>(() => {
    void lkRevision.value;
    const room = lkRoom.value;
    if (room === null) return [];
    const all: Participant[] = [room.localParticipant, ...room.remoteParticipants.values()];
    return (
      all
        // The transcription bridge is a hidden LiveKit agent: never a tile.
        .filter((p) => p.kind !== ParticipantKind.AGENT)
        .map((p) => {
          const userId = p.attributes[MATRIX_USER_ATTRIBUTE] ?? (p === room.localParticipant ? session.userId : null);
          const mic = p.getTrackPublication(Track.Source.Microphone);
          return {
            identity: p.identity,
            userId,
            name: nameOfUser(userId, p.name || p.identity),
            isLocal: p === room.localParticipant,
            speaking: p.isSpeaking,
            quality: qualityOf(p),
            camera: trackOf(p, Track.Source.Camera),
            screen: trackOf(p, Track.Source.ScreenShare),
            audio: p === room.localParticipant ? null : trackOf(p, Track.Source.Microphone),
            micMuted: mic === undefined || mic.isMuted,
            handRaised: userId !== null && hands.value.has(userId),
          };
        })
    );
  });

  const local = computed(() => participants.value.find((p) => p.isLocal) ?? null);
  const screenSharing = computed(() => local.value?.screen !== null && local.value?.screen !== undefined);
  const micEnabled = computed(() => (phase.value === "joined" ? local.value?.micMuted === false : preview.value.audio !== null));
  const cameraEnabled = computed(() => (phase.value === "joined" ? local.value?.camera !== null : preview.value.video !== null));
  const handRaised = computed(() => session.userId !== null && hands.value.has(session.userId));

  function stopPreview(): void {
    preview.value.video?.stop();
    preview.value.audio?.stop();
    preview.value = { video: null, audio: null };
  }

  async function refreshPreview(): Promise<void> {
    stopPreview();
    try {
      const tracks = await services.callMedia.createPreview({ cameraId: cameraId.value, microphoneId: microphoneId.value });
      preview.value = { video: tracks.video && markRaw(tracks.video), audio: tracks.audio && markRaw(tracks.audio) };
    } catch (caught) {
      const message = caught instanceof Error ? caught.message : String(caught);
      error.value = new VisioError(ERRCODE.unknown, "call.noMedia", { params: { message }, cause: caught });
    }
  }

  async function openPrejoin(): Promise<void> {
    if (phase.value !== "idle") return;
    phase.value = "prejoin";
    error.value = null;
    cameraId.value = "default";
    microphoneId.value = "default";
    // Labels of devices only show once the page has been granted access: preview first, then list.
    await refreshPreview();
    try {
      const devices = await services.callMedia.listDevices();
      cameras.value = devices.cameras;
      microphones.value = devices.microphones;
      const videoId = preview.value.video?.mediaStreamTrack.getSettings().deviceId;
      const audioId = preview.value.audio?.mediaStreamTrack.getSettings().deviceId;
      cameraId.value = videoId ?? devices.cameras[0]?.deviceId ?? null;
      microphoneId.value = audioId ?? devices.microphones[0]?.deviceId ?? null;
    } catch (caught) {
      error.value = asVisioError(caught);
    }
  }

  async function chooseDevices(choice: { cameraId?: string | null; microphoneId?: string | null }): Promise<void> {
    if (choice.cameraId !== undefined) cameraId.value = choice.cameraId;
    if (choice.microphoneId !== undefined) microphoneId.value = choice.microphoneId;
    await refreshPreview();
  }

  function cancelPrejoin(): void {
    stopPreview();
    phase.value = "idle";
  }

  function addSubtitle(update: SubtitleUpdate): void {
    const room = lkRoom.value;
    const participant = update.speakerIdentity === null ? undefined : room?.getParticipantByIdentity(update.speakerIdentity);
    const userId = participant?.attributes[MATRIX_USER_ATTRIBUTE] ?? null;
    const speaker = nameOfUser(userId, participant?.name || update.speakerIdentity || "?");
    const line: Subtitle = { segmentId: update.segmentId, speaker, text: update.text, final: update.final, updatedAt: Date.now() };
    const others = subtitles.value.filter((s) => s.segmentId !== update.segmentId);
    subtitles.value = [...others, line].slice(-3);
    if (update.final) {
      // A final line stays a while for slow readers, unless a newer version came meanwhile.
      setTimeout(() => {
        subtitles.value = subtitles.value.filter((s) => s.segmentId !== update.segmentId || !s.final || Date.now() - s.updatedAt < SUBTITLE_LINGER_MS);
      }, SUBTITLE_LINGER_MS);
    }
  }

  function watchReactions(room: Room): () => void {
    const onTimeline = (event: MatrixEvent, _room: Room | undefined, toStart: boolean | undefined): void => {
      if (toStart === true || event.getType() !== CALL_REACTION_EVENT) return;
      const content = event.getContent<{ emoji?: unknown }>();
      const eventId = event.getId();
      const sender = event.getSender();
      if (typeof content.emoji !== "string" || eventId === undefined || sender === undefined) return;
      reactions.value = [...reactions.value, { id: eventId, name: rooms.displayName(sender), emoji: content.emoji }];
      setTimeout(() => {
        reactions.value = reactions.value.filter((r) => r.id !== eventId);
      }, REACTION_LINGER_MS);
    };
    room.on(RoomEvent.Timeline, onTimeline);
    return () => room.off(RoomEvent.Timeline, onTimeline);
  }

  // The LiveKit side of the call: one connection to one focus's SFU, replaced when the focus changes.
  let lkTeardown: (() => void)[] = [];
  let focusUrl: string | null = null;
  let switching: Promise<void> | null = null;

  async function connectTo(serviceUrl: string, room: Room, tracks: LocalTrackToPublish[]): Promise<void> {
    const client = session.client;
    if (client === null) throw new VisioError(ERRCODE.unknownToken, "error.sessionExpired");
    const token = await requestFocusToken(services.fetch, {
      serviceUrl,
      roomId: room.roomId,
      userId: client.getSafeUserId(),
      deviceId: client.getDeviceId() ?? "",
      openIdToken: await client.getOpenIdToken(),
    });
    const lk = markRaw(await services.callMedia.connect(token.url, token.jwt));
    for (const name of LK_EVENTS) lk.on(name as LkEvent.ParticipantConnected, bumpLk);
    const onReconnecting = (): void => {
      reconnecting.value = true;
    };
    const onReconnected = (): void => {
      reconnecting.value = false;
      bumpLk();
    };
    const onDisconnected = (): void => {
      // Not by our leave() or a focus switch: the SDK gave up reconnecting.
      if (lkRoom.value === lk) void leave(new VisioError(ERRCODE.serverDown, "call.quality.lost", { retryable: true }));
    };
    lk.on(LkEvent.Reconnecting, onReconnecting);
    lk.on(LkEvent.Reconnected, onReconnected);
    lk.on(LkEvent.Disconnected, onDisconnected);
    lkTeardown.push(listenToSubtitles(lk, addSubtitle));
    lkTeardown.push(() => {
      lk.off(LkEvent.Reconnecting, onReconnecting);
      lk.off(LkEvent.Reconnected, onReconnected);
      lk.off(LkEvent.Disconnected, onDisconnected);
      for (const name of LK_EVENTS) lk.off(name as LkEvent.ParticipantConnected, bumpLk);
    });
    lkRoom.value = lk;
    focusUrl = serviceUrl;
    await Promise.all(tracks.map(({ track, source }) => lk.localParticipant.publishTrack(track, { source })));
    bumpLk();
  }

  /** Camera and microphone as published now, to carry over to another SFU. */
  function publishedTracks(lk: LkRoom): LocalTrackToPublish[] {
    const tracks: LocalTrackToPublish[] = [];
    for (const source of [Track.Source.Camera, Track.Source.Microphone]) {
      const track = lk.localParticipant.getTrackPublication(source)?.track;
      if (track !== undefined) tracks.push({ track: track as LocalTrackToPublish["track"], source });
    }
    return tracks;
  }

  // oldest_membership: when the oldest member is someone else than when we joined (two people of
  // different ministries joined within the same second), everyone moves to that member's focus.
  async function followOldestMember(): Promise<void> {
    const client = session.client;
    const rtcSession = rtc.value;
    const room = rooms.selectedRoom;
    const lk = lkRoom.value;
    if (switching !== null || client === null || rtcSession === null || lk === null || room === null || room.roomId !== callRoomId.value) return;
    const own = await ownFocus(session.wellKnown, () => client._unstable_getRTCTransports());
    if (own === undefined) return;
    const wanted = transportToUse(rtcSession, own).livekit_service_url;
    if (wanted === focusUrl) return;
    switching = (async () => {
      const tracks = publishedTracks(lk);
      for (const undo of lkTeardown) undo();
      lkTeardown = [];
      lkRoom.value = null;
      // Keep the local tracks running: they go on to the new SFU.
      await lk.disconnect(false);
      try {
        await connectTo(wanted, room, tracks);
      } catch (caught) {
        await leave(asVisioError(caught));
      }
    })();
    try {
      await switching;
    } finally {
      switching = null;
    }
  }

  async function join(): Promise<void> {
    const client = session.client;
    const room = rooms.selectedRoom;
    if (client === null || room === null || phase.value === "joining" || phase.value === "joined") return;
    error.value = null;
    phase.value = "joining";
    joinStartedAt.value = performance.now();
    try {
      const own = await ownFocus(session.wellKnown, () => client._unstable_getRTCTransports());
      if (own === undefined) throw new VisioError(ERRCODE.noFocus, "call.noFocus");
      const rtcSession = markRaw(rtcSessionOf(client, room));
      const transport = transportToUse(rtcSession, own);
      // Membership first: the appservice only lets members of the call stay in its LiveKit room.
      joinCall(rtcSession, own);
      rtc.value = rtcSession;
      callRoomId.value = room.roomId;
      const onMemberships = (): void => {
        rtcRevision.value += 1;
        if (phase.value === "joined") void followOldestMember();
      };
      rtcSession.on(MatrixRTCSessionEvent.MembershipsChanged, onMemberships);
      teardown.push(() => rtcSession.off(MatrixRTCSessionEvent.MembershipsChanged, onMemberships));
      teardown.push(watchReactions(room));
      const { video, audio } = preview.value;
      const tracks: LocalTrackToPublish[] = [];
      if (video !== null) tracks.push({ track: video, source: Track.Source.Camera });
      if (audio !== null) tracks.push({ track: audio, source: Track.Source.Microphone });
      await connectTo(transport.livekit_service_url, room, tracks);
      phase.value = "joined";
      // Memberships may have changed while we connected.
      void followOldestMember();
    } catch (caught) {
      await leave(asVisioError(caught));
    }
  }

  async function leave(reason: VisioError | null = null): Promise<void> {
    const lk = lkRoom.value;
    const rtcSession = rtc.value;
    for (const undo of [...teardown, ...lkTeardown]) undo();
    teardown = [];
    lkTeardown = [];
    focusUrl = null;
    lkRoom.value = null;
    rtc.value = null;
    callRoomId.value = null;
    reconnecting.value = false;
    subtitles.value = [];
    stopPreview();
    phase.value = "idle";
    error.value = reason;
    await lk?.disconnect();
    if (rtcSession?.isJoined()) await leaveCall(rtcSession);
  }

  async function toggleMicrophone(): Promise<void> {
    if (phase.value === "prejoin") {
      if (preview.value.audio !== null) {
        preview.value.audio.stop();
        preview.value = { ...preview.value, audio: null };
      } else {
        await refreshPreview();
      }
      return;
    }
    const lk = lkRoom.value;
    if (lk === null) return;
    await lk.localParticipant.setMicrophoneEnabled(!micEnabled.value, microphoneId.value ? { deviceId: microphoneId.value } : undefined);
    bumpLk();
  }

  async function toggleCamera(): Promise<void> {
    if (phase.value === "prejoin") {
      if (preview.value.video !== null) {
        preview.value.video.stop();
        preview.value = { ...preview.value, video: null };
      } else {
        await refreshPreview();
      }
      return;
    }
    const lk = lkRoom.value;
    if (lk === null) return;
    await lk.localParticipant.setCameraEnabled(!cameraEnabled.value, cameraId.value ? { deviceId: cameraId.value } : undefined);
    bumpLk();
  }

  async function toggleScreenShare(): Promise<void> {
    const lk = lkRoom.value;
    if (lk === null) return;
    try {
      await lk.localParticipant.setScreenShareEnabled(!screenSharing.value);
    } catch (caught) {
      // The user closed the browser's picker: not an error worth a banner.
      if (!(caught instanceof DOMException && caught.name === "NotAllowedError")) error.value = asVisioError(caught);
    }
    bumpLk();
  }

  async function toggleHand(): Promise<void> {
    const client = session.client;
    const rtcSession = rtc.value;
    const roomId = callRoomId.value;
    if (client === null || rtcSession === null || roomId === null) return;
    try {
      const raised = hands.value.get(client.getSafeUserId());
      if (raised !== undefined) {
        await lowerHand(client, roomId, raised);
      } else {
        const membership = ownMembership(rtcSession, client);
        if (membership === undefined) return;
        await raiseHand(client, roomId, membership.eventId);
      }
    } catch (caught) {
      error.value = asVisioError(caught);
    }
  }

  async function react(reaction: { emoji: string; name: string }): Promise<void> {
    const client = session.client;
    const rtcSession = rtc.value;
    const roomId = callRoomId.value;
    const membership = client && rtcSession ? ownMembership(rtcSession, client) : undefined;
    if (client === null || roomId === null || membership === undefined) return;
    try {
      await sendCallReaction(client, roomId, membership.eventId, reaction);
    } catch (caught) {
      error.value = asVisioError(caught);
    }
  }

  return {
    phase: computed(() => phase.value),
    error: computed(() => error.value),
    callRoomId: computed(() => callRoomId.value),
    cameras: computed(() => cameras.value),
    microphones: computed(() => microphones.value),
    cameraId: computed(() => cameraId.value),
    microphoneId: computed(() => microphoneId.value),
    preview: computed(() => preview.value),
    participants,
    local,
    membersInCall,
    micEnabled,
    cameraEnabled,
    screenSharing,
    handRaised,
    reconnecting: computed(() => reconnecting.value),
    subtitles: computed(() => subtitles.value),
    reactions: computed(() => reactions.value),
    joinStartedAt: computed(() => joinStartedAt.value),
    openPrejoin,
    chooseDevices,
    cancelPrejoin,
    join,
    leave: () => leave(null),
    toggleMicrophone,
    toggleCamera,
    toggleScreenShare,
    toggleHand,
    react,
  };
});
