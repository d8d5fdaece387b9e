// The call of the open room: joining and leaving, and what the call shows. As Element Call does
// (multi_sfu), we publish on our own ministry's focus and subscribe on every other member's; a tile is
// a MatrixRTC membership, its media the LiveKit participant with the membership's identity on that
// member's focus (participants without a membership, such as an agent, get none). The deployment's
// config.json picks the membership form (Element Call's two modes). Devices and preview, the other
// foci, subtitles, hands and reactions, and what a tile holds are in ./call/.
import { DisconnectReason, RoomEvent as LkEvent, Track, type LocalAudioTrack, type LocalVideoTrack, type Room as LkRoom } from "livekit-client";
import type { Room } from "matrix-js-sdk";
import type { CallMembership, MatrixRTCSession } from "matrix-js-sdk/lib/matrixrtc/index.js";
import { MatrixRTCSessionEvent, MembershipManagerEvent } from "matrix-js-sdk/lib/matrixrtc/index.js";
import { defineStore } from "pinia";
import { computed, markRaw, ref, shallowRef } from "vue";
import { MATRIX_USER_ATTRIBUTE } from "../../../config/wire-types.ts";
import { ERRCODE, VisioError, asVisioError } from "../services/errors.ts";
import { useServices } from "../services/index.ts";
import { ownFocus, requestPublishToken, requestSubscribeToken } from "../services/livekit/focus.ts";
import { byModerator, callLostError } from "../services/moderation/disconnect-reasons.ts";
import { listenToSubtitles } from "../services/livekit/subtitles.ts";
import { focusUrlOf, joinCall, leaveCall, liveMemberships, newMemberId, raisedHands, rtcSessionOf } from "../services/matrix/call-membership.ts";
import { createCallDevices } from "./call/call-devices.ts";
import { createCallPreview } from "./call/call-preview.ts";
import { createCallReactions, sendOwnReaction, toggleOwnHand } from "./call/call-reactions.ts";
import { createFocusRequests } from "./call/focus-requests.ts";
import { createCallSubtitles } from "./call/call-subtitles.ts";
import { participantView, waitingView, type ParticipantView } from "./call/participant-view.ts";
import { createRemoteFoci } from "./call/remote-foci.ts";
import { useCallReturnStore } from "./call-return.ts";
import { useRoomsStore } from "./rooms.ts";
import { useSessionStore } from "./session.ts";

export type { ParticipantView, Quality } from "./call/participant-view.ts";
export type { Subtitle } from "./call/call-subtitles.ts";
export type { FlyingReaction } from "./call/call-reactions.ts";
export type { DeviceKind, InputState } from "./call/call-preview.ts";

interface LocalTrackToPublish {
  track: LocalVideoTrack | LocalAudioTrack;
  source: Track.Source;
}

export type CallPhase = "idle" | "prejoin" | "joining" | "joined";

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

