// What one tile of the call shows: a LiveKit participant, seen through the MatrixRTC membership it
// belongs to, or the membership alone while its media has not arrived.
import { Track, type Participant } from "livekit-client";
import type { CallMembership } from "matrix-js-sdk/lib/matrixrtc/index.js";
import { markRaw } from "vue";

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
  /** Its place in the hand queue, from 1; null when the hand is down. */
  handPosition: number | null;
  /** In the call (a membership), but its media has not arrived (yet). */
  waitingForMedia: boolean;
}

/** Who a tile is, as the call knows it: their Matrix user, the name to show, their hand. */
export interface TileOwner {
  userId: string | null;
  name: string;
  handPosition: number | null;
}

function qualityOf(participant: Participant): Quality {
  const value = participant.connectionQuality as string;
  return value === "excellent" || value === "good" || value === "poor" || value === "lost" ? value : "unknown";
}

function trackOf(participant: Participant, source: Track.Source): Track | null {
  const publication = participant.getTrackPublication(source);
  const track = publication?.track;
  return track !== undefined && !publication?.isMuted ? markRaw(track) : null;
}

export function participantView(p: Participant, owner: TileOwner, isLocal: boolean): ParticipantView {
  const mic = p.getTrackPublication(Track.Source.Microphone);
  return {
    identity: p.identity,
    userId: owner.userId,
    name: owner.name,
    isLocal,
    speaking: p.isSpeaking,
    quality: qualityOf(p),
    camera: trackOf(p, Track.Source.Camera),
    screen: trackOf(p, Track.Source.ScreenShare),
    audio: isLocal ? null : trackOf(p, Track.Source.Microphone),
    micMuted: mic === undefined || mic.isMuted,
    handPosition: owner.handPosition,
    waitingForMedia: false,
  };
}

/** A member whose media we do not have (yet): their tile, with their name. */
export function waitingView(membership: CallMembership, owner: TileOwner): ParticipantView {
  return {
    identity: membership.rtcBackendIdentity,
    userId: membership.sender,
    name: owner.name,
    isLocal: false,
    speaking: false,
    quality: "unknown",
    camera: null,
    screen: null,
    audio: null,
    micMuted: true,
    handPosition: owner.handPosition,
    waitingForMedia: true,
  };
}
