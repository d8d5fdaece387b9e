// Transcription control with a homeserver double: who may start and stop, the state machine, what
// is posted and written, the effects left for the LiveKit side. The request and command parsers and the
// chat command's replies: transcription-commands.test.ts.
import assert from "node:assert/strict";
import { powerLevelOf } from "../../appservice/src/room-authorization.ts";
import type { TranscriptionEffect } from "../../appservice/src/calls/call-effect-types.ts";
import { MatrixError } from "../../appservice/src/errors.ts";
import { createLogger } from "../../appservice/src/log.ts";
import { FakeHomeserver } from "../../appservice/src/testing/fake-homeserver.ts";
import {
  createTranscriptionControl,
  type TranscriptionControl,
} from "../../appservice/src/transcription/transcription-control.ts";
import { createTranscriptionStateReader } from "../../appservice/src/transcription/transcription-state.ts";
import { TRANSCRIPT_SESSION_KEY, TRANSCRIPTION_STATE_EVENT, type RoomEvent } from "../../config/wire-types.ts";
import { refusedWith } from "./support/matrix-refusal.ts";

const ROOM = "!meeting:ministry-a.test";
const FOLLOWED = "!elsewhere:ministry-b.test";
const BOT = "@visio:ministry-a.test";
const BRIDGE = "@visio-transcriber:ministry-a.test";
const ALICE = "@alice:ministry-a.test";
const BOB = "@bob:ministry-b.test";
const CAROL = "@carol:ministry-a.test"; // left the room
const EVE = "@eve:evil.test";
const T0 = 1_700_000_000_000;

