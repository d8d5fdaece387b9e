// Matrix on the wire as every part of Visio meets it: error bodies, room events, appservice
// transactions, user IDs, OpenID tokens, and the keys Visio adds to Matrix's own events.

/** Matrix-style error body, as every Visio HTTP API answers on failure. */
export interface MatrixErrorBody {
  errcode: string;
  error: string;
  retry_after_ms?: number;
}

/** A client-format room event as homeservers deliver it to appservices. */
export interface RoomEvent {
  event_id: string;
  room_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
  /** Set on a sticky event (MSC4354): how long it stays part of the room's current state of affairs. */
  msc4354_sticky?: { duration_ms?: number };
}

/** Body of `PUT /_matrix/app/v1/transactions/{txnId}`. */
export interface AppserviceTransaction {
  events: RoomEvent[];
  ephemeral?: Record<string, unknown>[];
}

/** `m.room.server_acl` content: the federation allowlist, as room state. */
export interface ServerAclContent {
  allow: string[];
  deny: string[];
  allow_ip_literals: boolean;
}

export type JoinRule = "public" | "knock" | "invite";

/**
 * A Matrix user ID as received, `@localpart:server`: group 1 the localpart, group 2 the server name
 * (with its port). Historical localparts (any character but ':' and whitespace) are user IDs too.
 */
export const MATRIX_USER_ID = /^@([^:\s]+):(\S+)$/;

/**
 * A MATRIX_USER_ID whose localpart follows the spec's current grammar (lower-case letters, digits and
 * `._=-/+`): what a homeserver registers today, so what a configured or typed user ID must be.
 */
export const CURRENT_MATRIX_USER_ID = /^@([a-z0-9._=\-/+]+):(\S+)$/;

/**
 * Key set to true in a bot's own `m.room.member` content (the appservice's bot and the transcription
 * bridge's user, of every ministry), written when it joins: clients leave such members out of the
 * people they list and count. In the event rather than a list of names, so that another ministry's
 * bots are known too.
 */
export const BOT_MEMBER_KEY = "org.visio.bot";

/** The OpenID token a client got from `/_matrix/client/v3/user/{userId}/openid/request_token`. */
export interface OpenIdToken {
  access_token: string;
  token_type: string;
  matrix_server_name: string;
  expires_in: number;
}

/** Answer of `GET /_matrix/federation/v1/openid/userinfo`. */
export interface OpenIdUserInfo {
  sub: string;
}

/**
 * Key in a homeserver's `.well-known/matrix/client`: where that ministry's appservice answers
 * (`{ "url": "https://…" }`), for the transcription control API of rooms it hosts.
 */
export const WELL_KNOWN_APPSERVICE_KEY = "org.visio.appservice";

export interface WellKnownAppservice {
  url: string;
}
