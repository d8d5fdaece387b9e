// Room membership as the focus service checks it. The rooms this appservice's bot is in are known
// from the homeserver's transactions. In multi_sfu, users also ask this ministry's focus about
// meetings hosted elsewhere (ours publish here, others subscribe here): for such a room the bot
// joins it first, through the requesting user's server and then the allowlisted ones, and records who
// is in it; from then on the transactions keep it current. (Right after a user of this server joined
// over federation, Synapse holds the room with partial state and joins the bot only through another
// server in it: the requester's own server alone is no way in then.) A room the bot cannot join
// (invite-only, unknown) stays unknown, and is not tried again for 15 s: requests naming rooms we
// cannot see must not each cost joins through other servers. A user the transactions do not show as
// joined is looked up in the room's current state before being refused: a join a moment old may not
// have reached us yet, and a caller who joins a meeting and starts the call at once must not be
// turned away.
import type { HomeserverClient } from "../homeserver-client.ts";
import type { Logger } from "../log.ts";
import type { Store } from "../storage/store.ts";
import { serverOfUserId } from "./focus-requests.ts";

export interface RoomMembership {
  /** The user's membership, or null when unknown (the room cannot be seen from here). */
  membership(roomId: string, userId: string): Promise<string | null>;
}

/** How long a room the bot could not join stays unknown without trying again. */
export const FOLLOW_REFUSED_MS = 15_000;
const REFUSALS_REMEMBERED = 10_000;

export function createRoomMembership(deps: {
  store: Pick<Store, "membership" | "seedMembers">;
  homeserver: Pick<HomeserverClient, "joinRoom" | "joinedMembers" | "getState">;
  botUserId: string;
  /** The federation allowlist: the servers a meeting may be hosted by, tried after the requester's. */
  allowlist: readonly string[];
  log: Logger;
  now?: () => number;
}): RoomMembership {
  const { store, homeserver, botUserId, log } = deps;
  const now = deps.now ?? Date.now;
  // Requests for a room not followed yet share one join.
  const following = new Map<string, Promise<boolean>>();
  // Rooms the bot could not join, until when they are not tried again.
  const refused = new Map<string, number>();

  const follow = async (roomId: string, requester: string): Promise<boolean> => {
    const via = [...new Set([requester, ...deps.allowlist])];
    try {
      await homeserver.joinRoom(roomId, via);
      await store.seedMembers(roomId, await homeserver.joinedMembers(roomId));
      log.info("following a meeting hosted elsewhere", { roomId, via });
      return true;
    } catch (err) {
      log.info("cannot follow room", { roomId, via, err });
      if (refused.size >= REFUSALS_REMEMBERED) refused.clear();
      refused.set(roomId, now() + FOLLOW_REFUSED_MS);
      return false;
    }
  };

  return {
    async membership(roomId, userId) {
      if ((await store.membership(roomId, botUserId)) !== "join") {
        if ((refused.get(roomId) ?? 0) > now()) return null;
        let joining = following.get(roomId);
        if (joining === undefined) {
          joining = follow(roomId, serverOfUserId(userId)).finally(() => following.delete(roomId));
          following.set(roomId, joining);
        }
        if (!(await joining)) return null;
      }
      const recorded = await store.membership(roomId, userId);
      if (recorded === "join") return recorded;
      const current = await homeserver.getState(roomId, "m.room.member", userId).catch(() => null);
      return typeof current?.membership === "string" ? current.membership : recorded;
    },
  };
}
