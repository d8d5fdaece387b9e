// Call state in the appservice's database: LiveKit identities handed out by the focus service,
// webhook ids already applied, calls and the presences of their participants, pending effects.
// Every function works on the database or on a knex transaction, so call changes commit together
// with the appservice transaction or webhook that caused them.
import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import type { CallEffect } from "./call-effect-types.ts";

export interface LiveKitIdentity {
  livekitRoom: string;
  identity: string;
  roomId: string;
  userId: string;
  deviceId: string;
  issuedAt: number;
}

export interface Call {
  id: string;
  roomId: string;
  startedAt: number;
  endedAt: number | null;
  participantCount: number;
  maxConcurrent: number;
}

export type PresenceSource = "livekit" | "matrixrtc";

export interface Presence {
  id: number;
  callId: string;
  source: PresenceSource;
  /** LiveKit participant SID, or the call.member state key. */
  key: string;
  userId: string;
  deviceId: string | null;
  livekitRoom: string | null;
  identity: string | null;
  joinedAt: number;
  leftAt: number | null;
  expiresAt: number | null;
}

export type NewPresence = Omit<Presence, "id" | "leftAt">;

/** A delayed leave event (MSC4140) that a client handed to the focus, for one LiveKit participant. */
export interface DelegatedLeave {
  livekitRoom: string;
  identity: string;
  roomId: string;
  userId: string;
  /** The capability to send the delayed event: never logged. */
  delayId: string;
  delayTimeoutMs: number;
  delegatedAt: number;
}

export interface PendingEffect {
  id: number;
  effect: CallEffect;
  attempts: number;
}

export interface CallStore {
  /** The user's latest room membership, as the transactions recorded it. */
  membership(roomId: string, userId: string): Promise<string | null>;
  /** Whether this appservice created the room (a meeting it hosts), rather than followed it. */
  hostsRoom(roomId: string): Promise<boolean>;
  recordIdentity(identity: LiveKitIdentity): Promise<void>;
  identity(livekitRoom: string, identity: string): Promise<LiveKitIdentity | null>;
  identitiesOf(roomId: string, userId: string): Promise<LiveKitIdentity[]>;
  /** True the first time an id is seen; false for a retried webhook. */
  markWebhookSeen(id: string, event: string, at: number): Promise<boolean>;
  /** LiveKit gives up retrying within minutes: older ids need not be kept. */
  forgetWebhooksBefore(at: number): Promise<void>;
  activeCall(roomId: string): Promise<Call | null>;
  activeCalls(): Promise<Call[]>;
  call(id: string): Promise<Call | null>;
  startCall(roomId: string, at: number): Promise<Call>;
  endCall(id: string, at: number): Promise<Call>;
  addPresence(presence: NewPresence): Promise<void>;
  openPresence(callId: string, source: PresenceSource, key: string): Promise<Presence | null>;
  openPresences(callId: string): Promise<Presence[]>;
  /** Open LiveKit presences in a LiveKit room, whichever call they belong to. */
  openPresencesInLiveKitRoom(livekitRoom: string): Promise<Presence[]>;
  presences(callId: string): Promise<Presence[]>;
  updateExpiry(presenceId: number, expiresAt: number | null): Promise<void>;
  closePresence(presence: Pick<Presence, "id" | "joinedAt">, at: number): Promise<void>;
  enqueueEffect(effect: CallEffect, at: number): Promise<void>;
  /** The oldest effects not done (removals from LiveKit first), leaving out those that wait until after `now`. */
  pendingEffects(limit: number, now: number): Promise<PendingEffect[]>;
  /** One more attempt; a failed one that is to be retried is not pending again before `retryAt`. */
  effectAttempted(id: number, done: boolean, at: number, retryAt?: number): Promise<void>;
  /** The effect waits (not a failed attempt): it is not pending again before `until`. */
  effectWaiting(id: number, until: number): Promise<void>;
  /** Records a participant's delegated leave, replacing an older one of the same participant. */
  delegateLeave(leave: DelegatedLeave): Promise<void>;
  /** The participant's delegated leave, removed from the store (it is used once), or null. */
  takeDelegatedLeave(livekitRoom: string, identity: string): Promise<DelegatedLeave | null>;
  /** Delegated leaves handed over before `at`, oldest first (the reconciler checks them against LiveKit). */
  delegatedLeavesBefore(at: number, limit: number): Promise<DelegatedLeave[]>;
}

interface DelegatedLeaveRow {
  livekit_room: string;
  identity: string;
  room_id: string;
  user_id: string;
  delay_id: string;
  delay_timeout_ms: number | string;
  delegated_at: number | string;
}

interface IdentityRow {
  livekit_room: string;
  identity: string;
  room_id: string;
  user_id: string;
  device_id: string;
  issued_at: number | string;
}

