// The call store's join and leave with the real matrix-js-sdk against a fake homeserver and focus,
// and a fake media layer whose LiveKit connection completes when the test says: leaving (or signing
// out) while the join is still on its way ends the call for good.
import assert from "node:assert/strict";
import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";
import type { LocalAudioTrack, LocalVideoTrack, Room as LkRoom } from "livekit-client";
import { createPinia } from "pinia";
import { createApp } from "vue";
import { DEFAULT_CLIENT_CONFIG, type ClientConfig } from "../../src/services/client-config.ts";
import { provideServices, type Services } from "../../src/services/index.ts";
import type { CallMedia, PreviewTracks } from "../../src/services/livekit/call-media.ts";
import { createMatrixClientFactory } from "../../src/services/matrix/client-factory.ts";
import { fakeHomeserver } from "../../src/services/matrix/testing/fake-homeserver-fetch.ts";
import { useCallStore } from "../../src/stores/call.ts";
import { useCallReturnStore } from "../../src/stores/call-return.ts";
import { useRoomsStore } from "../../src/stores/rooms.ts";
import { useSessionStore } from "../../src/stores/session.ts";
import { memoryStorage, silentLogger } from "./doubles.ts";

const ROOM = "!meeting:ministry.test";
const ALICE = "@alice:ministry.test";
const roomState = [
  { type: "m.room.create", state_key: "", sender: ALICE, event_id: "$create", origin_server_ts: 1, content: { room_version: "org.matrix.msc3757.11" } },
  { type: "m.room.member", state_key: ALICE, sender: ALICE, event_id: "$alice", origin_server_ts: 2, content: { membership: "join" } },
  { type: "m.room.power_levels", state_key: "", sender: ALICE, event_id: "$pl", origin_server_ts: 3, content: { users: { [ALICE]: 100 } } },
];

/** A LiveKit room as far as the call store uses it while joining and leaving. */
function fakeLiveKitRoom() {
  const published: string[] = [];
  let disconnects = 0;
  const room = {
    on: () => room,
    off: () => room,
    disconnect: async () => void (disconnects += 1),
    localParticipant: { publishTrack: async (track: { name: string }) => void published.push(track.name) },
    remoteParticipants: new Map(),
    getParticipantByIdentity: () => undefined,
    registerTextStreamHandler: () => undefined,
    unregisterTextStreamHandler: () => undefined,
  };
  return { room: room as unknown as LkRoom, published, disconnects: () => disconnects };
}

function stores(config: ClientConfig = DEFAULT_CLIENT_CONFIG, tab = new Map<string, string>(), createPreview?: CallMedia["createPreview"]) {
  const server = fakeHomeserver({
    serverName: "ministry.test",
    baseUrl: "https://matrix.ministry.test",
    users: { alice: "right" },
    rooms: { [ROOM]: roomState },
    focusUrl: "https://matrix.ministry.test/livekit/jwt",
  });
  let connected: (room: LkRoom) => void = () => undefined;
  let connects = 0;
  const media: CallMedia = {
    listDevices: async () => ({ cameras: [], microphones: [] }),
    createPreview: createPreview ?? (async () => ({ video: null, audio: null })),
    connect: () => {
      connects += 1;
      return new Promise<LkRoom>((resolve) => (connected = resolve));
    },
  };
  const services: Services = {
    fetch: server.fetch,
    storage: memoryStorage(),
    // The same map across two apps stands for a reload of the page.
    tabStorage: memoryStorage(tab),
    createMatrixClient: createMatrixClientFactory(server.fetch, { logger: silentLogger }),
    callMedia: media,
    config,
  } as unknown as Services;
  const app = createApp({});
  provideServices(app, services);
  const pinia = createPinia();
  app.use(pinia);
  const [session, rooms, call, callReturn] = app.runWithContext(
    () => [useSessionStore(pinia), useRoomsStore(pinia), useCallStore(pinia), useCallReturnStore(pinia)] as const,
  );
  return { session, rooms, call, callReturn, server, connect: (room: LkRoom) => connected(room), connects: () => connects };
}

const until = async (what: string, check: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(check(), `timed out waiting for ${what}`);
};

