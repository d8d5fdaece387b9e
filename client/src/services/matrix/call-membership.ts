// MatrixRTC membership through matrix-js-sdk's MatrixRTCSession, in either of Element Call's modes (a
// call.member state event, or a sticky m.rtc.member event) with our LiveKit focus as the one we publish
// on and an MSC4140 delayed leave, as Element Call sends it, plus Element Call's
// raise-hand (m.reaction 🖐️ on the member event) and reactions (io.element.call.reaction).
import { EventType, RelationType, type MatrixClient, type MatrixEvent, type Room } from "matrix-js-sdk";
import type { CallMembership, MatrixRTCSession } from "matrix-js-sdk/lib/matrixrtc/index.js";
import type { MatrixRtcMode } from "../client-config.ts";
import type { LivekitTransport } from "../livekit/focus.ts";

export const RAISED_HAND_KEY = "🖐️";
export const CALL_REACTION_EVENT = "io.element.call.reaction";

/** Reactions of Element Call's set, with its names (it shows the emoji of the name it knows). */
export const CALL_REACTIONS = [
  { emoji: "👍", name: "thumbsup" },
  { emoji: "👏", name: "clapping" },
  { emoji: "😄", name: "laugh" },
  { emoji: "🥰", name: "heart" },
  { emoji: "🎉", name: "party" },
] as const;

// Membership lifetime and keep-alive: the homeserver sends our leave ~20 s after the tab dies (at
// once when our focus takes the delayed leave over: see call.ts).
export const DELAYED_LEAVE_MS = 20_000;
const MEMBERSHIP_CONFIG = { delayedLeaveEventDelayMs: DELAYED_LEAVE_MS, delayedLeaveEventRestartMs: 5_000, membershipEventExpiryMs: 4 * 3600_000 };

export function rtcSessionOf(client: MatrixClient, room: Room): MatrixRTCSession {
  return client.matrixRTC.getRoomSession(room);
}

export function liveMemberships(session: MatrixRTCSession): CallMembership[] {
  return session.memberships.filter((m) => !m.isExpired());
}

/**
 * Where a member's media is, as matrix-js-sdk and Element Call read a membership: its own focus in
 * multi_sfu, the oldest member's in oldest_membership; undefined for a transport that is not LiveKit.
 */
export function focusUrlOf(session: MatrixRTCSession, membership: CallMembership): string | undefined {
  const oldest = session.memberships[0] ?? membership;
  const transport = membership.getTransport(oldest) as Partial<LivekitTransport> | undefined;
  return transport?.type === "livekit" && typeof transport.livekit_service_url === "string" ? transport.livekit_service_url : undefined;
}

/**
 * The member ID our membership carries, which the LiveKit identity of our media derives from:
 * `<user id>:<device id>` in compatibility mode (call.member state events), a fresh one per join in
 * matrix_2_0 (a sticky m.rtc.member event per session, its sticky key).
 */
export function newMemberId(mode: MatrixRtcMode, userId: string, deviceId: string): string {
  return mode === "matrix_2_0" ? crypto.randomUUID() : `${userId}:${deviceId}`;
}

/**
 * Joins as Element Call does in the deployment's mode, with our own focus as the transport we
 * publish on (multi_sfu): in compatibility mode a call.member state event with focus_selection
 * multi_sfu and our focus first in foci_preferred; in matrix_2_0 a sticky m.rtc.member event naming
 * it as published transport, and an m.rtc.notification when we start the call.
 */
export function joinCall(session: MatrixRTCSession, client: MatrixClient, own: LivekitTransport, roomId: string, mode: MatrixRtcMode, memberId: string): void {
  const userId = client.getSafeUserId();
  const deviceId = client.getDeviceId() ?? "";
  session.joinRTCSession(
    { userId, deviceId, memberId },
    [],
    { type: "livekit", livekit_service_url: own.livekit_service_url, livekit_alias: roomId },
    mode === "matrix_2_0" ? { ...MEMBERSHIP_CONFIG, unstableSendStickyEvents: true, notificationType: "notification" } : { ...MEMBERSHIP_CONFIG },
  );
}

export async function leaveCall(session: MatrixRTCSession): Promise<void> {
  await session.leaveRoomSession(5_000);
}

export function ownMembership(session: MatrixRTCSession, client: MatrixClient): CallMembership | undefined {
  return liveMemberships(session).find((m) => m.sender === client.getUserId() && m.deviceId === client.getDeviceId());
}

function annotationOf(event: MatrixEvent): { eventId: string; key: string } | undefined {
  const relates = event.getRelation();
  if (relates?.rel_type !== RelationType.Annotation || typeof relates.event_id !== "string" || typeof relates.key !== "string") return undefined;
  return { eventId: relates.event_id, key: relates.key };
}

/** Raised hands in the call: member event ID → our reaction event's ID, per user. */
export function raisedHands(room: Room, session: MatrixRTCSession): Map<string, string> {
  const memberships = new Map(liveMemberships(session).map((m) => [m.eventId, m.sender]));
  const raised = new Map<string, string>();
  for (const event of room.getLiveTimeline().getEvents()) {
    if (event.getType() !== EventType.Reaction || event.isRedacted()) continue;
    const annotation = annotationOf(event);
    if (annotation === undefined || annotation.key !== RAISED_HAND_KEY) continue;
    const owner = memberships.get(annotation.eventId);
    const eventId = event.getId();
    if (owner !== undefined && owner === event.getSender() && eventId !== undefined) raised.set(owner, eventId);
  }
  return raised;
}

export async function raiseHand(client: MatrixClient, roomId: string, membershipEventId: string): Promise<void> {
  await client.sendEvent(roomId, EventType.Reaction, {
    "m.relates_to": { rel_type: RelationType.Annotation, event_id: membershipEventId, key: RAISED_HAND_KEY },
  });
}

export async function lowerHand(client: MatrixClient, roomId: string, reactionEventId: string): Promise<void> {
  await client.redactEvent(roomId, reactionEventId);
}

export async function sendCallReaction(client: MatrixClient, roomId: string, membershipEventId: string, reaction: { emoji: string; name: string }): Promise<void> {
  // The SDK's event-type map does not know Element Call's custom type.
  await (client.sendEvent as (roomId: string, type: string, content: Record<string, unknown>) => Promise<unknown>)(roomId, CALL_REACTION_EVENT, {
    "m.relates_to": { rel_type: RelationType.Reference, event_id: membershipEventId },
    emoji: reaction.emoji,
    name: reaction.name,
  });
}
