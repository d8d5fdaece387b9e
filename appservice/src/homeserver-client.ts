// The few Client-Server API calls the appservice makes, as its bot, with the as_token, through the
// server sides' one Matrix client (its retries, its MatrixHttpError).
import { markMembershipAsBot } from "../../config/matrix/bot-membership.ts";
import { MatrixHttpClient, type FetchLike } from "../../config/matrix/matrix-http-client.ts";
import { MatrixHttpError } from "../../config/matrix/matrix-http-error.ts";
import type { CallNoticeContent, JoinRule, RoomEvent, ServerAclContent } from "../../config/wire-types.ts";

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
  fetch?: FetchLike;
  sleep?(ms: number): Promise<void>;
}

const CS = ["_matrix", "client", "v3"] as const;
const roomPath = (roomId: string, ...rest: string[]): string[] => [...CS, "rooms", roomId, ...rest];
const statePath = (roomId: string, type: string, stateKey: string): string[] => roomPath(roomId, "state", type, stateKey);

/** Null for a 404 M_NOT_FOUND (no such event, state or delayed event), the error itself otherwise. */
async function unlessNotFound<T>(request: Promise<T>): Promise<T | null> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof MatrixHttpError && err.errcode === "M_NOT_FOUND") return null;
    throw err;
  }
}

export function createHomeserverClient({ baseUrl, asToken, fetch, sleep }: HomeserverClientOptions): HomeserverClient {
  const http = new MatrixHttpClient({ homeserverUrl: baseUrl, accessToken: asToken, fetch, sleep });
  const sendMessage = (roomId: string, txnId: string, content: object): Promise<{ event_id: string }> =>
    http.request({ method: "PUT", path: roomPath(roomId, "send", "m.room.message", txnId), json: content });

  return {
    async createRoom(request) {
      const created = await http.request<{ room_id: string }>({ method: "POST", path: [...CS, "createRoom"], json: request });
      await markMembershipAsBot(http, created.room_id);
      return created;
    },
    pingAppservice: (appserviceId) =>
      http.request({
        method: "POST",
        path: ["_matrix", "client", "v1", "appservice", appserviceId, "ping"],
        json: { transaction_id: `visio-startup-${Date.now()}` },
      }),
    async joinRoom(roomId, via) {
      // One try: each one costs a make_join at every server named, and the caller remembers a failure.
      await http.request({ method: "POST", path: [...CS, "join", roomId], query: { server_name: via }, json: {}, attempts: 1 });
      await markMembershipAsBot(http, roomId);
    },
    async joinedMembers(roomId) {
      const res = await http.request<{ joined: Record<string, unknown> }>({ method: "GET", path: roomPath(roomId, "joined_members") });
      return Object.keys(res.joined);
    },
    sendNotice: sendMessage,
    sendMessage,
    getState: (roomId, type, stateKey) => unlessNotFound(http.request({ method: "GET", path: statePath(roomId, type, stateKey) })),
    getEvent: (roomId, eventId) => unlessNotFound(http.request<RoomEvent>({ method: "GET", path: roomPath(roomId, "event", eventId) })),
    setState: (roomId, type, stateKey, content) => http.request({ method: "PUT", path: statePath(roomId, type, stateKey), json: content }),
    async invite(roomId, userId) {
      try {
        await http.request({ method: "POST", path: roomPath(roomId, "invite"), json: { user_id: userId } });
      } catch (err) {
        // Synapse answers 403 "… is already in the room" for a joined or invited user.
        if (err instanceof MatrixHttpError && err.status === 403 && /already in the room/i.test(err.message)) return;
        throw err;
      }
    },
    async sendDelayedEvent(delayId) {
      const sent = await unlessNotFound(
        http.request({ method: "POST", path: ["_matrix", "client", "unstable", "org.matrix.msc4140", "delayed_events", delayId], json: { action: "send" } }),
      );
      return sent !== null;
    },
  };
}