describe("call store: join and leave (real matrix-js-sdk, fake homeserver and media)", function () {
  this.timeout(10_000);
  // MatrixRTC logs every membership step through child loggers of the SDK's global one, made per
  // session at debug level: they take their output from the parent's method factory.
  const root = sdkLogger as unknown as { methodFactory: unknown };
  const factory = root.methodFactory;
  before(() => {
    root.methodFactory = () => () => undefined;
  });
  after(() => {
    root.methodFactory = factory;
  });
  const opened: ReturnType<typeof stores>[] = [];
  afterEach(() => {
    for (const s of opened.splice(0)) s.session.client?.stopClient();
  });

  const signedIn = async (config?: ClientConfig, tab?: Map<string, string>, createPreview?: CallMedia["createPreview"]): Promise<ReturnType<typeof stores>> => {
    const s = stores(config, tab, createPreview);
    opened.push(s);
    await s.session.signIn({ server: "ministry.test", username: "alice", password: "right" });
    await until(`the meeting room synced (${s.session.status})`, () => s.session.client?.getRoom(ROOM) != null);
    s.rooms.select(ROOM);
    return s;
  };

  it("compatibility mode: a call.member state event, and a publish token from /sfu/get", async () => {
    const s = await signedIn();
    const joining = s.call.join();
    await until("the LiveKit connection asked for", () => s.connects() === 1);
    s.connect(fakeLiveKitRoom().room);
    await joining;
    assert.ok(s.server.sent.some((e) => e.path.includes("/state/org.matrix.msc3401.call.member/")), "a call.member state event");
    // Then its delayed leave, handed to the focus with a second token request.
    await until("the delayed leave handed to the focus", () => s.server.focusRequests.length === 2);
    assert.deepEqual(s.server.focusRequests.map((r) => r.endpoint), ["sfu/get", "sfu/get"]);
    assert.equal(s.server.focusRequests[0]?.body.delay_id, undefined);
    const delayed = s.server.sent.find((e) => e.path.includes("/state/org.matrix.msc3401.call.member/") && e.query["org.matrix.msc4140.delay"] !== undefined);
    assert.equal(delayed?.query["org.matrix.msc4140.delay"], "20000");
    assert.match(String(s.server.focusRequests[1]?.body.delay_id), /^delay-\d+$/);
    assert.equal(s.server.focusRequests[1]?.body.delay_timeout, 20_000);
    await s.call.leave();
  });

  it("matrix_2_0 mode: a sticky m.rtc.member event and a publish token from /get_token for its member ID", async () => {
    const s = await signedIn({ matrixRtcMode: "matrix_2_0" });
    const joining = s.call.join();
    await until("the LiveKit connection asked for", () => s.connects() === 1);
    s.connect(fakeLiveKitRoom().room);
    await joining;
    assert.equal(s.call.phase, "joined", String(s.call.error?.cause ?? s.call.error?.messageKey));
    const isMembership = (e: (typeof s.server.sent)[number]): boolean => e.path.includes("/send/org.matrix.msc4143.rtc.member/") && e.content.member !== undefined;
    await until("the membership sent", () => s.server.sent.some(isMembership));
    const membership = s.server.sent.find(isMembership);
    assert.ok(membership?.query["org.matrix.msc4354.sticky_duration_ms"], "sent as a sticky event");
    const delayedLeave = s.server.sent.find((e) => e.path.includes("/send/org.matrix.msc4143.rtc.member/") && e.query["org.matrix.msc4140.delay"] !== undefined);
    assert.ok(delayedLeave, "with a delayed leave, sticky too");
    assert.ok(!s.server.sent.some((e) => e.path.includes("/state/org.matrix.msc3401.call.member/")), "no call.member state event");
    const member = membership?.content.member as { id: string; user_id: string; device_id: string };
    assert.equal(member.user_id, ALICE);
    assert.equal(membership?.content.msc4354_sticky_key, member.id);
    assert.deepEqual(membership?.content.transports, { published: [{ type: "livekit", livekit_service_url: "https://matrix.ministry.test/livekit/jwt" }], can_subscribe: ["livekit"] });
    await until("the delayed leave handed to the focus", () => s.server.focusRequests.length === 2);
    const expected = { id: member.id, claimed_user_id: ALICE, claimed_device_id: member.device_id };
    assert.deepEqual(
      s.server.focusRequests.map((r) => [r.endpoint, r.body.member, typeof r.body.delay_id]),
      [
        ["get_token", expected, "undefined"],
        ["get_token", expected, "string"],
      ],
      "the hashed identity of the published membership, then its delayed leave for it",
    );
    await s.call.leave();
  });

  it("joins: connected to its own focus's LiveKit, then joined", async () => {
    const s = await signedIn();
    const joining = s.call.join();
    await until("the LiveKit connection asked for", () => s.connects() === 1);
    assert.equal(s.call.phase, "joining");
    const lk = fakeLiveKitRoom();
    s.connect(lk.room);
    await joining;
    assert.equal(s.call.phase, "joined", String(s.call.error?.cause ?? s.call.error?.messageKey));
    await s.call.leave();
    assert.equal(lk.disconnects(), 1);
  });

  it("joined at once while the pre-join's camera and microphone still start: their tracks are published when they come, not none", async () => {
    let answer: (tracks: PreviewTracks) => void = () => undefined;
    const s = await signedIn(undefined, undefined, () => new Promise<PreviewTracks>((resolve) => (answer = resolve)));
    const opening = s.call.openPrejoin();
    const joining = s.call.join();
    await until("the LiveKit connection asked for", () => s.connects() === 1);
    const lk = fakeLiveKitRoom();
    s.connect(lk.room);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(s.call.phase, "joining", "waits for the devices");
    const track = (name: string) => ({ name, stop: () => undefined, mediaStreamTrack: { getSettings: () => ({ deviceId: name }) } });
    answer({ video: track("camera") as unknown as LocalVideoTrack, audio: track("microphone") as unknown as LocalAudioTrack });
    await Promise.all([opening, joining]);
    assert.equal(s.call.phase, "joined", String(s.call.error?.cause ?? s.call.error?.messageKey));
    assert.deepEqual(lk.published.sort(), ["camera", "microphone"]);
    await s.call.leave();
  });

  it("left while the connection was on its way: the connection is closed when it comes, the call stays left", async () => {
    const s = await signedIn();
    const joining = s.call.join();
    await until("the LiveKit connection asked for", () => s.connects() === 1);
    await s.call.leave();
    assert.equal(s.call.phase, "idle");
    const lk = fakeLiveKitRoom();
    s.connect(lk.room);
    await joining;
    assert.equal(s.call.phase, "idle", "not joined again");
    assert.equal(s.call.error, null);
    assert.equal(lk.disconnects(), 1, "the late connection is closed");
    // And a new join works as the first did.
    const again = s.call.join();
    await until("a second connection asked for", () => s.connects() === 2);
    s.connect(fakeLiveKitRoom().room);
    await again;
    assert.equal(s.call.phase, "joined");
    await s.call.leave();
  });

  it("offers to rejoin: after leaving, and after a reload mid-call; a call left while joining offers nothing", async () => {
    const tab = new Map<string, string>();
    const s = await signedIn(undefined, tab);
    assert.equal(s.callReturn.offer, null, "nothing to return to yet");
    const joining = s.call.join();
    await until("the LiveKit connection asked for", () => s.connects() === 1);
    s.connect(fakeLiveKitRoom().room);
    await joining;
    assert.equal(s.call.phase, "joined");
    assert.equal(JSON.parse(tab.get("visio.call") ?? "{}").roomId, ROOM, "the tab knows its call");

    // The page reloads mid-call: a new app on the same tab storage offers the call back.
    const reloaded = await signedIn(undefined, tab);
    assert.deepEqual(reloaded.callReturn.offer, { roomId: ROOM, reason: "reloaded" });
    reloaded.callReturn.dismiss();
    assert.equal(reloaded.callReturn.offer, null);
    assert.equal(tab.has("visio.call"), false, "answered: not offered again");

    await s.call.leave();
    assert.deepEqual(s.callReturn.offer, { roomId: ROOM, reason: "left" });

    // Left before the call was joined: nothing to come back to.
    s.callReturn.dismiss();
    const again = s.call.join();
    await until("a second connection asked for", () => s.connects() === 2);
    await s.call.leave();
    s.connect(fakeLiveKitRoom().room);
    await again;
    assert.equal(s.callReturn.offer, null);
    assert.equal(tab.has("visio.call"), false);
  });
});