export const useCallStore = defineStore("call", () => {
  const services = useServices();
  const session = useSessionStore();
  const rooms = useRoomsStore();
  const callReturn = useCallReturnStore();

  const phase = ref<CallPhase>("idle");
  const error = shallowRef<VisioError | null>(null);
  const callRoomId = ref<string | null>(null);
  /** Our own focus's SFU, where we publish. */
  const lkRoom = shallowRef<LkRoom | null>(null);
  const rtc = shallowRef<MatrixRTCSession | null>(null);
  const lkRevision = ref(0);
  const rtcRevision = ref(0);
  const reconnecting = ref(false);
  const joinStartedAt = ref<number | null>(null);
  let teardown: (() => void)[] = [];

  const bumpLk = (): void => void lkRevision.value++;
  const devices = createCallPreview(services.callMedia, (failure) => (error.value = failure));
  const subtitles = createCallSubtitles();
  const reactions = createCallReactions((userId) => rooms.displayName(userId));
  const { tokenInput, delegateLeave } = createFocusRequests(services, () => session.client);

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

  const handQueue = computed(() => [...hands.value.keys()]); // first raised first: the timeline's order

  const ownerOf = (userId: string | null, fallback: string) => {
    const place = userId === null ? -1 : handQueue.value.indexOf(userId);
    return { userId, name: userId === null ? fallback : rooms.displayName(userId), handPosition: place < 0 ? null : place + 1 };
  };

  // The LiveKit side of the call: our own SFU (publishing) and one subscribe-only connection per
  // other focus that members use.
  let lkTeardown: (() => void)[] = [];
  const ownFocusUrl = ref<string | null>(null);
  /** Our membership's member ID while in a call (see newMemberId). */
  const memberId = ref<string | null>(null);
  const reconnectingRooms = new Set<LkRoom>();

  const isOwnDevice = (m: CallMembership): boolean => m.sender === session.userId && m.deviceId === session.client?.getDeviceId();

  const remote = createRemoteFoci({
    fetch: services.fetch,
    current() {
      const rtcSession = rtc.value;
      const room = rooms.selectedRoom;
      if (rtcSession === null || room === null || room.roomId !== callRoomId.value || ownFocusUrl.value === null || memberId.value === null) return null;
      return { rtcSession, room, ownFocusUrl: ownFocusUrl.value, memberId: memberId.value };
    },
    isOwnDevice,
    connect: (url, room, id) => connectTo(url, room, "subscribe", id),
    changed: bumpLk,
  });

  /** The LiveKit room a member's media is in, when we are connected to it. */
  function roomOfMember(rtcSession: MatrixRTCSession, membership: CallMembership): LkRoom | undefined {
    const url = focusUrlOf(rtcSession, membership);
    if (url === undefined) return undefined;
    return url === ownFocusUrl.value ? (lkRoom.value ?? undefined) : remote.rooms.value.get(url);
  }

  const participants = computed<ParticipantView[]>(() => {
    void lkRevision.value;
    void rtcRevision.value;
    const room = lkRoom.value;
    const rtcSession = rtc.value;
    if (room === null || rtcSession === null) return [];
    const local = room.localParticipant;
    const views = [participantView(local, ownerOf(session.userId, local.name || local.identity), true)];
    for (const membership of liveMemberships(rtcSession)) {
      if (isOwnDevice(membership)) continue;
      const participant = roomOfMember(rtcSession, membership)?.getParticipantByIdentity(membership.rtcBackendIdentity);
      views.push(
        participant !== undefined
          ? participantView(participant, ownerOf(membership.sender, participant.name || participant.identity), false)
          : waitingView(membership, ownerOf(membership.sender, membership.sender)),
      );
    }
    return views;
  });

  const local = computed(() => participants.value.find((p) => p.isLocal) ?? null);
  const screenSharing = computed(() => local.value?.screen !== null && local.value?.screen !== undefined);
  const inCall = createCallDevices({ phase, preview: devices, local, own: lkRoom, others: () => remote.rooms.value.values(), changed: bumpLk, onError: (e) => (error.value = e) });
  const handRaised = computed(() => session.userId !== null && hands.value.has(session.userId));
  async function openPrejoin(): Promise<void> {
    if (phase.value !== "idle") return;
    phase.value = "prejoin";
    error.value = null;
    await devices.open();
  }

  function cancelPrejoin(): void {
    devices.stop();
    phase.value = "idle";
  }

  /** A subtitle line, under the name of the member whose track it transcribes. */
  function speakerOf(speakerIdentity: string | null, room: LkRoom): string {
    const participant = speakerIdentity === null ? undefined : room.getParticipantByIdentity(speakerIdentity);
    const membership = rtc.value === null ? undefined : liveMemberships(rtc.value).find((m) => m.rtcBackendIdentity === speakerIdentity);
    const userId = membership?.sender ?? participant?.attributes[MATRIX_USER_ATTRIBUTE] ?? null;
    return ownerOf(userId, participant?.name || speakerIdentity || "?").name;
  }

  async function connectTo(serviceUrl: string, room: Room, mode: "publish" | "subscribe", memberId: string): Promise<LkRoom> {
    const input = await tokenInput(serviceUrl, room, memberId);
    const rtcMode = services.config.matrixRtcMode;
    const token =
      mode === "publish" ? await requestPublishToken(services.fetch, input, rtcMode) : await requestSubscribeToken(services.fetch, input, rtcMode);
    const lk = markRaw(await services.callMedia.connect(token.url, token.jwt, devices.speakerId.value));
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
      if (mode === "publish" && lkRoom.value === lk) void leave(callLostError(reason));
      if (mode === "subscribe") remote.lost(serviceUrl, lk);
    };
    lk.on(LkEvent.Reconnecting, onReconnecting);
    lk.on(LkEvent.Reconnected, onReconnected);
    lk.on(LkEvent.Disconnected, onDisconnected);
    const stopSubtitles = listenToSubtitles(lk, (update) => subtitles.add(update, speakerOf(update.speakerIdentity, lk)));
    lkTeardown.push(() => {
      stopSubtitles();
      lk.off(LkEvent.Reconnecting, onReconnecting);
      lk.off(LkEvent.Reconnected, onReconnected);
      lk.off(LkEvent.Disconnected, onDisconnected);
      for (const name of LK_EVENTS) lk.off(name as LkEvent.ParticipantConnected, bumpLk);
    });
    return lk;
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
        void remote.sync();
      };
      rtcSession.on(MatrixRTCSessionEvent.MembershipsChanged, onMemberships);
      teardown.push(() => rtcSession.off(MatrixRTCSessionEvent.MembershipsChanged, onMemberships));
      teardown.push(reactions.watch(room));
      void remote.sync();
      const lk = await connectTo(own.livekit_service_url, room, "publish", ownMemberId);
      if (left()) {
        await lk.disconnect();
        return;
      }
      lkRoom.value = lk;
      // The preview still starting (joined at once): its tracks, not none.
      await devices.whenSettled();
      if (left()) return;
      const { video, audio } = devices.preview.value;
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
    const others = remote.clear();
    const rtcSession = rtc.value;
    for (const undo of [...teardown, ...lkTeardown]) undo();
    reconnectingRooms.clear();
    teardown = [];
    lkTeardown = [];
    ownFocusUrl.value = null;
    memberId.value = null;
    lkRoom.value = null;
    rtc.value = null;
    callRoomId.value = null;
    reconnecting.value = false;
    subtitles.clear();
    devices.stop();
    phase.value = "idle";
    error.value = reason;
    callReturn.ended(endedRoomId, reason === null ? "left" : byModerator(reason) ? "moderated" : "lost");
    await Promise.all([lk?.disconnect(), ...others.map((r) => r.disconnect())]);
    if (rtcSession?.isJoined()) await leaveCall(rtcSession);
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

  /** The call's Matrix side, for hands and reactions: null when not in a call. */
  function matrixCall() {
    const client = session.client;
    const rtcSession = rtc.value;
    const roomId = callRoomId.value;
    return client === null || rtcSession === null || roomId === null ? null : { client, rtcSession, roomId };
  }

  async function toggleHand(): Promise<void> {
    const c = matrixCall();
    if (c === null) return;
    try {
      await toggleOwnHand(c.client, c.rtcSession, c.roomId, hands.value.get(c.client.getSafeUserId()));
    } catch (caught) {
      error.value = asVisioError(caught);
    }
  }

  async function react(reaction: { emoji: string; name: string }): Promise<void> {
    const c = matrixCall();
    if (c === null) return;
    try {
      await sendOwnReaction(c.client, c.rtcSession, c.roomId, reaction);
    } catch (caught) {
      error.value = asVisioError(caught);
    }
  }

  return {
    phase: computed(() => phase.value),
    error: computed(() => error.value),
    callRoomId: computed(() => callRoomId.value),
    ...devices.exposed,
    participants,
    local,
    membersInCall,
    micEnabled: inCall.micEnabled,
    cameraEnabled: inCall.cameraEnabled,
    screenSharing,
    handRaised,
    handQueue,
    reconnecting: computed(() => reconnecting.value),
    subtitles: computed(() => subtitles.subtitles.value),
    reactions: computed(() => reactions.reactions.value),
    joinStartedAt: computed(() => joinStartedAt.value),
    openPrejoin,
    switchDevice: inCall.switchDevice,
    cancelPrejoin,
    join,
    leave: () => leave(null),
    toggleMicrophone: inCall.toggleMicrophone,
    toggleCamera: inCall.toggleCamera,
    toggleScreenShare,
    toggleHand,
    react,
  };
});
