// Our subscribe-only connections to the focus of every other member (multi_sfu, as Element Call does):
// connected to as members name them, left when nobody uses them, asked again shortly when a focus
// refuses us for now (its member's membership came before their media). Our OpenID token goes only
// to a focus that the homeserver of a member naming it announces.
import type { Room as LkRoom } from "livekit-client";
import type { Room } from "matrix-js-sdk";
import type { CallMembership, MatrixRTCSession } from "matrix-js-sdk/lib/matrixrtc/index.js";
import { shallowRef } from "vue";
import { focusVouchedBy, type LivekitTransport } from "../../services/livekit/focus.ts";
import type { FetchLike } from "../../services/matrix/homeserver-discovery.ts";
import { focusUrlOf, liveMemberships } from "../../services/matrix/call-membership.ts";

const REMOTE_RETRY_MS = 3_000;

export interface JoinedCall {
  rtcSession: MatrixRTCSession;
  room: Room;
  ownFocusUrl: string;
  memberId: string;
}

export interface RemoteFociContext {
  fetch: FetchLike;
  /** The call we are in, or null. */
  current(): JoinedCall | null;
  isOwnDevice(membership: CallMembership): boolean;
  /** A subscribe-only connection to that focus's SFU. */
  connect(url: string, room: Room, memberId: string): Promise<LkRoom>;
  /** Something tiles show changed. */
  changed(): void;
}

export function createRemoteFoci(ctx: RemoteFociContext) {
  const rooms = shallowRef<ReadonlyMap<string, LkRoom>>(new Map());
  const connecting = new Set<string>();
  /** "<server> <focus URL>" → whether that server announces that focus (asked once per page). */
  const vouchedFoci = new Map<string, Promise<boolean>>();
  const retryTimers = new Map<string, ReturnType<typeof setTimeout>>();

  function drop(url: string): LkRoom | undefined {
    const lk = rooms.value.get(url);
    const next = new Map(rooms.value);
    next.delete(url);
    rooms.value = next;
    ctx.changed();
    return lk;
  }

  function retryLater(url: string): void {
    if (retryTimers.has(url)) return;
    retryTimers.set(
      url,
      setTimeout(() => {
        retryTimers.delete(url);
        void sync();
      }, REMOTE_RETRY_MS),
    );
  }

  async function vouched(rtcSession: MatrixRTCSession, url: string): Promise<boolean> {
    const servers = new Set(
      liveMemberships(rtcSession)
        .filter((m) => (m.transports[0] as Partial<LivekitTransport> | undefined)?.livekit_service_url === url)
        .map((m) => m.sender.slice(m.sender.indexOf(":") + 1)),
    );
    for (const server of servers) {
      const key = `${server} ${url}`;
      let answer = vouchedFoci.get(key);
      if (answer === undefined) {
        answer = focusVouchedBy(ctx.fetch, server, url);
        vouchedFoci.set(key, answer);
      }
      if (await answer) return true;
    }
    return false;
  }

  /** Connects to the focus of every other member and leaves those nobody uses any more. */
  async function sync(): Promise<void> {
    const call = ctx.current();
    if (call === null) return;
    const { rtcSession, room, ownFocusUrl, memberId } = call;
    const wanted = new Set<string>();
    for (const m of liveMemberships(rtcSession)) {
      const url = ctx.isOwnDevice(m) ? undefined : focusUrlOf(rtcSession, m);
      if (url !== undefined && url !== ownFocusUrl) wanted.add(url);
    }
    for (const url of [...rooms.value.keys()]) {
      if (!wanted.has(url)) void drop(url)?.disconnect();
    }
    await Promise.all(
      [...wanted]
        .filter((url) => !rooms.value.has(url) && !connecting.has(url))
        .map(async (url) => {
          connecting.add(url);
          try {
            if (!(await vouched(rtcSession, url))) return;
            const lk = await ctx.connect(url, room, memberId);
            if (ctx.current()?.rtcSession !== rtcSession) {
              await lk.disconnect();
              return;
            }
            rooms.value = new Map([...rooms.value, [url, lk]]);
            ctx.changed();
          } catch {
            retryLater(url);
          } finally {
            connecting.delete(url);
          }
        }),
    );
  }

  /** A connection the SDK gave up on: forgotten, and asked for again shortly. */
  function lost(url: string, lk: LkRoom): void {
    if (rooms.value.get(url) !== lk) return;
    drop(url);
    retryLater(url);
  }

  /** The call is over: every connection forgotten (and answered, to be closed), no retry left. */
  function clear(): LkRoom[] {
    for (const timer of retryTimers.values()) clearTimeout(timer);
    retryTimers.clear();
    const all = [...rooms.value.values()];
    rooms.value = new Map();
    return all;
  }

  return { rooms, sync, lost, clear };
}
