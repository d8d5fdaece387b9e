// A meeting's breakout groups. A moderator (power level 50) splits the meeting's joined members into
// groups; each group is a meeting room of its own, a child of the meeting (m.space.child /
// m.space.parent), with its own call and, when the meeting is transcribed, its own transcript. The
// meeting's state (org.visio.breakouts, written by the bot only) says who is in which group and until
// when: clients move their user into their group's call and back. At the time limit the bot ends them;
// clients also go back by themselves once `ends_at` is past, so a restart of this process (which
// forgets its timers) brings nobody back late.
import { BREAKOUTS_STATE_EVENT, TRANSCRIPTION_STATE_EVENT, type BreakoutGroup, type BreakoutsContent } from "../../../config/wire-types.ts";
import { MatrixError } from "../errors.ts";
import type { HomeserverClient } from "../homeserver-client.ts";
import type { Logger } from "../log.ts";
import { MODERATOR_POWER_LEVEL, type MeetingRooms } from "../meeting-rooms.ts";
import { authorizeInHostedRoom, type RoomAuthorizationDeps } from "../room-authorization.ts";
import { oneAtATimePerKey } from "../transcription/one-at-a-time.ts";
import type { TranscriptionControl } from "../transcription/transcription-control.ts";

export const MIN_GROUPS = 2;
export const MAX_GROUPS = 20;
export const MAX_DURATION_MINUTES = 240;

export interface BreakoutStart {
  roomId: string;
  /** Already authenticated: the OpenID token's owner. */
  userId: string;
  groups: string[][];
  durationMinutes?: number;
}

export interface Breakouts {
  start(request: BreakoutStart): Promise<BreakoutsContent>;
  end(roomId: string, userId: string): Promise<BreakoutsContent>;
  /** Stops the time-limit timers (the process is stopping). */
  stop(): void;
}

export interface BreakoutsDeps extends Omit<RoomAuthorizationDeps, "powerLevels"> {
  homeserver: Pick<HomeserverClient, "getState" | "setState">;
  meetings: Pick<MeetingRooms, "create">;
  transcription: Pick<TranscriptionControl, "startInGroup">;
  /** This homeserver's name: where the group rooms are. */
  serverName: string;
  log: Logger;
  now?: () => number;
  /** Runs `work` after `delayMs`; answers how to cancel it. Default: a timer that keeps no process alive. */
  schedule?: (work: () => void, delayMs: number) => () => void;
}

function scheduleTimer(work: () => void, delayMs: number): () => void {
  const timer = setTimeout(work, delayMs);
  timer.unref();
  return () => clearTimeout(timer);
}

/** "Comité budget · Groupe 2" in the meeting's title; the room's name when it has none. */
export function groupTitle(meetingTitle: string, index: number): string {
  return `${meetingTitle} · Groupe ${index + 1}`.slice(0, 100);
}

