// The few Client-Server API calls the appservice makes, as its bot, with the as_token.
import { BOT_MEMBER_KEY, type CallNoticeContent, type JoinRule, type MatrixErrorBody, type RoomEvent, type ServerAclContent } from "../../config/wire-types.ts";
import { RetryableError, retry } from "./retry.ts";

export interface CreateRoomRequest {
  room_alias_name: string;
  name: string;
  topic: string;
  preset: "public_chat" | "private_chat";
  visibility: "private";
  room_version?: string;
  creation_content: { "m.federate": true };
  initial_state: (
    | { type: "m.room.server_acl"; state_key: ""; content: ServerAclContent }
    | { type: "m.room.join_rules"; state_key: ""; content: { join_rule: JoinRule } }
    | { type: "m.room.history_visibility"; state_key: ""; content: { history_visibility: "shared" } }
    | { type: "m.space.parent"; state_key: string; content: { via: string[]; canonical: true } }
  )[];
  power_level_content_override: {
    events: Record<string, number>;
    events_default: number;
    state_default: number;
    invite: number;
    /** Replaces the creator's default entry as a whole: the creator must be in it. */
    users?: Record<string, number>;
  };
  /** Invited at creation. */
  invite?: string[];
}

/** An error answered by the homeserver, kept with its errcode so callers can tell cases apart. */
export class HomeserverError extends Error {
  readonly status: number;
  readonly errcode: string;
  constructor(status: number, body: Partial<MatrixErrorBody>) {
    super(`homeserver answered ${status} ${body.errcode ?? ""}: ${body.error ?? ""}`.trim());
    this.name = "HomeserverError";
    this.status = status;
    this.errcode = body.errcode ?? "M_UNKNOWN";
  }
}

export interface HomeserverClient {
  /** Creates a room, the bot its creator, its membership marked as a bot's (BOT_MEMBER_KEY). */
  createRoom(request: CreateRoomRequest): Promise<{ room_id: string }>;
  /** Asks the homeserver to ping us back (`POST /_matrix/client/v1/appservice/{id}/ping`). */
  pingAppservice(appserviceId: string): Promise<{ duration_ms: number }>;
  /**
   * Posts an `m.notice` as the bot. The caller picks the transaction ID: the same ID again (a retry,
   * a rerun after a restart) is the same message, which the homeserver does not post twice.
   */
  sendNotice(roomId: string, txnId: string, content: CallNoticeContent): Promise<{ event_id: string }>;
  /** Joins the bot to a room, through servers already in it, its membership marked as a bot's. */
  joinRoom(roomId: string, via: readonly string[]): Promise<void>;
  /** Who is joined to a room the bot is in. */
  joinedMembers(roomId: string): Promise<string[]>;
  /**
   * Posts an `m.room.message` as the bot (any content); like sendNotice, the same txnId is the same
   * message.
   */
  sendMessage(roomId: string, txnId: string, content: Record<string, unknown>): Promise<{ event_id: string }>;
  /** A room event as the bot sees it, or null when the homeserver has none by that ID there. */
  getEvent(roomId: string, eventId: string): Promise<RoomEvent | null>;
  /** The content of a room state event, or null when the room has none of that type and key. */
  getState(roomId: string, type: string, stateKey: string): Promise<Record<string, unknown> | null>;
  /** Writes a room state event as the bot. */
  setState(roomId: string, type: string, stateKey: string, content: Record<string, unknown>): Promise<{ event_id: string }>;
  /** Invites a user as the bot; a user already in the room (or invited) is not an error. */
  invite(roomId: string, userId: string): Promise<void>;
  /**
   * Has a delayed event (MSC4140) sent now, by its ID, which is the capability (a client handed it
   * to the focus). False when the homeserver has no such delayed event any more (already sent,
   * cancelled or expired).
   */
  sendDelayedEvent(delayId: string): Promise<boolean>;
}

export interface HomeserverClientOptions {
  baseUrl: string;
  asToken: string;
  fetch?: typeof fetch;
}

const statePath = (roomId: string, type: string, stateKey: string): string =>
  `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(stateKey)}`;

