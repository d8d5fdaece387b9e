// The call of the open room: pre-join (devices and preview), MatrixRTC membership, the LiveKit
// connections, what each participant shows, raise hand, reactions and live subtitles.
//
// As Element Call does (multi_sfu): we publish on our own ministry's focus only, and subscribe on the
// focus of every other member; a tile is a MatrixRTC membership, whose media is the LiveKit
// participant of that member's focus with the membership's identity (`<user id>:<device id>` for
// call.member state events, a hash of user, device and member ID for m.rtc.member events). LiveKit
// participants without a membership (an agent, another client's subscribe-only connection) get no
// tile. The deployment's config.json picks the membership form (Element Call's two modes).
import { DisconnectReason, RoomEvent as LkEvent, Track, type LocalAudioTrack, type LocalVideoTrack, type Participant, type Room as LkRoom } from "livekit-client";
import { RoomEvent, type MatrixEvent, type Room } from "matrix-js-sdk";
import type { CallMembership, MatrixRTCSession } from "matrix-js-sdk/lib/matrixrtc/index.js";
import { MatrixRTCSessionEvent, MembershipManagerEvent } from "matrix-js-sdk/lib/matrixrtc/index.js";
import { defineStore } from "pinia";
import { computed, markRaw, ref, shallowRef } from "vue";
import { MATRIX_USER_ATTRIBUTE } from "../../../wire-types.ts";
import { ERRCODE, VisioError, asVisioError, reasonOf } from "../services/errors.ts";
import { useServices } from "../services/index.ts";
import type { MediaDeviceChoice, PreviewTracks } from "../services/livekit/call-media.ts";
import {
  focusVouchedBy,
  ownFocus,
  requestPublishToken,
  requestSubscribeToken,
  type FocusTokenRequestInput,
  type LivekitTransport,
} from "../services/livekit/focus.ts";
import { listenToSubtitles, type SubtitleUpdate } from "../services/livekit/subtitles.ts";
import {
  CALL_REACTION_EVENT,
  DELAYED_LEAVE_MS,
  focusUrlOf,
  joinCall,
  leaveCall,
  liveMemberships,
  lowerHand,
  newMemberId,
  ownMembership,
  raiseHand,
  raisedHands,
  rtcSessionOf,
  sendCallReaction,
} from "../services/matrix/call-membership.ts";
import { useCallReturnStore } from "./call-return.ts";
import { useRoomsStore } from "./rooms.ts";
import { useSessionStore } from "./session.ts";

interface LocalTrackToPublish {
  track: LocalVideoTrack | LocalAudioTrack;
  source: Track.Source;
}

export type CallPhase = "idle" | "prejoin" | "joining" | "joined";
export type Quality = "excellent" | "good" | "poor" | "lost" | "unknown";

export interface ParticipantView {
  /** The LiveKit identity its media comes with (the tile's key). */
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
  /** In the call (a membership), but its media has not arrived (yet). */
  waitingForMedia: boolean;
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
  const callReturn = useCallReturnStore();

  const phase = ref<CallPhase>("idle");
  const error = shallowRef<VisioError | null>(null);
  const callRoomId = ref<string | null>(null);
  const cameras = ref<MediaDeviceChoice[]>([]);
  const microphones = ref<MediaDeviceChoice[]>([]);
  const cameraId = ref<string | null>(null);
  const microphoneId = ref<string | null>(null);
  const preview = shallowRef<PreviewTracks>({ video: null, audio: null });
  /** Our own focus's SFU, where we publish. */
  const lkRoom = shallowRef<LkRoom | null>(null);
  /** Other members' SFUs, by focus URL, where we only subscribe. */
  const remoteRooms = shallowRef<ReadonlyMap<string, LkRoom>>(new Map());
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

