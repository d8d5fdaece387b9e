// Which call this tab was in, kept in the tab's own storage (sessionStorage: it survives a reload and
// ends with the tab, and another tab never sees it), so that a reload mid-call offers to rejoin.
import type { KeyValueStorage } from "../matrix/session-storage.ts";

export interface CallInTab {
  roomId: string;
  userId: string;
  /** When the call was joined (ms since the epoch). */
  since: number;
}

const KEY = "visio.call";
/** A call older than this is not offered any more: the meeting has most likely ended. */
export const CALL_RETURN_MAX_AGE_MS = 12 * 60 * 60 * 1000;

export function rememberCall(storage: KeyValueStorage, call: CallInTab): void {
  storage.setItem(KEY, JSON.stringify(call));
}

export function forgetCall(storage: KeyValueStorage): void {
  storage.removeItem(KEY);
}

/** The call this tab was in, for this user, unless it is too old or the entry is damaged. */
export function callInTab(storage: KeyValueStorage, userId: string, now: number): CallInTab | null {
  const raw = storage.getItem(KEY);
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw) as Partial<CallInTab> | null;
    if (typeof value?.roomId !== "string" || typeof value.userId !== "string" || typeof value.since !== "number") return null;
    if (value.userId !== userId || now - value.since > CALL_RETURN_MAX_AGE_MS || value.since > now) return null;
    return { roomId: value.roomId, userId: value.userId, since: value.since };
  } catch {
    return null;
  }
}
