// Meetings on the wire: the appservice's APIs to create a meeting, run its breakout groups and
// moderate its call, and the breakout groups' room state.
import type { OpenIdToken } from "./matrix.ts";

/** Where a user of the ministry creates a meeting on its appservice. */
export const MEETINGS_API_PATH = "/_visio/v1/meetings";

/** `POST /_visio/v1/meetings`: a new meeting, with the title its creator gives it. */
export interface MeetingCreationRequest {
  /** As the creator writes it, in their language: 1 to 100 characters. */
  title: string;
  openid_token: OpenIdToken;
}

/** Answer to a MeetingCreationRequest: the room, already inviting its creator, who moderates it. */
export interface MeetingCreationResponse {
  room_id: string;
  /** #<prefix><slug>:<server>: the slug comes from the title, with a random tail. */
  room_alias: string;
  name: string;
}

/** Where a moderator starts and ends a meeting's breakout groups, on the appservice hosting it. */
export const BREAKOUTS_API_PATH = "/_visio/v1/breakouts";

/**
 * State event (key "") of a meeting room, written by its bot only: the meeting's breakout groups. Each
 * group is a meeting room of its own (its call, its transcript), a child of the meeting (m.space.child
 * here, m.space.parent there, as MSC3985 sketches). Clients move their user into their group's call
 * while `active` and `ends_at` is not past, and back to the meeting's call after.
 */
export const BREAKOUTS_STATE_EVENT = "org.visio.breakouts";

export interface BreakoutGroup {
  room_id: string;
  name: string;
  /** Matrix user IDs, each in one group only. */
  members: string[];
}

export interface BreakoutsContent {
  active: boolean;
  groups: BreakoutGroup[];
  /** The moderator who started them, who is invited into every group. */
  started_by: string;
  started_at: number;
  /** When they end by themselves (ms since the epoch); absent: when a moderator ends them. */
  ends_at?: number;
  ended_at?: number;
}

/** `POST /_visio/v1/breakouts`: start (with the groups) or end a meeting's breakout groups. */
export interface BreakoutsRequest {
  room_id: string;
  action: "start" | "end";
  /** start only: the members of each group (2 to 20 groups, joined members of the meeting). */
  groups?: string[][];
  /** start only: 1 to 240; absent, until a moderator ends them. */
  duration_minutes?: number;
  openid_token: OpenIdToken;
}

/** Where a moderator acts on the participants of a meeting's call, on each ministry's appservice. */
export const MODERATION_API_PATH = "/_visio/v1/moderation";

/**
 * `POST /_visio/v1/moderation`: a moderator (power level 50) mutes a participant's microphone or
 * everyone's, removes a participant, or ends the call, on the SFU of the ministry receiving it (in
 * multi_sfu each member publishes on their own ministry's: ask the target's ministry, or every one).
 */
export interface ModerationRequest {
  room_id: string;
  action: "mute" | "mute_all" | "remove" | "end";
  /** mute and remove only: the participant's LiveKit identity or Matrix user ID. */
  target?: string;
  openid_token: OpenIdToken;
}

/** How many participants of this ministry's SFU the action reached. */
export interface ModerationResponse {
  affected: number;
}
