// Webhook requests as LiveKit sends them: protojson body, `Authorization: <jwt>` (no "Bearer"),
// HS256 with the API secret, claim sha256 = base64 SHA-256 of the exact body.
import { createHash, randomUUID } from "node:crypto";
import { AccessToken } from "livekit-server-sdk";

export interface SignedWebhook {
  body: string;
  authorization: string;
}

export async function signWebhook(body: string, apiKey: string, apiSecret: string): Promise<SignedWebhook> {
  const token = new AccessToken(apiKey, apiSecret);
  token.sha256 = createHash("sha256").update(body, "utf8").digest("base64");
  return { body, authorization: await token.toJwt() };
}

export interface WebhookFields {
  event: "room_started" | "room_finished" | "participant_joined" | "participant_left";
  room: string;
  identity?: string;
  sid?: string;
  /** Milliseconds; sent in seconds as LiveKit does. */
  at?: number;
  /** When the room was created (ms); the event's time by default. */
  createdAt?: number;
  id?: string;
  /** Why the participant went (LiveKit's DisconnectReason name, e.g. "CLIENT_INITIATED"). */
  disconnectReason?: string;
}

/** A webhook event body in LiveKit's protojson form. */
export function webhookBody(fields: WebhookFields): string {
  const at = fields.at ?? Date.now();
  const seconds = String(Math.floor(at / 1000));
  return JSON.stringify({
    event: fields.event,
    id: fields.id ?? `EV_${randomUUID()}`,
    createdAt: seconds,
    // LiveKit sends the room's creation time with every event; here the room was created at `createdAt`, else at the event.
    room: { sid: `RM_${fields.room.slice(0, 8)}`, name: fields.room, creationTime: String(Math.floor((fields.createdAt ?? at) / 1000)), creationTimeMs: String(fields.createdAt ?? at) },
    ...(fields.identity !== undefined
      ? {
          participant: {
            sid: fields.sid ?? `PA_${fields.identity.slice(0, 8)}`,
            identity: fields.identity,
            joinedAt: seconds,
            joinedAtMs: String(at),
            state: "ACTIVE",
            ...(fields.disconnectReason !== undefined ? { disconnectReason: fields.disconnectReason } : {}),
          },
        }
      : {}),
  });
}

export async function postWebhook(url: string, webhook: SignedWebhook): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/webhook+json", authorization: webhook.authorization },
    body: webhook.body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
