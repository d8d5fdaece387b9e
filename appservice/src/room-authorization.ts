// Who may act on a meeting through the appservice's APIs (transcription, breakout groups): a user of
// an allowed server, joined to a meeting room this appservice hosts, with at least a power level.
import { MatrixError } from "./errors.ts";
import { serverOfUserId } from "./focus/focus-requests.ts";

export interface RoomAuthorizationDeps {
  /** This server and the federation allowlist. */
  allowedServers: readonly string[];
  /** Whether this appservice created the room (CallStore.hostsRoom). */
  hostsRoom(roomId: string): Promise<boolean>;
  /** Latest membership as the transactions recorded it (Store.membership). */
  membership(roomId: string, userId: string): Promise<string | null>;
  /** The room's `m.room.power_levels` content, or null. */
  powerLevels(roomId: string): Promise<Record<string, unknown> | null>;
  botUserId: string;
}

/** A user's power level from `m.room.power_levels` content (absent event: the creator has 100). */
export function powerLevelOf(powerLevels: Record<string, unknown> | null, userId: string): number {
  if (powerLevels === null) return 0;
  const users = powerLevels.users;
  const own = typeof users === "object" && users !== null ? (users as Record<string, unknown>)[userId] : undefined;
  if (typeof own === "number") return own;
  return typeof powerLevels.users_default === "number" ? powerLevels.users_default : 0;
}

/**
 * Refuses, with a MatrixError that says why, unless `userId` may do `what` in `roomId`. `what` names
 * the action for the refusal ("Transcription", "Breakout groups").
 */
export async function authorizeInHostedRoom(deps: RoomAuthorizationDeps, roomId: string, userId: string, requiredLevel: number, what: string): Promise<void> {
  if (!deps.allowedServers.includes(serverOfUserId(userId))) {
    throw new MatrixError("M_FORBIDDEN", "The user's server is not on this service's federation allowlist", undefined, { reason: "server_not_allowed" });
  }
  if (!(await deps.hostsRoom(roomId))) {
    if ((await deps.membership(roomId, deps.botUserId)) === "join") {
      throw new MatrixError("ORG.VISIO.ROOM_NOT_HOSTED", "This meeting is hosted by another ministry: ask the appservice of the server in the room's alias");
    }
    throw new MatrixError("M_NOT_FOUND", "Unknown room: this appservice acts only in the meeting rooms it created");
  }
  if ((await deps.membership(roomId, userId)) !== "join") throw new MatrixError("M_FORBIDDEN", "The user is not joined to the room", undefined, { reason: "not_joined" });
  const level = powerLevelOf(await deps.powerLevels(roomId), userId);
  if (level < requiredLevel) {
    throw new MatrixError("M_FORBIDDEN", `${what} needs power level ${requiredLevel} in this room (the user has ${level})`, undefined, {
      reason: "power_level",
      params: { required: requiredLevel, level },
    });
  }
}
