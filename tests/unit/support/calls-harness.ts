// The call-state tests' set-up: a real appservice (SQLite file) in this process receiving signed
// LiveKit webhooks and appservice transactions, with a fake homeserver and a fake LiveKit room API.
// `callsHarness()` registers its mocha hooks in the calling `describe`: each test gets a fresh
// appservice, a fresh meeting room it hosts (with the bot, alice, bob and a moderator joined) and its
// LiveKit room.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Room } from "livekit-server-sdk";
import { start, type RunningAppservice } from "../../../appservice/src/app.ts";
import { FakeLiveKitRoomService } from "../../../appservice/src/calls/testing/fake-livekit-room-service.ts";
import { postWebhook, signWebhook, webhookBody, type WebhookFields } from "../../../appservice/src/calls/testing/livekit-webhooks.ts";
import type { FederationGet } from "../../../appservice/src/focus/federation-client.ts";
import { liveKitIdentity, liveKitRoomAlias } from "../../../appservice/src/focus/livekit-names.ts";
import { createLogger } from "../../../appservice/src/log.ts";
import { FakeHomeserver } from "../../../appservice/src/testing/fake-homeserver.ts";
import { parseConfig } from "../../../config/load.ts";
import type { AppserviceConfig } from "../../../config/schema.ts";
import type { RoomEvent } from "../../../config/wire-types.ts";
import { waitUntil } from "../../harness/wait.ts";
import { requestJson } from "../../harness/http.ts";

export const API_KEY = "calls-test-key";
export const API_SECRET = "calls-test-secret-0123456789abcdefghijkl";
const HS_TOKEN = "hs-token-for-tests-0123456789abcdefghij";
export const BOT = "@visio:ministry-a.test";
export const ALICE = "@alice:ministry-a.test";
export const BOB = "@bob:ministry-b.test";
export const MOD = "@mod:ministry-a.test";
export const T0 = 1_700_000_000_000;
export const MIN = 60_000;

type WebhookOptions = Omit<WebhookFields, "room"> & { room?: string };

let roomCounter = 0;

