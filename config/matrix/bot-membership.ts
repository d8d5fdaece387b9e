// The bots (each ministry's appservice bot, its transcription worker's user) mark their own room
// membership with BOT_MEMBER_KEY, so that clients leave them out of the people they list and count.
// Neither createRoom nor join takes custom membership fields: the bot rewrites its own membership (a
// profile change, as a display name change is) with the flag, keeping what was there.
import { BOT_MEMBER_KEY } from "../wire-types.ts";
import type { MatrixHttpClient } from "./matrix-http-client.ts";

export async function markMembershipAsBot(client: Pick<MatrixHttpClient, "request" | "ownUserId">, roomId: string): Promise<void> {
  const path = ["_matrix", "client", "v3", "rooms", roomId, "state", "m.room.member", await client.ownUserId()];
  const current = await client.request({ method: "GET", path });
  if (current[BOT_MEMBER_KEY] === true) return;
  await client.request({ method: "PUT", path, json: { ...current, membership: "join", [BOT_MEMBER_KEY]: true } });
}
