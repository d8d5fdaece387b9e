// Who the focus refuses a token for a while after a moderator's action: a removed participant (for
// that meeting), or everyone when a moderator ended the call, so that they are not back at once. Kept
// in memory: a restart of the appservice forgets them, which only shortens the wait.
export interface CallExclusions {
  /** `userId` gets no token for `roomId`'s call for `ms`. */
  excludeUser(roomId: string, userId: string, ms: number): void;
  /** Nobody gets a token for `roomId`'s call for `ms`. */
  excludeRoom(roomId: string, ms: number): void;
  /** Whether the focus refuses `userId` a token for `roomId` now. */
  refuses(roomId: string, userId: string): boolean;
}

const MAX_ENTRIES = 10_000;

export function createCallExclusions(now: () => number = Date.now): CallExclusions {
  /** Key (room, or room and user) → until when. */
  const until = new Map<string, number>();
  const userKey = (roomId: string, userId: string): string => `${roomId}\u0000${userId}`;

  const set = (key: string, ms: number): void => {
    const t = now();
    if (until.size >= MAX_ENTRIES) for (const [k, end] of until) if (end <= t) until.delete(k);
    until.set(key, Math.max(until.get(key) ?? 0, t + ms));
  };
  const active = (key: string): boolean => {
    const end = until.get(key);
    if (end === undefined) return false;
    if (end > now()) return true;
    until.delete(key);
    return false;
  };

  return {
    excludeUser: (roomId, userId, ms) => set(userKey(roomId, userId), ms),
    excludeRoom: (roomId, ms) => set(roomId, ms),
    refuses: (roomId, userId) => active(roomId) || active(userKey(roomId, userId)),
  };
}