interface CallRow {
  id: string;
  room_id: string;
  started_at: number | string;
  ended_at: number | string | null;
  participant_count: number | string;
  max_concurrent: number | string;
}

interface PresenceRow {
  id: number | string;
  call_id: string;
  source: string;
  presence_key: string;
  user_id: string;
  device_id: string | null;
  livekit_room: string | null;
  identity: string | null;
  joined_at: number | string;
  left_at: number | string | null;
  expires_at: number | string | null;
}

interface EffectRow {
  id: number | string;
  payload: string;
  attempts: number | string;
}

// PostgreSQL returns bigint columns as strings.
const num = (v: number | string): number => Number(v);
const numOrNull = (v: number | string | null): number | null => (v === null ? null : Number(v));

const toIdentity = (r: IdentityRow): LiveKitIdentity => ({
  livekitRoom: r.livekit_room,
  identity: r.identity,
  roomId: r.room_id,
  userId: r.user_id,
  deviceId: r.device_id,
  issuedAt: num(r.issued_at),
});

const toCall = (r: CallRow): Call => ({
  id: r.id,
  roomId: r.room_id,
  startedAt: num(r.started_at),
  endedAt: numOrNull(r.ended_at),
  participantCount: num(r.participant_count),
  maxConcurrent: num(r.max_concurrent),
});

const toPresence = (r: PresenceRow): Presence => ({
  id: num(r.id),
  callId: r.call_id,
  source: r.source as PresenceSource,
  key: r.presence_key,
  userId: r.user_id,
  deviceId: r.device_id,
  livekitRoom: r.livekit_room,
  identity: r.identity,
  joinedAt: num(r.joined_at),
  leftAt: numOrNull(r.left_at),
  expiresAt: numOrNull(r.expires_at),
});

const toDelegatedLeave = (r: DelegatedLeaveRow): DelegatedLeave => ({
  livekitRoom: r.livekit_room,
  identity: r.identity,
  roomId: r.room_id,
  userId: r.user_id,
  delayId: r.delay_id,
  delayTimeoutMs: num(r.delay_timeout_ms),
  delegatedAt: num(r.delegated_at),
});

