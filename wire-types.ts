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
