// LiveKit rooms seen to exist, trusted for a few seconds. A call's participants ask for tokens within
// seconds of each other; asking LiveKit each time would cap the focus service at its API's pace.
// LiveKit deletes a room on its own only after it has stood empty for its departure timeout (20 s),
// longer than the trust; when this appservice deletes one (the call ended), it forgets it first.
export interface KnownRooms {
  has(name: string): boolean;
  add(name: string): void;
  forget(name: string): void;
}

const TRUST_MS = 5_000;
const MAX_ROOMS = 10_000;

export function createKnownRooms(now: () => number = Date.now): KnownRooms {
  const until = new Map<string, number>();
  return {
    has: (name) => (until.get(name) ?? 0) > now(),
    add(name) {
      until.delete(name);
      until.set(name, now() + TRUST_MS);
      // Oldest first in a Map: drop the oldest entry beyond the bound.
      if (until.size > MAX_ROOMS) until.delete(until.keys().next().value as string);
    },
    forget: (name) => void until.delete(name),
  };
}
