// A moderator's actions on a meeting's call, applied by this ministry's LiveKit server API to the
// participants of its own SFU (in multi_sfu each member publishes on their own ministry's: the
// client asks the target's ministry, or every ministry for the actions on everyone). Works whatever
// client the participants use (ours, Element Call): nothing is asked of them.
import type { ParticipantInfo, RoomServiceClient } from "livekit-server-sdk";
import { MATRIX_USER_ATTRIBUTE, MATRIX_USER_ID, type ModerationRequest } from "../../../config/wire-types.ts";
import { participantsOf } from "../calls/call-effects.ts";
import { isFrench } from "../transcription/transcription-texts.ts";
import { MatrixError } from "../errors.ts";
import { TRACK_SOURCE_SCREEN_SHARE_AUDIO, TRACK_TYPE_AUDIO } from "../livekit/protocol-values.ts";
import { serverOfUserId } from "../focus/focus-requests.ts";
import { CALL_SLOT, liveKitRoomAlias } from "../focus/livekit-names.ts";
import type { HomeserverClient } from "../homeserver-client.ts";
import type { Logger } from "../log.ts";
import { MODERATOR_POWER_LEVEL } from "../meeting-rooms.ts";
import { powerLevelOf } from "../room-authorization.ts";
import type { CallExclusions } from "./call-exclusions.ts";

/** How long a removed participant gets no new token for the meeting's call. */
export const REMOVED_EXCLUSION_MS = 2 * 60_000;
/** How long nobody gets a token for a call a moderator ended (everyone's client leaves meanwhile). */
export const ENDED_EXCLUSION_MS = 30_000;

export type ModerationLiveKit = Pick<RoomServiceClient, "listParticipants" | "removeParticipant" | "deleteRoom" | "mutePublishedTrack">;

export interface ModerationDeps {
  homeserver: Pick<HomeserverClient, "getState" | "sendMessage">;
  /** This ministry's LiveKit server API; null without a focus (no SFU of its own: nothing to act on). */
  livekit: ModerationLiveKit | null;
  exclusions: Pick<CallExclusions, "excludeUser" | "excludeRoom">;
  /** Latest membership as the transactions recorded it (Store.membership): is the bot in the room. */
  membership(roomId: string, userId: string): Promise<string | null>;
  /**
   * The caller's membership as the focus checks it (RoomMembership): a meeting hosted elsewhere is
   * followed by the bot on first use, and a join too fresh for the transactions is read from state.
   */
  callerMembership(roomId: string, userId: string): Promise<string | null>;
  /** Whether this appservice created the room: its bot posts the end notice, once. */
  hostsRoom(roomId: string): Promise<boolean>;
  /** This server and the federation allowlist. */
  allowedServers: readonly string[];
  botUserId: string;
  /** The server's language, for the notice. */
  language: string;
  log: Logger;
  now?: () => number;
}

export type ModerationAction = Pick<ModerationRequest, "room_id" | "action" | "target">;

export interface Moderation {
  /** Applies `request` for `userId` (already authenticated); answers how many participants it reached. */
  act(request: ModerationAction, userId: string): Promise<{ affected: number }>;
}

export const userOf = (p: ParticipantInfo): string | undefined => p.attributes[MATRIX_USER_ATTRIBUTE];

const microphones = (p: ParticipantInfo) => p.tracks.filter((t) => t.type === TRACK_TYPE_AUDIO && t.source !== TRACK_SOURCE_SCREEN_SHARE_AUDIO && !t.muted);

export function endedNotice(language: string): { msgtype: "m.notice"; body: string } {
  return { msgtype: "m.notice", body: isFrench(language) ? "L'animateur a mis fin à l'appel" : "The moderator ended the call" };
}