  function viewOf(p: Participant, userId: string | null, isLocal: boolean): ParticipantView {
    const mic = p.getTrackPublication(Track.Source.Microphone);
    return {
      identity: p.identity,
      userId,
      name: nameOfUser(userId, p.name || p.identity),
      isLocal,
      speaking: p.isSpeaking,
      quality: qualityOf(p),
      camera: trackOf(p, Track.Source.Camera),
      screen: trackOf(p, Track.Source.ScreenShare),
      audio: isLocal ? null : trackOf(p, Track.Source.Microphone),
      micMuted: mic === undefined || mic.isMuted,
      handRaised: userId !== null && hands.value.has(userId),
      waitingForMedia: false,
    };
  }

  /** A member whose media we do not have (yet): their tile, with their name. */
  function waitingView(membership: CallMembership): ParticipantView {
    return {
      identity: membership.rtcBackendIdentity,
      userId: membership.sender,
      name: nameOfUser(membership.sender, membership.sender),
      isLocal: false,
      speaking: false,
      quality: "unknown",
      camera: null,
      screen: null,
      audio: null,
      micMuted: true,
      handRaised: hands.value.has(membership.sender),
      waitingForMedia: true,
    };
  }

  /** The LiveKit room a member's media is in, when we are connected to it. */
  function roomOfMember(rtcSession: MatrixRTCSession, membership: CallMembership): LkRoom | undefined {
    const url = focusUrlOf(rtcSession, membership);
    if (url === undefined) return undefined;
    return url === ownFocusUrl.value ? (lkRoom.value ?? undefined) : remoteRooms.value.get(url);
  }

  const isOwnDevice = (m: CallMembership): boolean => m.sender === session.userId && m.deviceId === session.client?.getDeviceId();

  const participants = computed<ParticipantView[]>(() => {
    void lkRevision.value;
    void rtcRevision.value;
    const room = lkRoom.value;
    const rtcSession = rtc.value;
    if (room === null || rtcSession === null) return [];
    const views = [viewOf(room.localParticipant, session.userId, true)];
    for (const membership of liveMemberships(rtcSession)) {
      if (isOwnDevice(membership)) continue;
      const participant = roomOfMember(rtcSession, membership)?.getParticipantByIdentity(membership.rtcBackendIdentity);
      views.push(participant !== undefined ? viewOf(participant, membership.sender, false) : waitingView(membership));
    }
    return views;
  });

  const local = computed(() => participants.value.find((p) => p.isLocal) ?? null);
  const screenSharing = computed(() => local.value?.screen !== null && local.value?.screen !== undefined);
  const micEnabled = computed(() => (phase.value === "joined" ? local.value?.micMuted === false : preview.value.audio !== null));
  const cameraEnabled = computed(() => (phase.value === "joined" ? local.value?.camera !== null : preview.value.video !== null));
  const handRaised = computed(() => session.userId !== null && hands.value.has(session.userId));

  // Bumped whenever the preview is stopped: tracks created for an older choice (two quick changes,
  // or the pre-join closed meanwhile) are stopped when they arrive instead of replacing newer ones.
  let previewGeneration = 0;
  function stopPreview(): void {
    previewGeneration += 1;
    preview.value.video?.stop();
    preview.value.audio?.stop();
    preview.value = { video: null, audio: null };
  }