export function callsHarness() {
  let dir = "";
  let txnCounter = 0;
  let eventCounter = 0;

  const config = (): AppserviceConfig =>
    parseConfig({
      homeserver: { server_name: "ministry-a.test", url: "http://127.0.0.1:1" },
      appservice: { url: "http://127.0.0.1:9000", port: 0, as_token: "as-token-for-tests-0123456789abcdefghij", hs_token: HS_TOKEN },
      database: { client: "sqlite", filename: join(dir, "as.db") },
      federation: { allowlist: ["ministry-a.test", "ministry-b.test"] },
      focus: { livekit: { url: "ws://127.0.0.1:1", api_key: API_KEY, api_secret: API_SECRET } },
      logging: { level: "error" },
    });
  const federationGet: FederationGet = async (_target, path) =>
    path.startsWith("/.well-known/") ? { status: 404, body: null } : { status: 200, body: { sub: ALICE } };
  const focusDeps = {
    federationGet,
    rooms: { listRooms: async () => [], createRoom: async (o: { name: string }) => new Room({ name: o.name }) },
  };

  const h = {
    running: undefined as unknown as RunningAppservice,
    homeserver: undefined as unknown as FakeHomeserver,
    livekit: undefined as unknown as FakeLiveKitRoomService,
    /** The test's Matrix room (a test may point it at another room). */
    room: "",
    lkRoom: "",
    /** The number in the test's room ID. */
    roomNumber: 0,

    /** Starts an appservice on the harness's database, homeserver and LiveKit (the caller keeps it in `running`). */
    boot: (options: { callReconcileMs?: number } = {}): Promise<RunningAppservice> =>
      start(config(), { homeserver: h.homeserver, livekit: h.livekit, log: createLogger("error"), callTickMs: 50, ...options, focus: focusDeps }),

    txn: async (events: RoomEvent[]): Promise<void> => {
      const res = await requestJson("PUT", `${h.running.url}/_matrix/app/v1/transactions/t${++txnCounter}`, { token: HS_TOKEN, body: { events } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    },
    stateEvent: (type: string, sender: string, stateKey: string, content: Record<string, unknown>, at = Date.now()): RoomEvent => ({
      event_id: `$ev${++eventCounter}`,
      room_id: h.room,
      type,
      sender,
      state_key: stateKey,
      origin_server_ts: at,
      content,
    }),
    member: (userId: string, membership: string, sender = userId) => h.stateEvent("m.room.member", sender, userId, { membership }),
    callMember: (userId: string, device: string, content: Record<string, unknown>, at?: number) =>
      h.stateEvent("org.matrix.msc3401.call.member", userId, `_${userId}_${device}`, content, at),
    rtcContent: (device: string, extra: Record<string, unknown> = {}) => ({
      application: "m.call",
      call_id: "",
      scope: "m.room",
      device_id: device,
      focus_active: { type: "livekit", focus_selection: "oldest_membership" },
      foci_preferred: [{ type: "livekit", livekit_service_url: "http://ministry-a.test/livekit/jwt", livekit_alias: h.room }],
      expires: 14_400_000,
      ...extra,
    }),

    identityOf: (userId: string, device: string) => liveKitIdentity(userId, device, `member-${device}`),
    giveToken: (userId: string, device: string) =>
      h.running.callStore.recordIdentity({ livekitRoom: h.lkRoom, identity: h.identityOf(userId, device), roomId: h.room, userId, deviceId: device, issuedAt: Date.now() }),

    webhook: async (fields: WebhookOptions, secret = API_SECRET) => {
      const signed = await signWebhook(webhookBody({ room: h.lkRoom, ...fields }), API_KEY, secret);
      return postWebhook(`${h.running.url}/livekit/webhook`, signed);
    },
    ok: async (fields: WebhookOptions) => {
      const res = await h.webhook(fields);
      assert.equal(res.status, 200, JSON.stringify(res.body));
    },
    // What LiveKit's room API lists follows its webhooks, as on a real server.
    joined: (userId: string, device: string, at: number, sid?: string) => {
      h.livekit.connect(h.lkRoom, h.identityOf(userId, device), at, sid);
      return h.ok({ event: "participant_joined", identity: h.identityOf(userId, device), at, ...(sid ? { sid } : {}) });
    },
    left: (userId: string, device: string, at: number, sid?: string) => {
      h.livekit.disconnect(h.lkRoom, sid ?? `PA_${h.identityOf(userId, device).slice(0, 8)}`);
      return h.ok({ event: "participant_left", identity: h.identityOf(userId, device), at, ...(sid ? { sid } : {}) });
    },

    activeCall: () => h.running.callStore.activeCall(h.room),
    notices: (state?: "started" | "ended") =>
      h.homeserver.notices.filter((n) => n.roomId === h.room && (state === undefined || n.content["org.visio.call"].state === state)),
    waitFor: (what: string, check: () => boolean | Promise<boolean>) => waitUntil(what, async () => check(), { timeoutMs: 5000, intervalMs: 20 }),
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "visio-calls-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    h.homeserver = new FakeHomeserver();
    h.livekit = new FakeLiveKitRoomService();
    h.running = await h.boot();
    h.roomNumber = ++roomCounter;
    h.room = `!call${h.roomNumber}:ministry-a.test`;
    h.lkRoom = liveKitRoomAlias(h.room, "m.call#ROOM");
    h.livekit.rooms.set(h.lkRoom, []);
    await h.txn([h.member(BOT, "join"), h.member(ALICE, "join"), h.member(BOB, "join"), h.member(MOD, "join")]);
    // A meeting this appservice hosts: it posts the call notices there.
    await h.running.store.saveMeetingRoom({ roomId: h.room, alias: `#visio-c${h.roomNumber}:ministry-a.test`, slug: `c${h.roomNumber}`, createdAt: T0 });
  });
  afterEach(async () => {
    await h.running.stop();
  });
  return h;
}
