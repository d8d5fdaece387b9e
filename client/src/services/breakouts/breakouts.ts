// A meeting's breakout groups as the client sees them: the meeting's org.visio.breakouts state (written
// by the bot of the appservice hosting it), the group a user is in, a random split, and the request a
// moderator sends to start or end them (`POST <appservice>/_visio/v1/breakouts`).
import type { Room } from "matrix-js-sdk";
import type { BreakoutGroup, BreakoutsContent, BreakoutsRequest, OpenIdToken } from "../../../../config/wire-types.ts";
import { BREAKOUTS_API_PATH, BREAKOUTS_STATE_EVENT } from "../../../../config/wire-types.ts";
import type { FetchLike } from "../matrix/homeserver-discovery.ts";
import { openIdFields, postJson } from "../visio-api.ts";

export function breakoutsOf(room: Room | null): BreakoutsContent | null {
  const content = room?.currentState.getStateEvents(BREAKOUTS_STATE_EVENT, "")?.getContent<Partial<BreakoutsContent>>();
  if (content === undefined || typeof content.active !== "boolean" || !Array.isArray(content.groups)) return null;
  return content as BreakoutsContent;
}

/** Running: started, not ended, and its time limit (if any) not past. */
export function isRunning(state: BreakoutsContent | null, now: number): state is BreakoutsContent {
  return state !== null && state.active && (state.ends_at === undefined || state.ends_at > now);
}

export function groupOf(state: BreakoutsContent | null, userId: string | null, now: number): BreakoutGroup | null {
  if (!isRunning(state, now) || userId === null) return null;
  return state.groups.find((group) => group.members.includes(userId)) ?? null;
}

/** The meeting a breakout group belongs to (its m.space.parent), or null for a room that is not one. */
export function parentOf(room: Room | null): string | null {
  const parents = room?.currentState.getStateEvents("m.space.parent") ?? [];
  return parents.find((event) => event.getContent().canonical === true)?.getStateKey() ?? null;
}

/** `members` dealt into `count` groups at random, as evenly as can be. */
export function randomGroups(members: readonly string[], count: number, random: () => number = Math.random): string[][] {
  const shuffled = [...members];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j] as string, shuffled[i] as string];
  }
  const groups: string[][] = Array.from({ length: count }, () => []);
  shuffled.forEach((member, index) => groups[index % count]?.push(member));
  return groups;
}

export async function controlBreakouts(
  fetchFn: FetchLike,
  appserviceUrl: string,
  request: { roomId: string; action: "start" | "end"; groups?: string[][]; durationMinutes?: number; openIdToken: OpenIdToken },
): Promise<BreakoutsContent> {
  const body: BreakoutsRequest = {
    room_id: request.roomId,
    action: request.action,
    openid_token: openIdFields(request.openIdToken),
    ...(request.groups !== undefined ? { groups: request.groups } : {}),
    ...(request.durationMinutes !== undefined ? { duration_minutes: request.durationMinutes } : {}),
  };
  return ((await postJson(fetchFn, `${appserviceUrl}${BREAKOUTS_API_PATH}`, body, "breakouts.failed")) as { state: BreakoutsContent }).state;
}