export function createBreakouts(deps: BreakoutsDeps): Breakouts {
  const now = deps.now ?? Date.now;
  const log = deps.log.child({ component: "breakouts" });
  const oneAtATime = oneAtATimePerKey();
  const schedule = deps.schedule ?? scheduleTimer;
  /** The cancel of each meeting's time-limit timer. */
  const timers = new Map<string, () => void>();
  const powerLevels = (roomId: string) => deps.homeserver.getState(roomId, "m.room.power_levels", "");

  const authorize = (roomId: string, userId: string): Promise<void> =>
    authorizeInHostedRoom({ ...deps, powerLevels }, roomId, userId, MODERATOR_POWER_LEVEL, "Breakout groups");

  const current = async (roomId: string): Promise<BreakoutsContent | null> =>
    (await deps.homeserver.getState(roomId, BREAKOUTS_STATE_EVENT, "")) as BreakoutsContent | null;

  const isRunning = (state: BreakoutsContent | null): boolean => state?.active === true && (state.ends_at === undefined || state.ends_at > now());

  /** Each user in one group, each a joined member of the meeting, none of them this service's own. */
  const checkGroups = async (roomId: string, groups: string[][]): Promise<void> => {
    const seen = new Set<string>();
    for (const member of groups.flat()) {
      if (seen.has(member)) throw new MatrixError("M_INVALID_PARAM", `${member} is in more than one group`);
      seen.add(member);
      if (member === deps.botUserId || (await deps.membership(roomId, member)) !== "join") {
        throw new MatrixError("M_INVALID_PARAM", `${member} is not a member of this meeting`);
      }
    }
  };

  const writeEnd = async (roomId: string, userId: string, state: BreakoutsContent): Promise<BreakoutsContent> => {
    const ended: BreakoutsContent = { ...state, active: false, ended_at: now() };
    await deps.homeserver.setState(roomId, BREAKOUTS_STATE_EVENT, "", { ...ended });
    log.info("breakout groups ended", { roomId, userId });
    return ended;
  };

  const cancelTimer = (roomId: string): void => {
    timers.get(roomId)?.();
    timers.delete(roomId);
  };

  const endAtTimeLimit = (roomId: string, endsAt: number): void => {
    cancelTimer(roomId);
    const cancel = schedule(() => {
      timers.delete(roomId);
      void oneAtATime(roomId, async () => {
        const state = await current(roomId);
        // Ended meanwhile, or started again with another limit: that one's timer decides.
        if (state?.active !== true || state.ends_at !== endsAt) return;
        await writeEnd(roomId, deps.botUserId, state);
      }).catch((err: unknown) => log.warn("breakout groups not ended at their time limit", { roomId, err }));
    }, Math.max(0, endsAt - now()));
    timers.set(roomId, cancel);
  };

  return {
    async start(request) {
      const { roomId, userId, groups } = request;
      await authorize(roomId, userId);
      return oneAtATime(roomId, async () => {
        if (isRunning(await current(roomId))) throw new MatrixError("ORG.VISIO.BREAKOUTS_ACTIVE", "This meeting's breakout groups are already running");
        await checkGroups(roomId, groups);
        const name = await deps.homeserver.getState(roomId, "m.room.name", "");
        const meetingTitle = typeof name?.name === "string" && name.name !== "" ? name.name : "Réunion";
        const transcription = await deps.homeserver.getState(roomId, TRANSCRIPTION_STATE_EVENT, "");
        const created: BreakoutGroup[] = [];
        for (const [index, members] of groups.entries()) {
          const title = groupTitle(meetingTitle, index);
          // The moderator is invited everywhere, to visit the groups.
          const room = await deps.meetings.create(title, userId, { invite: members, parent: roomId });
          await deps.homeserver.setState(roomId, "m.space.child", room.roomId, { via: [deps.serverName], order: String(index).padStart(3, "0") });
          created.push({ room_id: room.roomId, name: title, members });
        }
        if (transcription?.active === true && typeof transcription.language === "string") {
          for (const group of created) {
            try {
              await deps.transcription.startInGroup(group.room_id, userId, transcription.language);
            } catch (err) {
              // The groups run without; the moderator can start it in a group.
              log.warn("breakout group not transcribed", { roomId: group.room_id, err });
            }
          }
        }
        const startedAt = now();
        const state: BreakoutsContent = {
          active: true,
          groups: created,
          started_by: userId,
          started_at: startedAt,
          ...(request.durationMinutes !== undefined ? { ends_at: startedAt + request.durationMinutes * 60_000 } : {}),
        };
        await deps.homeserver.setState(roomId, BREAKOUTS_STATE_EVENT, "", { ...state });
        if (state.ends_at !== undefined) endAtTimeLimit(roomId, state.ends_at);
        log.info("breakout groups started", { roomId, userId, groups: created.length, durationMinutes: request.durationMinutes });
        return state;
      });
    },
    async end(roomId, userId) {
      await authorize(roomId, userId);
      return oneAtATime(roomId, async () => {
        const state = await current(roomId);
        if (state === null || !isRunning(state)) throw new MatrixError("ORG.VISIO.BREAKOUTS_INACTIVE", "This meeting has no breakout groups running");
        cancelTimer(roomId);
        return writeEnd(roomId, userId, state);
      });
    },
    stop() {
      for (const cancel of timers.values()) cancel();
      timers.clear();
    },
  };
}
