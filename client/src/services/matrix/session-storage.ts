// The signed-in session, kept across reloads in the browser's localStorage (as Element does): the
// access token stays on this device and is removed at sign-out.
export interface StoredSession {
  serverName: string;
  baseUrl: string;
  userId: string;
  deviceId: string;
  accessToken: string;
  wellKnown: Record<string, unknown>;
}

export type KeyValueStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

const KEY = "visio.session";

export function loadSession(storage: KeyValueStorage): StoredSession | null {
  const raw = storage.getItem(KEY);
  if (raw === null) return null;
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== "object" || value === null) return null;
    const v = value as Record<string, unknown>;
    const strings = ["serverName", "baseUrl", "userId", "deviceId", "accessToken"] as const;
    if (!strings.every((k) => typeof v[k] === "string" && v[k] !== "")) return null;
    const wellKnown = typeof v.wellKnown === "object" && v.wellKnown !== null ? (v.wellKnown as Record<string, unknown>) : {};
    return {
      serverName: v.serverName as string,
      baseUrl: v.baseUrl as string,
      userId: v.userId as string,
      deviceId: v.deviceId as string,
      accessToken: v.accessToken as string,
      wellKnown,
    };
  } catch {
    // A damaged entry is as good as none: the user signs in again.
    return null;
  }
}

export function saveSession(storage: KeyValueStorage, session: StoredSession): void {
  storage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(storage: KeyValueStorage): void {
  storage.removeItem(KEY);
}