export function createModeration(deps: ModerationDeps): Moderation {
  const log = deps.log.child({ component: "moderation" });
  const now = deps.now ?? Date.now;

  /** The caller's power level in the room, as this homeserver sees its state: the bot is in every meeting. */
  const authorize = async (roomId: string, userId: string): Promise<number> => {
    if (!deps.allowedServers.includes(serverOfUserId(userId))) {
      throw new MatrixError("M_FORBIDDEN", "The user's server is not on this service's federation allowlist");
    }
    const membership = await deps.callerMembership(roomId, userId);
    if ((await deps.membership(roomId, deps.botUserId)) !== "join") throw new MatrixError("M_NOT_FOUND", "Unknown room: this service's bot is not in it");
    if (membership !== "join") throw new MatrixError("M_FORBIDDEN", "The user is not joined to the room");
    const powerLevels = await deps.homeserver.getState(roomId, "m.room.power_levels", "");
    const level = powerLevelOf(powerLevels, userId);
    if (level < MODERATOR_POWER_LEVEL) {
      throw new MatrixError("M_FORBIDDEN", `Moderation needs power level ${MODERATOR_POWER_LEVEL} in this room (the user has ${level})`);
    }
    return level;
  };

  const sfu = (): ModerationLiveKit => {
    if (deps.livekit === null) throw new MatrixError("M_NOT_FOUND", "This service has no SFU: ask the participant's own ministry");
    return deps.livekit;
  };

  const targets = async (livekit: ModerationLiveKit, livekitRoom: string, target: string): Promise<ParticipantInfo[]> => {
    const found = (await participantsOf(livekit, livekitRoom)).filter((p) => p.identity === target || userOf(p) === target);
    if (found.length === 0) throw new MatrixError("M_NOT_FOUND", "No such participant in this call on this service's SFU");
    return found;
  };

  const mute = async (livekit: ModerationLiveKit, livekitRoom: string, participants: readonly ParticipantInfo[]): Promise<number> => {
    let affected = 0;
    for (const p of participants) {
      const tracks = microphones(p);
      for (const track of tracks) await livekit.mutePublishedTrack(livekitRoom, p.identity, track.sid, true);
      if (tracks.length > 0) affected += 1;
    }
    return affected;
  };

  return {
    async act(request, userId) {
      const roomId = request.room_id;
      const callerLevel = await authorize(roomId, userId);
      const livekitRoom = liveKitRoomAlias(roomId, CALL_SLOT);
      const facts = { roomId, userId, action: request.action };
      switch (request.action) {
        case "mute": {
          const livekit = sfu();
          const affected = await mute(livekit, livekitRoom, await targets(livekit, livekitRoom, request.target ?? ""));
          log.info("participant muted by a moderator", { ...facts, affected });
          return { affected };
        }
        case "mute_all": {
          const livekit = sfu();
          // Everyone but the moderator.
          const others = (await participantsOf(livekit, livekitRoom)).filter((p) => userOf(p) !== userId);
          const affected = await mute(livekit, livekitRoom, others);
          log.info("everyone muted by a moderator", { ...facts, affected });
          return { affected };
        }
        case "remove": {
          const target = request.target ?? "";
          // A Matrix user is refused here even with no connection on this SFU (a subscriber of other
          // ministries' media may come back through this focus); a LiveKit identity must be here.
          const byUserId = MATRIX_USER_ID.test(target);
          const found = deps.livekit === null ? [] : (await participantsOf(deps.livekit, livekitRoom)).filter((p) => p.identity === target || userOf(p) === target);
          if (found.length === 0 && !byUserId) throw new MatrixError("M_NOT_FOUND", "No such participant in this call on this service's SFU");
          const users = new Set([...found.map(userOf).filter((u): u is string => u !== undefined), ...(byUserId ? [target] : [])]);
          // As a Matrix kick: only someone of a lower power level.
          if (users.size > 0) {
            const powerLevels = await deps.homeserver.getState(roomId, "m.room.power_levels", "");
            for (const user of users) {
              if (user !== userId && powerLevelOf(powerLevels, user) >= callerLevel) {
                throw new MatrixError("M_FORBIDDEN", "A moderator can only remove participants of a lower power level");
              }
            }
          }
          // Refused a new token first: the client must not get back in between.
          for (const user of users) deps.exclusions.excludeUser(roomId, user, REMOVED_EXCLUSION_MS);
          for (const p of found) await deps.livekit?.removeParticipant(livekitRoom, p.identity);
          log.info("participant removed by a moderator", { ...facts, affected: found.length, excludedMs: REMOVED_EXCLUSION_MS });
          return { affected: found.length };
        }
        case "end": {
          deps.exclusions.excludeRoom(roomId, ENDED_EXCLUSION_MS);
          let affected = 0;
          if (deps.livekit !== null) {
            affected = (await participantsOf(deps.livekit, livekitRoom)).length;
            // Deleting the room disconnects everyone in it (LiveKit tells them: ROOM_DELETED).
            if (affected > 0) await deps.livekit.deleteRoom(livekitRoom);
          }
          if (await deps.hostsRoom(roomId)) {
            await deps.homeserver.sendMessage(roomId, `visio-moderation-end-${now()}`, endedNotice(deps.language));
          }
          log.info("call ended by a moderator", { ...facts, affected, excludedMs: ENDED_EXCLUSION_MS });
          return { affected };
        }
      }
    },
  };
}
