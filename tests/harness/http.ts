// Small HTTP helpers for tests: JSON in, status and JSON out.
export interface JsonResponse {
  status: number;
  body: Record<string, unknown>;
}

export async function requestJson(
  method: string,
  url: string,
  { token, body, rawBody }: { token?: string; body?: unknown; rawBody?: string } = {},
): Promise<JsonResponse> {
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export function memberEvent(roomId: string, userId: string, membership: string, n: number): Record<string, unknown> {
  return {
    event_id: `$m${n}-${Math.random().toString(36).slice(2)}`,
    room_id: roomId,
    type: "m.room.member",
    sender: userId,
    state_key: userId,
    origin_server_ts: Date.now(),
    content: { membership },
  };
}