  async function refreshPreview(): Promise<void> {
    stopPreview();
    const generation = previewGeneration;
    try {
      const tracks = await services.callMedia.createPreview({ cameraId: cameraId.value, microphoneId: microphoneId.value });
      if (generation !== previewGeneration) {
        tracks.video?.stop();
        tracks.audio?.stop();
        return;
      }
      preview.value = { video: tracks.video && markRaw(tracks.video), audio: tracks.audio && markRaw(tracks.audio) };
    } catch (caught) {
      const message = caught instanceof Error ? caught.message : String(caught);
      error.value = new VisioError(ERRCODE.unknown, "call.noMedia", { reason: reasonOf(caught), cause: caught, detail: message });
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

  function addSubtitle(update: SubtitleUpdate, room: LkRoom): void {
    const participant = update.speakerIdentity === null ? undefined : room.getParticipantByIdentity(update.speakerIdentity);
    const membership = rtc.value === null ? undefined : liveMemberships(rtc.value).find((m) => m.rtcBackendIdentity === update.speakerIdentity);
    const userId = membership?.sender ?? participant?.attributes[MATRIX_USER_ATTRIBUTE] ?? null;
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

  // The LiveKit side of the call: our own SFU (publishing) and one subscribe-only connection per
  // other focus that members use.
  let lkTeardown: (() => void)[] = [];
  const ownFocusUrl = ref<string | null>(null);
  /** Our membership's member ID while in a call (see newMemberId). */
  const memberId = ref<string | null>(null);
  const connecting = new Set<string>();
  /** "<server> <focus URL>" → whether that server announces that focus (asked once per page). */
  const vouchedFoci = new Map<string, Promise<boolean>>();
  const reconnectingRooms = new Set<LkRoom>();
  const retryTimers = new Map<string, ReturnType<typeof setTimeout>>();
  const REMOTE_RETRY_MS = 3_000;

  /** What a token request to a focus carries for us: who we are, our membership, a fresh OpenID token. */
  async function tokenInput(serviceUrl: string, room: Room, memberId: string): Promise<FocusTokenRequestInput> {
    const client = session.client;
    if (client === null) throw new VisioError(ERRCODE.unknownToken, "error.sessionExpired");
    return {
      serviceUrl,
      roomId: room.roomId,
      userId: client.getSafeUserId(),
      deviceId: client.getDeviceId() ?? "",
      memberId,
      openIdToken: await client.getOpenIdToken(),
    };
  }

  async function connectTo(serviceUrl: string, room: Room, mode: "publish" | "subscribe", memberId: string): Promise<LkRoom> {
    const input = await tokenInput(serviceUrl, room, memberId);
    const rtcMode = services.config.matrixRtcMode;
    const token =
      mode === "publish" ? await requestPublishToken(services.fetch, input, rtcMode) : await requestSubscribeToken(services.fetch, input, rtcMode);
    const lk = markRaw(await services.callMedia.connect(token.url, token.jwt));
    for (const name of LK_EVENTS) lk.on(name as LkEvent.ParticipantConnected, bumpLk);
    // Any of our connections losing its SFU interrupts someone's media: the user is told.
    const onReconnecting = (): void => {
      reconnectingRooms.add(lk);
      reconnecting.value = true;
    };
    const onReconnected = (): void => {
      reconnectingRooms.delete(lk);
      reconnecting.value = reconnectingRooms.size > 0;
      bumpLk();
    };
    const onDisconnected = (reason?: DisconnectReason): void => {
      // livekit-client disconnects by itself when the page is left (a reload, the tab closed): the
      // call is not over for the user, and the tab keeps it for the page that comes next.
      if (reason === DisconnectReason.CLIENT_INITIATED && lkRoom.value === lk) return;
      reconnectingRooms.delete(lk);
      reconnecting.value = reconnectingRooms.size > 0;
      // Not by our leave(): the SDK gave up reconnecting.
      if (mode === "publish" && lkRoom.value === lk) void leave(new VisioError(ERRCODE.serverDown, "call.quality.lost", { retryable: true }));
      if (mode === "subscribe" && remoteRooms.value.get(serviceUrl) === lk) {
        dropRemote(serviceUrl);
        scheduleSync(serviceUrl);
      }
    };
    lk.on(LkEvent.Reconnecting, onReconnecting);
    lk.on(LkEvent.Reconnected, onReconnected);
    lk.on(LkEvent.Disconnected, onDisconnected);
    const stopSubtitles = listenToSubtitles(lk, (update) => addSubtitle(update, lk));
    lkTeardown.push(() => {
      stopSubtitles();
      lk.off(LkEvent.Reconnecting, onReconnecting);
      lk.off(LkEvent.Reconnected, onReconnected);
      lk.off(LkEvent.Disconnected, onDisconnected);
      for (const name of LK_EVENTS) lk.off(name as LkEvent.ParticipantConnected, bumpLk);
    });
    return lk;
  }

  /**
   * Hands our delayed leave to our focus with a token request (the token itself is not used), as
   * Element Call does: it leaves the call as soon as our LiveKit connection goes. A focus that does
   * not take it refuses; then the homeserver sends it when the delay runs out, as before.
   */
  async function delegateLeave(serviceUrl: string, room: Room, memberId: string, delayId: string): Promise<void> {
    try {
      const input = await tokenInput(serviceUrl, room, memberId);
      await requestPublishToken(services.fetch, input, services.config.matrixRtcMode, { delayId, timeoutMs: DELAYED_LEAVE_MS });
    } catch {
      // Not taken (or signed out meanwhile): nothing is lost, the delay still runs at the homeserver.
    }
  }

  function dropRemote(url: string): LkRoom | undefined {
    const lk = remoteRooms.value.get(url);
    const next = new Map(remoteRooms.value);
    next.delete(url);
    remoteRooms.value = next;
    bumpLk();
    return lk;
  }

  function scheduleSync(url: string): void {
    if (retryTimers.has(url)) return;
    retryTimers.set(
      url,
      setTimeout(() => {
        retryTimers.delete(url);
        void syncRemoteRooms();
      }, REMOTE_RETRY_MS),
    );
  }

  /**
   * Connects to the focus of every other member and leaves those nobody uses any more. A focus that
   * refuses us for now (its member's membership came before their media) is asked again shortly.
   */
  async function syncRemoteRooms(): Promise<void> {
    const rtcSession = rtc.value;
    const room = rooms.selectedRoom;
    const ownMemberId = memberId.value;
    if (rtcSession === null || room === null || room.roomId !== callRoomId.value || ownFocusUrl.value === null || ownMemberId === null) return;
    const wanted = new Set<string>();
    for (const m of liveMemberships(rtcSession)) {
      const url = isOwnDevice(m) ? undefined : focusUrlOf(rtcSession, m);
      if (url !== undefined && url !== ownFocusUrl.value) wanted.add(url);
    }
    for (const url of [...remoteRooms.value.keys()]) {
      if (!wanted.has(url)) void dropRemote(url)?.disconnect();
    }
    // Our OpenID token goes only to a focus that the homeserver of a member naming it announces.
    const declaredBy = (url: string): string[] => [
      ...new Set(
        liveMemberships(rtcSession)
          .filter((m) => (m.transports[0] as Partial<LivekitTransport> | undefined)?.livekit_service_url === url)
          .map((m) => m.sender.slice(m.sender.indexOf(":") + 1)),
      ),
    ];
    const vouched = async (url: string): Promise<boolean> => {
      for (const server of declaredBy(url)) {
        const key = `${server} ${url}`;
        let answer = vouchedFoci.get(key);
        if (answer === undefined) {
          answer = focusVouchedBy(services.fetch, server, url);
          vouchedFoci.set(key, answer);
        }
        if (await answer) return true;
      }
      return false;
    };
    await Promise.all(
      [...wanted]
        .filter((url) => !remoteRooms.value.has(url) && !connecting.has(url))
        .map(async (url) => {
          connecting.add(url);
          try {
            if (!(await vouched(url))) return;
            const lk = await connectTo(url, room, "subscribe", ownMemberId);
            if (rtc.value !== rtcSession) {
              await lk.disconnect();
              return;
            }
            remoteRooms.value = new Map([...remoteRooms.value, [url, lk]]);
            bumpLk();
          } catch {
            scheduleSync(url);
          } finally {
            connecting.delete(url);
          }
        }),
    );
  }

  // Bumped by every leave(): a join still on its way when the user left (or signed out) stops at its
  // next step and undoes what it had done, instead of bringing the call back.
  let callGeneration = 0;

  async function join(): Promise<void> {
    const client = session.client;
    const room = rooms.selectedRoom;
    if (client === null || room === null || phase.value === "joining" || phase.value === "joined") return;
    const generation = ++callGeneration;
    const left = (): boolean => generation !== callGeneration;
    error.value = null;
    phase.value = "joining";
    joinStartedAt.value = performance.now();
    try {
      const own = await ownFocus(session.wellKnown, () => client._unstable_getRTCTransports());
      if (left()) return;
      if (own === undefined) throw new VisioError(ERRCODE.noFocus, "call.noFocus", { detail: "no livekit focus in the homeserver's .well-known (org.matrix.msc4143.rtc_foci) nor its rtc/transports" });
      const rtcSession = markRaw(rtcSessionOf(client, room));
      const rtcMode = services.config.matrixRtcMode;
      const ownMemberId = newMemberId(rtcMode, client.getSafeUserId(), client.getDeviceId() ?? "");
      // Membership first: the appservice only lets members of the call stay in its LiveKit room.
      joinCall(rtcSession, client, own, room.roomId, rtcMode, ownMemberId);
      memberId.value = ownMemberId;
      rtc.value = rtcSession;
      callRoomId.value = room.roomId;
      ownFocusUrl.value = own.livekit_service_url;
      const onMemberships = (): void => {
        rtcRevision.value += 1;
        void syncRemoteRooms();
      };
      rtcSession.on(MatrixRTCSessionEvent.MembershipsChanged, onMemberships);
      teardown.push(() => rtcSession.off(MatrixRTCSessionEvent.MembershipsChanged, onMemberships));
      teardown.push(watchReactions(room));
      void syncRemoteRooms();
      const lk = await connectTo(own.livekit_service_url, room, "publish", ownMemberId);
      if (left()) {
        await lk.disconnect();
        return;
      }
      lkRoom.value = lk;
      const { video, audio } = preview.value;
      const tracks: LocalTrackToPublish[] = [];
      if (video !== null) tracks.push({ track: video, source: Track.Source.Camera });
      if (audio !== null) tracks.push({ track: audio, source: Track.Source.Microphone });
      await Promise.all(tracks.map(({ track, source }) => lk.localParticipant.publishTrack(track, { source })));
      // Left meanwhile: leave() has disconnected it already.
      if (left()) return;
      bumpLk();
      phase.value = "joined";
      callReturn.joined(room.roomId);
      // Our delayed leave, to the focus we publish on, each time the SDK has a new one.
      const delegate = (delayId: string | undefined): void => {
        if (delayId !== undefined && !left()) void delegateLeave(own.livekit_service_url, room, ownMemberId, delayId);
      };
      rtcSession.on(MembershipManagerEvent.DelayIdChanged, delegate);
      teardown.push(() => rtcSession.off(MembershipManagerEvent.DelayIdChanged, delegate));
      delegate(rtcSession.delayId);
    } catch (caught) {
      if (!left()) await leave(asVisioError(caught));
    }
  }

  async function leave(reason: VisioError | null = null): Promise<void> {
    callGeneration += 1;
    const endedRoomId = phase.value === "joined" ? callRoomId.value : null;
    const lk = lkRoom.value;
    const remote = [...remoteRooms.value.values()];
    const rtcSession = rtc.value;
    for (const undo of [...teardown, ...lkTeardown]) undo();
    for (const timer of retryTimers.values()) clearTimeout(timer);
    retryTimers.clear();
    reconnectingRooms.clear();
    teardown = [];
    lkTeardown = [];
    ownFocusUrl.value = null;
    memberId.value = null;
    lkRoom.value = null;
    remoteRooms.value = new Map();
    rtc.value = null;
    callRoomId.value = null;
    reconnecting.value = false;
    subtitles.value = [];
    stopPreview();
    phase.value = "idle";
    error.value = reason;
    callReturn.ended(endedRoomId, reason === null ? "left" : "lost");
    await Promise.all([lk?.disconnect(), ...remote.map((r) => r.disconnect())]);
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
