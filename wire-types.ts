// Wire types shared by the client, the appservice and the bridge: HTTP bodies and event contents.
// One definition per shape; every process imports it from here.

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

/** Event types of MatrixRTC call membership, as Element Call and matrix-js-sdk publish them. */
export const CALL_MEMBER_EVENT_TYPES = ["org.matrix.msc3401.call.member", "m.call.member"] as const;

/** The OpenID token a client got from `/_matrix/client/v3/user/{userId}/openid/request_token`. */
export interface OpenIdToken {
  access_token: string;
  token_type: string;
  matrix_server_name: string;
  expires_in: number;
}

/** Body of the focus service's `POST /get_token` (MSC4195 as lk-jwt-service and Element Call speak it). */
export interface FocusGetTokenRequest {
  room_id: string;
  slot_id: string;
  openid_token: OpenIdToken;
  member: { id: string; claimed_user_id: string; claimed_device_id: string };
}

/** Body of the focus service's legacy `POST /sfu/get` (pre-slot Element Call). */
export interface FocusLegacySfuRequest {
  room: string;
  openid_token: OpenIdToken;
  device_id: string;
}

/** Answer of both focus endpoints: where to connect and the LiveKit token to connect with. */
export interface FocusTokenResponse {
  url: string;
  jwt: string;
}

/** Answer of `GET /_matrix/federation/v1/openid/userinfo`. */
export interface OpenIdUserInfo {
  sub: string;
}
