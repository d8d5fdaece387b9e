// Everything the appservice keeps, behind one interface (SQLite or PostgreSQL through knex).
import type { Knex } from "knex";

export interface MeetingRoom {
  roomId: string;
  alias: string;
  slug: string;
  createdAt: number;
}

export interface MembershipChange {
  roomId: string;
  userId: string;
  membership: string;
  eventId: string;
  originServerTs: number;
}

export type TransactionOutcome = "handled" | "duplicate";

export interface Store {
  /**
   * Applies a transaction's changes and records its txnId atomically: a txnId seen before is not
   * applied again, even after a restart. `alsoApply` runs in the same database transaction (after
   * the memberships), for changes kept elsewhere, such as call state.
   */
  applyTransaction(
    txnId: string,
    eventCount: number,
    memberships: MembershipChange[],
    alsoApply?: (trx: Knex.Transaction) => Promise<void>,
  ): Promise<TransactionOutcome>;
  membership(roomId: string, userId: string): Promise<string | null>;
  /**
   * Records the members of a room the bot has just joined (a meeting hosted by another ministry).
   * What the transactions recorded already is newer and stays.
   */
  seedMembers(roomId: string, userIds: readonly string[]): Promise<void>;
  saveMeetingRoom(room: MeetingRoom): Promise<void>;
  meetingRoomByAlias(alias: string): Promise<MeetingRoom | null>;
  close(): Promise<void>;
}

interface MeetingRoomRow {
  room_id: string;
  alias: string;
  slug: string;
  created_at: number | string;
}

// Memberships are read on every focus token request and written only by the appservice process
// (transactions, seeding), so that process keeps the ones it has read or written; the database stays
// the source of truth. Other readers of the same database (tools, tests) must not cache.
const MEMBERSHIP_CACHE_SIZE = 100_000;
const memberKey = (roomId: string, userId: string): string => `${roomId}\u0000${userId}`;

export function createStore(db: Knex, { cacheMemberships = false }: { cacheMemberships?: boolean } = {}): Store {
  const memberships = new Map<string, string | null>();
  const remember = (key: string, membership: string | null): void => {
    if (!cacheMemberships) return;
    memberships.delete(key);
    memberships.set(key, membership);
    if (memberships.size > MEMBERSHIP_CACHE_SIZE) memberships.delete(memberships.keys().next().value as string);
  };
  return {
    async applyTransaction(txnId, eventCount, changes, alsoApply) {
      let latestRows: { room_id: string; user_id: string; membership: string }[] = [];
      const outcome = await db.transaction(async (trx): Promise<TransactionOutcome> => {
        const inserted = await trx("as_transactions")
          .insert({ txn_id: txnId, event_count: eventCount, handled_at: Date.now() })
          .onConflict("txn_id")
          .ignore()
          .returning("txn_id");
        if (inserted.length === 0) return "duplicate";
        // Several changes of one user in one transaction: the last one wins, as in the room.
        const latest = new Map<string, MembershipChange>();
        for (const change of changes) latest.set(memberKey(change.roomId, change.userId), change);
        const rows = [...latest.values()].map((c) => ({
          room_id: c.roomId,
          user_id: c.userId,
          membership: c.membership,
          event_id: c.eventId,
          origin_server_ts: c.originServerTs,
        }));
        latestRows = rows;
        // Chunks stay under SQLite's bound-parameter limit.
        for (let i = 0; i < rows.length; i += 100) {
          await trx("room_members")
            .insert(rows.slice(i, i + 100))
            .onConflict(["room_id", "user_id"])
            .merge(["membership", "event_id", "origin_server_ts"]);
        }
        await alsoApply?.(trx);
        return "handled";
      });
      // After the commit: a rolled-back transaction must leave the cache as the database is.
      if (outcome === "handled") for (const row of latestRows) remember(memberKey(row.room_id, row.user_id), row.membership);
      return outcome;
    },
    async membership(roomId, userId) {
      const key = memberKey(roomId, userId);
      const known = memberships.get(key);
      if (known !== undefined) return known;
      const row = await db("room_members").where({ room_id: roomId, user_id: userId }).first("membership");
      const membership = (row as { membership: string } | undefined)?.membership ?? null;
      remember(key, membership);
      return membership;
    },
    async seedMembers(roomId, userIds) {
      const rows = userIds.map((userId) => ({ room_id: roomId, user_id: userId, membership: "join", event_id: "", origin_server_ts: 0 }));
      for (let i = 0; i < rows.length; i += 100) {
        await db("room_members").insert(rows.slice(i, i + 100)).onConflict(["room_id", "user_id"]).ignore();
      }
      // Rows that existed stay as they were: read them again rather than guess.
      for (const userId of userIds) memberships.delete(memberKey(roomId, userId));
    },
    async saveMeetingRoom(room) {
      await db("meeting_rooms")
        .insert({ room_id: room.roomId, alias: room.alias, slug: room.slug, created_at: room.createdAt })
        .onConflict("room_id")
        .ignore();
    },
    async meetingRoomByAlias(alias) {
      const row = (await db("meeting_rooms").where({ alias }).first()) as MeetingRoomRow | undefined;
      return row ? { roomId: row.room_id, alias: row.alias, slug: row.slug, createdAt: Number(row.created_at) } : null;
    },
    close: () => db.destroy(),
  };
}