describe("transcription control (homeserver double)", () => {
  let homeserver: FakeHomeserver;
  let effects: TranscriptionEffect[];
  let members: Map<string, string>;
  let clock: number;

  const control = (level = 0): TranscriptionControl =>
    createTranscriptionControl({
      homeserver,
      state: createTranscriptionStateReader(homeserver),
      hostsRoom: async (roomId) => roomId === ROOM,
      membership: async (roomId, userId) => members.get(`${roomId}|${userId}`) ?? null,
      enqueue: async (effect) => void effects.push(effect),
      botUserId: BOT,
      bridgeUserId: BRIDGE,
      allowedServers: ["ministry-a.test", "ministry-b.test"],
      controlPowerLevel: level,
      defaultLanguage: "en",
      engine: "pocketsphinx",
      log: createLogger("error"),
      now: () => clock,
    });
  const stateOf = (roomId = ROOM) => homeserver.state.get(roomId)?.get(`${TRANSCRIPTION_STATE_EVENT}\u0000`);

  beforeEach(() => {
    homeserver = new FakeHomeserver();
    effects = [];
    clock = T0;
    members = new Map([
      [`${ROOM}|${BOT}`, "join"],
      [`${ROOM}|${ALICE}`, "join"],
      [`${ROOM}|${BOB}`, "join"],
      [`${ROOM}|${CAROL}`, "leave"],
      [`${FOLLOWED}|${BOT}`, "join"],
      [`${FOLLOWED}|${ALICE}`, "join"],
    ]);
    void homeserver.setState(ROOM, "m.room.power_levels", "", { users: { [BOT]: 100 }, users_default: 0 });
  });

  it("start: posts the thread root, invites the bridge's user, writes the state, and enqueues nothing itself (the state does)", async () => {
    const state = await control().control({ roomId: ROOM, userId: BOB, action: "start", language: "fr-FR" });
    const [root] = homeserver.messages;
    assert.ok(root);
    assert.deepEqual(root.content, { msgtype: "m.notice", body: "Transcription démarrée", [TRANSCRIPT_SESSION_KEY]: { language: "fr-FR", engine: "pocketsphinx" } });
    assert.deepEqual(state, {
      active: true,
      requested_by: BOB,
      language: "fr-FR",
      engine: "pocketsphinx",
      started_at: T0,
      thread_root: `$${root.txnId}`,
    });
    assert.deepEqual(stateOf(), state);
    assert.deepEqual(homeserver.invites, [{ roomId: ROOM, userId: BRIDGE }]);
    assert.deepEqual(effects, [], "the dispatch follows from the state when the homeserver delivers it (call tracker)");
  });

  it("start without a language uses the configured one; a bridge user already joined or invited is left alone", async () => {
    members.set(`${ROOM}|${BRIDGE}`, "join");
    const c = control();
    const state = await c.control({ roomId: ROOM, userId: ALICE, action: "start" });
    assert.equal(state.language, "en");
    await c.control({ roomId: ROOM, userId: ALICE, action: "stop" });
    members.set(`${ROOM}|${BRIDGE}`, "invite");
    await c.control({ roomId: ROOM, userId: ALICE, action: "start" });
    assert.deepEqual(homeserver.invites, []);
  });

  it("start goes on when the bridge's user cannot be invited (a public meeting needs no invite)", async () => {
    homeserver.inviteFails = new Error("M_FORBIDDEN");
    const state = await control().control({ roomId: ROOM, userId: ALICE, action: "start" });
    assert.equal(state.active, true);
    assert.equal(stateOf()?.active, true);
  });

  it("refuses a second start, and a stop of a room not transcribed, with their own errcodes", async () => {
    const c = control();
    await assert.rejects(c.control({ roomId: ROOM, userId: ALICE, action: "stop" }), refusedWith("ORG.VISIO.TRANSCRIPTION_INACTIVE"));
    await c.control({ roomId: ROOM, userId: ALICE, action: "start" });
    await assert.rejects(c.control({ roomId: ROOM, userId: BOB, action: "start" }), refusedWith("ORG.VISIO.TRANSCRIPTION_ACTIVE"));
    assert.equal(homeserver.messages.length, 1, "no second thread root");
    assert.equal(new MatrixError("ORG.VISIO.TRANSCRIPTION_ACTIVE", "x").status, 409);
  });

  it("a session the worker refused (no model for its language) is stopped, saying why; an older session's refusal changes nothing", async () => {
    const c = control();
    const started = await c.control({ roomId: ROOM, userId: ALICE, action: "start", language: "fr" });
    assert.equal(await c.refusedByWorker(ROOM, "$an-older-session"), false);
    assert.equal((stateOf() as { active: boolean }).active, true);
    clock = T0 + 5000;
    assert.equal(await c.refusedByWorker(ROOM, started.thread_root ?? ""), true);
    assert.deepEqual(stateOf(), { ...started, active: false, requested_by: BRIDGE, stopped_at: T0 + 5000 });
    assert.equal(
      homeserver.messages.at(-1)?.content.body,
      "Transcription arrêtée : le service de transcription de ministry-a.test ne transcrit pas la langue de la réunion.",
    );
    // Clients show it in their own language from its fields.
    assert.deepEqual(homeserver.messages.at(-1)?.content["org.visio.transcription.worker"], { state: "refused", server_name: "ministry-a.test", language: started.language });
    assert.equal(await c.refusedByWorker(ROOM, started.thread_root ?? ""), false, "a refusal seen again does nothing");
  });

  it("two starts at once: one wins, the other is refused", async () => {
    const c = control();
    const results = await Promise.allSettled([
      c.control({ roomId: ROOM, userId: ALICE, action: "start" }),
      c.control({ roomId: ROOM, userId: BOB, action: "start" }),
    ]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    assert.ok(results.some((r) => r.status === "rejected" && refusedWith("ORG.VISIO.TRANSCRIPTION_ACTIVE")(r.reason)));
  });

  it("stop: writes who stopped it and when, keeps the session, posts a notice (the bridge is told by the state)", async () => {
    const c = control();
    const started = await c.control({ roomId: ROOM, userId: ALICE, action: "start" });
    clock = T0 + 60_000;
    const stopped = await c.control({ roomId: ROOM, userId: BOB, action: "stop" });
    assert.deepEqual(stopped, { ...started, active: false, requested_by: BOB, stopped_at: T0 + 60_000 });
    assert.deepEqual(stateOf(), stopped);
    assert.deepEqual(effects, []);
    assert.equal(homeserver.messages.at(-1)?.content.body, "Transcription stopped");
    // And it can start again: a new session.
    clock = T0 + 120_000;
    assert.equal((await c.control({ roomId: ROOM, userId: ALICE, action: "start", language: "fr" })).active, true);
    assert.equal(homeserver.messages.at(-1)?.content.body, "Transcription démarrée", "a French meeting's notices are French");
    assert.equal((await c.control({ roomId: ROOM, userId: ALICE, action: "stop" })).active, false);
    assert.equal(homeserver.messages.at(-1)?.content.body, "Transcription arrêtée");
    const again = await c.control({ roomId: ROOM, userId: ALICE, action: "start" });
    assert.equal(again.started_at, T0 + 120_000);
    assert.notEqual(again.thread_root, started.thread_root);
  });

  it("refuses users not joined, of servers not allowed, rooms it does not host or know", async () => {
    const c = control();
    await assert.rejects(c.control({ roomId: ROOM, userId: CAROL, action: "start" }), refusedWith("M_FORBIDDEN", /not joined/));
    await assert.rejects(c.control({ roomId: ROOM, userId: "@dan:ministry-a.test", action: "start" }), refusedWith("M_FORBIDDEN", /not joined/));
    await assert.rejects(c.control({ roomId: ROOM, userId: EVE, action: "start" }), refusedWith("M_FORBIDDEN", /allowlist/));
    await assert.rejects(c.control({ roomId: FOLLOWED, userId: ALICE, action: "start" }), refusedWith("ORG.VISIO.ROOM_NOT_HOSTED"));
    await assert.rejects(c.control({ roomId: "!nope:ministry-a.test", userId: ALICE, action: "start" }), refusedWith("M_NOT_FOUND"));
    assert.equal(stateOf(), undefined);
    assert.deepEqual(homeserver.messages, []);
  });

  it("with control_power_level 50, only moderators may start or stop", async () => {
    const c = control(50);
    await assert.rejects(c.control({ roomId: ROOM, userId: ALICE, action: "start" }), refusedWith("M_FORBIDDEN", /power level 50.*has 0/));
    await homeserver.setState(ROOM, "m.room.power_levels", "", { users: { [BOT]: 100, [ALICE]: 50 }, users_default: 0 });
    await c.control({ roomId: ROOM, userId: ALICE, action: "start" });
    await assert.rejects(c.control({ roomId: ROOM, userId: BOB, action: "stop" }), refusedWith("M_FORBIDDEN", /power level 50/));
  });

  it("reads power levels as Matrix does", () => {
    assert.equal(powerLevelOf({ users: { [ALICE]: 75 }, users_default: 10 }, ALICE), 75);
    assert.equal(powerLevelOf({ users: {}, users_default: 10 }, ALICE), 10);
    assert.equal(powerLevelOf({}, ALICE), 0);
    assert.equal(powerLevelOf({ users: { [ALICE]: -1 } }, ALICE), -1);
  });

  const recording = (content: Record<string, unknown>, eventId = "$rec", roomId = ROOM): RoomEvent => {
    const event: RoomEvent = { event_id: eventId, room_id: roomId, type: "m.room.message", sender: BOB, origin_server_ts: T0, content };
    homeserver.events.set(eventId, event);
    return event;
  };
  const audio = { msgtype: "m.audio", body: "minutes.ogg", url: "mxc://ministry-b.test/abc", info: { mimetype: "audio/ogg", size: 120_000 } };

  it("a recording: invites the bridge's user, asks for a worker, and says so in a thread under it", async () => {
    recording(audio);
    clock = T0 + 5;
    const queued = await control().transcribeRecording({ roomId: ROOM, userId: ALICE, eventId: "$rec", language: "fr" });
    assert.deepEqual(queued, { event_id: "$rec", filename: "minutes.ogg", language: "fr" });
    assert.deepEqual(effects, [
      {
        kind: "recording_transcription",
        roomId: ROOM,
        eventId: "$rec",
        recording: { url: "mxc://ministry-b.test/abc", filename: "minutes.ogg", size: 120_000 },
        language: "fr",
        engine: "pocketsphinx",
        requestedAt: T0 + 5,
      },
    ]);
    assert.deepEqual(homeserver.invites, [{ roomId: ROOM, userId: BRIDGE }]);
    const [notice] = homeserver.messages;
    assert.match(String(notice?.content.body), /^Transcription de minutes\.ogg \(langue : fr\) : les fichiers WebVTT et Markdown suivront dans ce fil\.$/);
    assert.deepEqual(notice?.content["m.relates_to"], { rel_type: "m.thread", event_id: "$rec", is_falling_back: true, "m.in_reply_to": { event_id: "$rec" } });
    assert.equal(stateOf(), undefined, "the meeting's own transcription state is left alone");
  });

  it("an audio m.file is a recording too, named by its filename; the default language applies", async () => {
    recording({ msgtype: "m.file", body: "see attached", filename: "call.wav", url: "mxc://ministry-a.test/w", info: { mimetype: "audio/wav" } });
    const queued = await control().transcribeRecording({ roomId: ROOM, userId: BOB, eventId: "$rec" });
    assert.deepEqual(queued, { event_id: "$rec", filename: "call.wav", language: "en" });
  });

  it("a video, as m.video or as an m.file of a video type, is a recording too: its sound is transcribed", async () => {
    recording({ msgtype: "m.video", body: "meeting.mp4", url: "mxc://ministry-a.test/v", info: { mimetype: "video/mp4", size: 2048 } });
    assert.deepEqual(await control().transcribeRecording({ roomId: ROOM, userId: BOB, eventId: "$rec" }), { event_id: "$rec", filename: "meeting.mp4", language: "en" });
    recording({ msgtype: "m.file", body: "v.webm", url: "mxc://ministry-a.test/w", info: { mimetype: "video/webm" } });
    assert.deepEqual(await control().transcribeRecording({ roomId: ROOM, userId: BOB, eventId: "$rec" }), { event_id: "$rec", filename: "v.webm", language: "en" });
  });

  it("refuses what is not a recording it can read, and messages of other rooms, each with its reason", async () => {
    const c = control();
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ msgtype: "m.text", body: "hello" }, "M_INVALID_PARAM", /not an audio or video recording/],
      [{ msgtype: "m.file", body: "notes.pdf", url: "mxc://a/b", info: { mimetype: "application/pdf" } }, "M_INVALID_PARAM", /not an audio or video recording/],
      [{ msgtype: "m.video", body: "e.mp4", file: { url: "mxc://a/b" } }, "M_INVALID_PARAM", /end-to-end encrypted/],
      [{ msgtype: "m.audio", body: "e.ogg", file: { url: "mxc://a/b" } }, "M_INVALID_PARAM", /end-to-end encrypted/],
      [{ msgtype: "m.audio", body: "x.ogg", url: "https://elsewhere.example/x.ogg" }, "M_INVALID_PARAM", /mxc/],
      [{ msgtype: "m.audio", body: "big.ogg", url: "mxc://a/b", info: { size: 101 * 1024 * 1024 } }, "M_TOO_LARGE", /larger than 100 MiB/],
    ];
    for (const [content, errcode, message] of cases) {
      recording(content);
      await assert.rejects(c.transcribeRecording({ roomId: ROOM, userId: ALICE, eventId: "$rec" }), refusedWith(errcode, message), JSON.stringify(content));
    }
    recording(audio, "$other", "!other:ministry-a.test");
    await assert.rejects(c.transcribeRecording({ roomId: ROOM, userId: ALICE, eventId: "$other" }), refusedWith("M_NOT_FOUND"));
    await assert.rejects(c.transcribeRecording({ roomId: ROOM, userId: ALICE, eventId: "$missing" }), refusedWith("M_NOT_FOUND"));
    await assert.rejects(c.transcribeRecording({ roomId: ROOM, userId: CAROL, eventId: "$rec" }), refusedWith("M_FORBIDDEN", /not joined/));
    await assert.rejects(c.transcribeRecording({ roomId: FOLLOWED, userId: ALICE, eventId: "$rec" }), refusedWith("ORG.VISIO.ROOM_NOT_HOSTED"));
    assert.deepEqual(effects, []);
    assert.deepEqual(homeserver.messages, []);
  });

  it("a homeserver failure is not a refusal: nothing is written", async () => {
    homeserver.failing = new Error("homeserver down");
    await assert.rejects(control().control({ roomId: ROOM, userId: ALICE, action: "start" }), /homeserver down/);
    homeserver.failing = null;
    assert.equal(stateOf(), undefined);
  });
});