export function createHomeserverClient({ baseUrl, asToken, fetch: fetchImpl = fetch }: HomeserverClientOptions): HomeserverClient {
  /** `attempts`: tries in all when the homeserver is unreachable, busy (429) or failing (≥ 502); default 4. */
  const call = async <T>(method: string, path: string, body?: unknown, options: { asUserId?: string; attempts?: number } = {}): Promise<T> =>
    retry(
      async () => {
        let res: Response;
        // Acting as another user of our namespace (Application Service API identity assertion).
        const url = new URL(path, baseUrl);
        if (options.asUserId !== undefined) url.searchParams.set("user_id", options.asUserId);
        try {
          res = await fetchImpl(url, {
            method,
            headers: { authorization: `Bearer ${asToken}`, "content-type": "application/json" },
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(30_000),
          });
        } catch (err) {
          throw new RetryableError(`homeserver unreachable: ${(err as Error).message}`);
        }
        const text = await res.text();
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : {};
        } catch {
          json = {};
        }
        if (res.ok) return json as T;
        const errBody = json as Partial<MatrixErrorBody>;
        if (res.status === 429 || res.status >= 502) {
          throw new RetryableError(`homeserver answered ${res.status}`, errBody.retry_after_ms);
        }
        throw new HomeserverError(res.status, errBody);
      },
      { attempts: options.attempts ?? 4, baseDelayMs: 250 },
    );

  // The bot's user ID, asked once: its membership event is keyed by it.
  let botUserId: Promise<string> | null = null;
  const ownUserId = (): Promise<string> => {
    botUserId ??= call<{ user_id: string }>("GET", "/_matrix/client/v3/account/whoami").then((res) => res.user_id);
    botUserId.catch(() => {
      botUserId = null;
    });
    return botUserId;
  };
  // Neither createRoom nor join takes custom membership fields: the bot rewrites its own membership
  // (a profile change, as display name changes are) with the flag, keeping what was there.
  const markAsBot = async (roomId: string): Promise<void> => {
    const path = statePath(roomId, "m.room.member", await ownUserId());
    const current = await call<Record<string, unknown>>("GET", path);
    if (current[BOT_MEMBER_KEY] === true) return;
    await call("PUT", path, { ...current, membership: "join", [BOT_MEMBER_KEY]: true });
  };

  return {
    async createRoom(request) {
      const created = await call<{ room_id: string }>("POST", "/_matrix/client/v3/createRoom", request);
      await markAsBot(created.room_id);
      return created;
    },
    pingAppservice: (appserviceId) =>
      call("POST", `/_matrix/client/v1/appservice/${encodeURIComponent(appserviceId)}/ping`, {
        transaction_id: `visio-startup-${Date.now()}`,
      }),
    async joinRoom(roomId, via) {
      const query = via.map((server) => `server_name=${encodeURIComponent(server)}`).join("&");
      // One try: each one costs a make_join at every server named, and the caller remembers a failure.
      await call("POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}${query ? `?${query}` : ""}`, {}, { attempts: 1 });
      await markAsBot(roomId);
    },
    async joinedMembers(roomId) {
      const res = await call<{ joined: Record<string, unknown> }>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/joined_members`);
      return Object.keys(res.joined);
    },
    sendNotice: (roomId, txnId, content) =>
      call(
        "PUT",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`,
        content,
      ),
    sendMessage: (roomId, txnId, content) =>
      call(
        "PUT",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`,
        content,
      ),
    async getState(roomId, type, stateKey) {
      try {
        return await call<Record<string, unknown>>("GET", statePath(roomId, type, stateKey));
      } catch (err) {
        if (err instanceof HomeserverError && err.errcode === "M_NOT_FOUND") return null;
        throw err;
      }
    },
    async getEvent(roomId, eventId) {
      try {
        return await call<RoomEvent>("GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(eventId)}`);
      } catch (err) {
        if (err instanceof HomeserverError && err.errcode === "M_NOT_FOUND") return null;
        throw err;
      }
    },
    setState: (roomId, type, stateKey, content) => call("PUT", statePath(roomId, type, stateKey), content),
    async invite(roomId, userId) {
      try {
        await call("POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`, { user_id: userId });
      } catch (err) {
        // Synapse answers 403 "… is already in the room" for a joined or invited user.
        if (err instanceof HomeserverError && err.status === 403 && /already in the room/i.test(err.message)) return;
        throw err;
      }
    },
    async sendDelayedEvent(delayId) {
      try {
        await call("POST", `/_matrix/client/unstable/org.matrix.msc4140/delayed_events/${encodeURIComponent(delayId)}`, { action: "send" });
        return true;
      } catch (err) {
        if (err instanceof HomeserverError && err.errcode === "M_NOT_FOUND") return false;
        throw err;
      }
    },
  };
}
