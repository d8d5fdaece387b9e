// Starting and stopping a meeting's transcription: one code path for the HTTP API and the chat
// command. Who may: a member joined to the room, from an allowed server, with at least the configured
// power level. What it does: the room state says whether the meeting is transcribed (everyone sees
// it: consent); the LiveKit side (dispatching a transcriber, telling it to stop) follows as effects.
import { randomUUID } from "node:crypto";
import { TRANSCRIPTION_STATE_EVENT, type TranscriptionStateContent } from "../../../wire-types.ts";
import type { TranscriptionEffect } from "../calls/call-effect-types.ts";
import { MatrixError } from "../errors.ts";
import type { HomeserverClient } from "../homeserver-client.ts";
import type { Logger } from "../log.ts";
import {
  transcriptionStartedNotice,
  transcriptionStoppedNotice,
  type TranscriptionStateReader,
} from "./transcription-state.ts";
import { oneAtATimePerKey } from "./one-at-a-time.ts";

export interface TranscriptionRequest {
  roomId: string;
  /** Already authenticated: the OpenID token's owner, or the command event's sender. */
  userId: string;
  action: "start" | "stop";
  language?: string;
}

export interface TranscriptionControl {
  /** Applies a start or stop and answers the room's new state; refusals are MatrixErrors. */
  control(request: TranscriptionRequest): Promise<TranscriptionStateContent>;
}

export interface TranscriptionControlDeps {
  homeserver: Pick<HomeserverClient, "getState" | "setState" | "sendMessage" | "invite" | "registerAppserviceUser" | "joinRoomAs">;
  state: TranscriptionStateReader;
  /** Whether this appservice created the room (CallStore.hostsRoom). */
  hostsRoom(roomId: string): Promise<boolean>;
  /** Latest membership as the transactions recorded it (Store.membership). */
  membership(roomId: string, userId: string): Promise<string | null>;
  /** Records LiveKit work to do once the state is written, run and retried by the call lifecycle. */
  enqueue(effect: TranscriptionEffect): Promise<void>;
  botUserId: string;
  /** The bridge's Matrix user, joined to each transcribed room so it can post the transcript there. */
  bridgeUserId: string;
  /** This server and the federation allowlist. */
  allowedServers: readonly string[];
  controlPowerLevel: number;
  defaultLanguage: string;
  engine: string;
  log: Logger;
  now?: () => number;
}

const serverOf = (userId: string): string => userId.slice(userId.indexOf(":") + 1);
const localpartOf = (userId: string): string => userId.slice(1, userId.indexOf(":"));

/** A user's power level from `m.room.power_levels` content (absent event: the creator has 100). */
export function powerLevelOf(powerLevels: Record<string, unknown> | null, userId: string): number {
  if (powerLevels === null) return 0;
  const users = powerLevels.users;
  const own = typeof users === "object" && users !== null ? (users as Record<string, unknown>)[userId] : undefined;
  if (typeof own === "number") return own;
  return typeof powerLevels.users_default === "number" ? powerLevels.users_default : 0;
}

