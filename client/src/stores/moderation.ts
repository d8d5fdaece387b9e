// What a meeting's moderator (power level 50 in the call's room) does to the call: mute one
// participant or everyone, remove one, lower every hand, end the call for all. Mutes, removals and
// the end are applied by the ministries' appservices on their SFUs (so they reach Element Call users
// too); hands are the participants' reactions, which a moderator redacts directly (the homeserver
// checks the power level to redact).
import { defineStore } from "pinia";
import { computed, ref, shallowRef } from "vue";
import { VisioError, asVisioError, reasonOf } from "../services/errors.ts";
import { useServices } from "../services/index.ts";
import { liveMemberships, raisedHands, rtcSessionOf } from "../services/matrix/call-membership.ts";
import { requestModeration, serverOfUser, serversOf, type ModerationActionName } from "../services/moderation/moderation.ts";
import { appserviceOfServer, serverOfAlias } from "../services/transcription/transcription-control.ts";
import { useCallStore, type ParticipantView } from "./call.ts";
import { useRoomsStore } from "./rooms.ts";
import { useSessionStore } from "./session.ts";

export const MODERATOR_POWER_LEVEL = 50;

/** A user's power level from `m.room.power_levels` content (the spec's defaults when absent). */
export function powerLevelOf(content: Record<string, unknown> | undefined, userId: string): number {
  if (content === undefined) return 0;
  const users = content.users as Record<string, unknown> | undefined;
  const own = typeof users === "object" && users !== null ? users[userId] : undefined;
  if (typeof own === "number") return own;
  return typeof content.users_default === "number" ? content.users_default : 0;
}

export const useModerationStore = defineStore("moderation", () => {
  const services = useServices();
  const session = useSessionStore();
  const rooms = useRoomsStore();
  const call = useCallStore();
  const pending = ref(false);
  const error = shallowRef<VisioError | null>(null);

  /** The room of the call we are in (or the open room, before joining). */
  const room = computed(() => {
    void rooms.revision;
    const id = call.callRoomId ?? rooms.selectedRoom?.roomId ?? null;
    return id === null ? null : (session.client?.getRoom(id) ?? null);
  });

  const canModerate = computed(() => {
    void rooms.revision;
    const userId = session.userId;
    const content = room.value?.currentState.getStateEvents("m.room.power_levels", "")?.getContent();
    return userId !== null && content !== undefined && powerLevelOf(content, userId) >= MODERATOR_POWER_LEVEL;
  });

  /** Every ministry with someone in the call (their memberships and the media we see). */
  const callServers = (extra: readonly string[] = []): string[] => {
    const client = session.client;
    const r = room.value;
    const members = client === null || r === null ? [] : liveMemberships(rtcSessionOf(client, r)).map((m) => m.sender ?? null);
    return serversOf([...members, ...call.participants.map((p) => p.userId)], extra);
  };

  /** Sends `action` to each server's appservice; fails if any refused (a ministry that has nothing to act on is no failure when another had). */
  async function send(action: ModerationActionName, servers: readonly string[], target?: string): Promise<boolean> {
    const client = session.client;
    const r = room.value;
    if (client === null || r === null || pending.value || servers.length === 0) return false;
    pending.value = true;
    error.value = null;
    try {
      const openIdToken = await client.getOpenIdToken();
      const urls = [...new Set(await Promise.all(servers.map((s) => appserviceOfServer(services.fetch, s, session, "moderation.noService"))))];
      const results = await Promise.allSettled(
        urls.map((url) => requestModeration(services.fetch, url, { roomId: r.roomId, action, openIdToken, ...(target !== undefined ? { target } : {}) })),
      );
      const failures = results.flatMap((result) => (result.status === "rejected" ? [asVisioError(result.reason)] : []));
      const succeeded = failures.length < results.length;
      const real = failures.filter((f) => !(succeeded && f.errcode === "M_NOT_FOUND" && urls.length > 1));
      if (real.length > 0) throw real[0];
      return true;
    } catch (caught) {
      error.value = asVisioError(caught);
      return false;
    } finally {
      pending.value = false;
    }
  }

  /** One participant: their ministry's SFU has their media (every ministry's when we do not know whose). */
  const targetServers = (p: ParticipantView): string[] => {
    const server = serverOfUser(p.userId);
    return server !== null ? [server] : callServers();
  };

  async function lowerAllHands(): Promise<boolean> {
    const client = session.client;
    const r = room.value;
    if (client === null || r === null) return false;
    error.value = null;
    const hands = [...raisedHands(r, rtcSessionOf(client, r)).values()];
    const results = await Promise.allSettled(hands.map((eventId) => client.redactEvent(r.roomId, eventId)));
    const failed = results.find((result) => result.status === "rejected");
    if (failed !== undefined) {
      error.value = new VisioError(asVisioError(failed.reason).errcode, "moderation.failed", { reason: reasonOf(failed.reason), detail: String(failed.reason) });
      return false;
    }
    return true;
  }

  return {
    canModerate,
    pending: computed(() => pending.value),
    error: computed(() => error.value),
    mute: (p: ParticipantView) => send("mute", targetServers(p), p.userId ?? p.identity),
    /** Their ministry's SFU has their media; every ministry's focus must refuse them, and cut what they receive. */
    remove: (p: ParticipantView) => send("remove", p.userId !== null ? callServers(targetServers(p)) : callServers(), p.userId ?? p.identity),
    muteAll: () => send("mute_all", callServers()),
    lowerAllHands,
    /** Also to the hosting ministry, whose bot announces the end in the meeting. */
    endMeeting: () => {
      const r = room.value;
      const host = r === null ? [] : [serverOfAlias(r.getCanonicalAlias() ?? "") ?? r.roomId.slice(r.roomId.indexOf(":") + 1)];
      return send("end", callServers(host));
    },
  };
});