export function createCallStore(db: Knex): CallStore {
  const presenceCounts = async (callId: string): Promise<{ distinctUsers: number; openUsers: number }> => {
    const rows = (await db("call_participants").where({ call_id: callId }).select("user_id", "left_at")) as {
      user_id: string;
      left_at: unknown;
    }[];
    return {
      distinctUsers: new Set(rows.map((r) => r.user_id)).size,
      openUsers: new Set(rows.filter((r) => r.left_at === null).map((r) => r.user_id)).size,
    };
  };

  return {
    async hostsRoom(roomId) {
      return (await db("meeting_rooms").where({ room_id: roomId }).first("room_id")) !== undefined;
    },
    async membership(roomId, userId) {
      const row = (await db("room_members").where({ room_id: roomId, user_id: userId }).first("membership")) as
        | { membership: string }
        | undefined;
      return row?.membership ?? null;
    },
    async recordIdentity(i) {
      await db("livekit_identities")
        .insert({
          livekit_room: i.livekitRoom,
          identity: i.identity,
          room_id: i.roomId,
          user_id: i.userId,
          device_id: i.deviceId,
          issued_at: i.issuedAt,
        })
        .onConflict(["livekit_room", "identity"])
        .merge(["issued_at"]);
    },
    async identity(livekitRoom, identity) {
      const row = (await db("livekit_identities").where({ livekit_room: livekitRoom, identity }).first()) as IdentityRow | undefined;
      return row ? toIdentity(row) : null;
    },
    async identitiesOf(roomId, userId) {
      const rows = (await db("livekit_identities").where({ room_id: roomId, user_id: userId })) as IdentityRow[];
      return rows.map(toIdentity);
    },
    async markWebhookSeen(id, event, at) {
      const inserted = await db("livekit_webhook_events")
        .insert({ id, event, received_at: at })
        .onConflict("id")
        .ignore()
        .returning("id");
      return inserted.length > 0;
    },
    async forgetWebhooksBefore(at) {
      await db("livekit_webhook_events").where("received_at", "<", at).delete();
    },
    async activeCall(roomId) {
      const row = (await db("calls").where({ room_id: roomId }).whereNull("ended_at").first()) as CallRow | undefined;
      return row ? toCall(row) : null;
    },
    async activeCalls() {
      return ((await db("calls").whereNull("ended_at")) as CallRow[]).map(toCall);
    },
    async call(id) {
      const row = (await db("calls").where({ id }).first()) as CallRow | undefined;
      return row ? toCall(row) : null;
    },
    async startCall(roomId, at) {
      const call: Call = { id: randomUUID(), roomId, startedAt: at, endedAt: null, participantCount: 0, maxConcurrent: 0 };
      await db("calls").insert({ id: call.id, room_id: roomId, started_at: at, participant_count: 0, max_concurrent: 0 });
      return call;
    },
    async endCall(id, at) {
      const { distinctUsers } = await presenceCounts(id);
      await db("calls").where({ id }).update({ ended_at: at, participant_count: distinctUsers });
      const row = (await db("calls").where({ id }).first()) as CallRow;
      return toCall(row);
    },
    async addPresence(p) {
      await db("call_participants").insert({
        call_id: p.callId,
        source: p.source,
        presence_key: p.key,
        user_id: p.userId,
        device_id: p.deviceId,
        livekit_room: p.livekitRoom,
        identity: p.identity,
        joined_at: p.joinedAt,
        expires_at: p.expiresAt,
      });
      const { distinctUsers, openUsers } = await presenceCounts(p.callId);
      await db("calls")
        .where({ id: p.callId })
        .update({ participant_count: distinctUsers, max_concurrent: db.raw("CASE WHEN max_concurrent < ? THEN ? ELSE max_concurrent END", [openUsers, openUsers]) });
    },
    async openPresence(callId, source, key) {
      const row = (await db("call_participants")
        .where({ call_id: callId, source, presence_key: key })
        .whereNull("left_at")
        .first()) as PresenceRow | undefined;
      return row ? toPresence(row) : null;
    },
    async openPresences(callId) {
      return ((await db("call_participants").where({ call_id: callId }).whereNull("left_at").orderBy("id")) as PresenceRow[]).map(toPresence);
    },
    async openPresencesInLiveKitRoom(livekitRoom) {
      const rows = (await db("call_participants")
        .where({ livekit_room: livekitRoom, source: "livekit" })
        .whereNull("left_at")
        .orderBy("id")) as PresenceRow[];
      return rows.map(toPresence);
    },
    async presences(callId) {
      return ((await db("call_participants").where({ call_id: callId }).orderBy("id")) as PresenceRow[]).map(toPresence);
    },
    async updateExpiry(presenceId, expiresAt) {
      await db("call_participants").where({ id: presenceId }).update({ expires_at: expiresAt });
    },
    async closePresence(presence, at) {
      // LiveKit dates a departure in whole seconds and an arrival in milliseconds: a presence
      // never ends before it began.
      await db("call_participants").where({ id: presence.id }).whereNull("left_at").update({ left_at: Math.max(at, presence.joinedAt) });
    },
    async enqueueEffect(effect, at) {
      await db("call_effects").insert({ kind: effect.kind, payload: JSON.stringify(effect), created_at: at, attempts: 0 });
    },
    async pendingEffects(limit, now) {
      const rows = (await db("call_effects")
        .whereNull("done_at")
        // A builder is a thenable: the callback builds the group, it must not return it as a promise.
        .andWhere((q) => void q.whereNull("not_before").orWhere("not_before", "<=", now))
        // Removals first: however much else is queued, a kicked member is disconnected at once.
        .orderByRaw("CASE WHEN kind = 'remove_from_livekit' THEN 0 ELSE 1 END")
        .orderBy("id")
        .limit(limit)) as EffectRow[];
      return rows.map((r) => ({ id: num(r.id), effect: JSON.parse(r.payload) as CallEffect, attempts: num(r.attempts) }));
    },
    async effectAttempted(id, done, at, retryAt) {
      await db("call_effects")
        .where({ id })
        .update({ attempts: db.raw("attempts + 1"), not_before: done ? null : (retryAt ?? null), ...(done ? { done_at: at } : {}) });
    },
    async effectWaiting(id, until) {
      await db("call_effects").where({ id }).update({ not_before: until });
    },
    async delegateLeave(l) {
      await db("delegated_leaves")
        .insert({
          livekit_room: l.livekitRoom,
          identity: l.identity,
          room_id: l.roomId,
          user_id: l.userId,
          delay_id: l.delayId,
          delay_timeout_ms: l.delayTimeoutMs,
          delegated_at: l.delegatedAt,
        })
        .onConflict(["livekit_room", "identity"])
        .merge(["room_id", "user_id", "delay_id", "delay_timeout_ms", "delegated_at"]);
    },
    async takeDelegatedLeave(livekitRoom, identity) {
      const row = (await db("delegated_leaves").where({ livekit_room: livekitRoom, identity }).first()) as DelegatedLeaveRow | undefined;
      if (!row) return null;
      await db("delegated_leaves").where({ livekit_room: livekitRoom, identity }).delete();
      return toDelegatedLeave(row);
    },
    async delegatedLeavesBefore(at, limit) {
      const rows = (await db("delegated_leaves").where("delegated_at", "<", at).orderBy("delegated_at").limit(limit)) as DelegatedLeaveRow[];
      return rows.map(toDelegatedLeave);
    },
  };
}