export function createTranscriptionControl(deps: TranscriptionControlDeps): TranscriptionControl {
  const now = deps.now ?? Date.now;
  const allowed = new Set(deps.allowedServers);
  const log = deps.log.child({ component: "transcription" });
  let bridgeRegistered: Promise<void> | null = null;

  const authorize = async (request: TranscriptionRequest): Promise<void> => {
    const { roomId, userId } = request;
    if (!allowed.has(serverOf(userId))) {
      throw new MatrixError("M_FORBIDDEN", "The user's server is not on this service's federation allowlist");
    }
    if (!(await deps.hostsRoom(roomId))) {
      if ((await deps.membership(roomId, deps.botUserId)) === "join") {
        throw new MatrixError(
          "ORG.VISIO.ROOM_NOT_HOSTED",
          "This meeting is hosted by another ministry: ask the appservice of the server in the room's alias",
        );
      }
      throw new MatrixError("M_NOT_FOUND", "Unknown room: this appservice controls transcription only in the meeting rooms it created");
    }
    if ((await deps.membership(roomId, userId)) !== "join") throw new MatrixError("M_FORBIDDEN", "The user is not joined to the room");
    const level = powerLevelOf(await deps.homeserver.getState(roomId, "m.room.power_levels", ""), userId);
    if (level < deps.controlPowerLevel) {
      throw new MatrixError(
        "M_FORBIDDEN",
        `Starting or stopping transcription needs power level ${deps.controlPowerLevel} in this room (the user has ${level})`,
      );
    }
  };

  /** The bridge's user in the room: created once per process, invited (for invite and knock rooms), joined. */
  const bringBridge = async (roomId: string): Promise<void> => {
    if ((await deps.membership(roomId, deps.bridgeUserId)) === "join") return;
    bridgeRegistered ??= deps.homeserver.registerAppserviceUser(localpartOf(deps.bridgeUserId)).catch((err: unknown) => {
      bridgeRegistered = null;
      throw err;
    });
    await bridgeRegistered;
    await deps.homeserver.invite(roomId, deps.bridgeUserId);
    await deps.homeserver.joinRoomAs(deps.bridgeUserId, roomId);
  };

  const writeState = (roomId: string, state: TranscriptionStateContent): Promise<unknown> =>
    deps.homeserver.setState(roomId, TRANSCRIPTION_STATE_EVENT, "", { ...state });

  const start = async (request: TranscriptionRequest, current: TranscriptionStateContent | null): Promise<TranscriptionStateContent> => {
    if (current?.active) {
      throw new MatrixError("ORG.VISIO.TRANSCRIPTION_ACTIVE", "This meeting is already being transcribed");
    }
    const startedAt = now();
    const language = request.language ?? deps.defaultLanguage;
    const root = await deps.homeserver.sendMessage(
      request.roomId,
      `visio-transcription-${startedAt}-${randomUUID()}`,
      transcriptionStartedNotice({ language, engine: deps.engine }),
    );
    await bringBridge(request.roomId);
    const state: TranscriptionStateContent = {
      active: true,
      requested_by: request.userId,
      language,
      engine: deps.engine,
      started_at: startedAt,
      thread_root: root.event_id,
    };
    await writeState(request.roomId, state);
    await deps.enqueue({ kind: "transcription_dispatch", roomId: request.roomId, since: startedAt });
    log.info("transcription started", { roomId: request.roomId, userId: request.userId, language });
    return state;
  };

  const stop = async (request: TranscriptionRequest, current: TranscriptionStateContent | null): Promise<TranscriptionStateContent> => {
    if (!current?.active) throw new MatrixError("ORG.VISIO.TRANSCRIPTION_INACTIVE", "This meeting is not being transcribed");
    const stoppedAt = now();
    const state: TranscriptionStateContent = { ...current, active: false, requested_by: request.userId, stopped_at: stoppedAt };
    await writeState(request.roomId, state);
    if (current.started_at !== undefined) {
      await deps.enqueue({ kind: "transcription_stop", roomId: request.roomId, startedAt: current.started_at, requestedAt: stoppedAt });
    }
    try {
      await deps.homeserver.sendMessage(request.roomId, `visio-transcription-stop-${stoppedAt}-${randomUUID()}`, transcriptionStoppedNotice(state));
    } catch (err) {
      // The state says it: the notice only marks the moment in the timeline.
      log.warn("transcription stopped notice not sent", { roomId: request.roomId, err });
    }
    log.info("transcription stopped", { roomId: request.roomId, userId: request.userId });
    return state;
  };

  // One change at a time per room: two starts racing must not both see "not transcribed".
  const oneAtATime = oneAtATimePerKey();

  return {
    async control(request) {
      await authorize(request);
      return oneAtATime(request.roomId, async () => {
        const current = await deps.state.read(request.roomId);
        return request.action === "start" ? start(request, current) : stop(request, current);
      });
    },
  };
}
