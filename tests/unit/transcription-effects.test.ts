// The dispatch decisions of the call lifecycle's transcription effects, with the room's state, its
// call and LiveKit as doubles: which LiveKit rooms get a transcriber, when nothing is done, and that
// a late effect acts on the state as it is now.
import assert from "node:assert/strict";
import { ParticipantInfo_Kind } from "@livekit/protocol";
import type { CallEffect, RecordingTranscriptionEffect, TranscriptionDispatchEffect } from "../../appservice/src/calls/call-effect-types.ts";
import { createCallEffects, EffectPendingError } from "../../appservice/src/calls/call-effects.ts";
import type { Call, Presence } from "../../appservice/src/calls/call-store.ts";
import { recordingLiveKitRoom } from "../../appservice/src/focus/livekit-names.ts";
import { createLogger } from "../../appservice/src/log.ts";
import { FakeTranscriberLiveKit } from "../../appservice/src/transcription/testing/fake-transcriber-livekit.ts";
import { createTranscriberDispatch } from "../../appservice/src/transcription/transcriber-dispatch.ts";
import { createTranscriptionEffects, NO_WORKER_NOTICE_MS } from "../../appservice/src/transcription/transcription-effects.ts";
import { TRANSCRIBER_AGENT_NAME, TRANSCRIBER_NOTICE_KEY, type TranscriptionStateContent } from "../../config/wire-types.ts";

const ROOM = "!meeting:ministry-a.test";
const LK = "lk-room";
const T0 = 1_700_000_000_000;
const ACTIVE: TranscriptionStateContent = {
  active: true,
  requested_by: "@alice:ministry-a.test",
  language: "en",
  engine: "pocketsphinx",
  started_at: T0,
  thread_root: "$root",
};

describe("transcription effects (state, call and LiveKit doubles)", () => {
  let livekit: FakeTranscriberLiveKit;
  let state: TranscriptionStateContent | null;
  let call: Call | null;
  let presences: Presence[];
  let clock: number;
  let posted: { roomId: string; txnId: string; content: Record<string, unknown> }[];
  let postFails: boolean;

  const effects = () =>
    createTranscriptionEffects({
      state: { read: async () => state },
      calls: {
        activeCall: async () => call,
        openPresences: async () => presences,
      },
      dispatch: createTranscriberDispatch({ dispatches: livekit, rooms: livekit, log: createLogger("error"), now: () => clock }),
      homeserver: {
        sendMessage: async (roomId, txnId, content) => {
          if (postFails) throw new Error("homeserver unreachable");
          posted.push({ roomId, txnId, content });
          return { event_id: `$n${posted.length}` };
        },
      },
      serverName: "ministry-a.test",
      log: createLogger("error"),
      now: () => clock,
    });
  const presence = (livekitRoom: string | null, source: Presence["source"]): Presence => ({
    id: presences.length + 1,
    callId: "c1",
    source,
    key: `k${presences.length}`,
    userId: "@alice:ministry-a.test",
    deviceId: "D",
    livekitRoom,
    identity: livekitRoom ? "id" : null,
    joinedAt: T0,
    leftAt: null,
    expiresAt: null,
  });

  beforeEach(() => {
    clock = T0 + 1000;
    posted = [];
    postFails = false;
    livekit = new FakeTranscriberLiveKit();
    livekit.now = () => clock;
    livekit.connect(LK, "alice");
    state = ACTIVE;
    call = { id: "c1", roomId: ROOM, startedAt: T0, endedAt: null, participantCount: 1, maxConcurrent: 1 };
    presences = [];
    presences.push(presence(null, "matrixrtc"), presence(LK, "livekit"));
  });

  it("a start dispatches to every LiveKit room where the call has participants, with the state's session", async () => {
    livekit.connect("lk-other", "bob");
    presences.push(presence("lk-other", "livekit"));
    await assert.rejects(effects().run({ kind: "transcription_dispatch", roomId: ROOM, since: T0 }), EffectPendingError);
    for (const room of [LK, "lk-other"]) {
      const [d] = livekit.ofAgent(room, TRANSCRIBER_AGENT_NAME);
      assert.deepEqual(JSON.parse(d?.metadata ?? "{}"), { room_id: ROOM, language: "en", engine: "pocketsphinx", started_at: T0, thread_root: "$root" });
    }
  });

  it("a start with no call going on dispatches nothing (the call's first participant will)", async () => {
    call = null;
    await effects().run({ kind: "transcription_dispatch", roomId: ROOM, since: T0 });
    assert.equal(livekit.ofAgent(LK, TRANSCRIBER_AGENT_NAME).length, 0);
  });

  it("a first participant or a transcriber leaving in a room no longer transcribed: no dispatch, and old ones withdrawn", async () => {
    state = { ...ACTIVE, active: false, stopped_at: T0 + 10 };
    await livekit.createDispatch(LK, TRANSCRIBER_AGENT_NAME, { metadata: "{}" });
    await effects().run({ kind: "transcription_dispatch", roomId: ROOM, livekitRoom: LK, since: T0 + 20 });
    assert.equal(livekit.ofAgent(LK, TRANSCRIBER_AGENT_NAME).length, 0);
    // A room never transcribed is not even looked at in LiveKit: calls without transcription cost nothing.
    state = null;
    await livekit.createDispatch(LK, TRANSCRIBER_AGENT_NAME, { metadata: "{}" });
    await effects().run({ kind: "transcription_dispatch", roomId: ROOM, livekitRoom: LK, since: T0 + 20 });
    assert.equal(livekit.ofAgent(LK, TRANSCRIBER_AGENT_NAME).length, 1);
  });

  it("meetings it only follows get its transcriber too, on its own SFU: its callers' audio stays home", async () => {
    await assert.rejects(effects().run({ kind: "transcription_dispatch", roomId: ROOM, livekitRoom: LK, since: T0 }), EffectPendingError);
    assert.equal(livekit.ofAgent(LK, TRANSCRIBER_AGENT_NAME).length, 1);
  });

  it("tells the thread once when no worker took the call within the bound, and once when one did", async () => {
    const runner = effects();
    const effect: TranscriptionDispatchEffect = { kind: "transcription_dispatch", roomId: ROOM, since: T0 };
    const check = async (at: number) => {
      clock = at;
      await assert.rejects(runner.run(effect), EffectPendingError);
    };
    for (let at = T0 + 1000; at < T0 + NO_WORKER_NOTICE_MS; at += 9000) await check(at);
    assert.equal(posted.length, 0, "no notice before the bound");
    await check(T0 + NO_WORKER_NOTICE_MS);
    await check(T0 + NO_WORKER_NOTICE_MS + 9000);
    assert.equal(posted.length, 1, "one notice per wait, not one per check");
    const [waiting] = posted;
    assert.equal(waiting?.roomId, ROOM);
    assert.match(String(waiting?.content.body), /^Transcription is not running: no transcription worker of ministry-a\.test/);
    assert.deepEqual(waiting?.content[TRANSCRIBER_NOTICE_KEY], { state: "waiting", server_name: "ministry-a.test" });
    assert.deepEqual(waiting?.content["m.relates_to"], { rel_type: "m.thread", event_id: "$root", is_falling_back: true, "m.in_reply_to": { event_id: "$root" } });

    // A worker comes and takes the latest dispatch.
    const [latest] = livekit.ofAgent(LK, TRANSCRIBER_AGENT_NAME);
    assert.ok(latest);
    livekit.takeJob(LK, latest.id);
    clock += 1000;
    await runner.run(effect);
    assert.deepEqual(posted.map((p) => (p.content[TRANSCRIBER_NOTICE_KEY] as { state: string }).state), ["waiting", "running"]);
    assert.notEqual(posted[0]?.txnId, posted[1]?.txnId);
    await runner.run(effect);
    assert.equal(posted.length, 2, "running is said once");
  });

  it("a notice the homeserver refuses does not stop the dispatch from being retried", async () => {
    postFails = true;
    clock = T0 + NO_WORKER_NOTICE_MS;
    await assert.rejects(effects().run({ kind: "transcription_dispatch", roomId: ROOM, since: T0 }), EffectPendingError);
    assert.equal(livekit.ofAgent(LK, TRANSCRIBER_AGENT_NAME).length, 1);
  });

  it("a recording gets its own LiveKit room and one worker, never dispatched again once taken", async () => {
    const runner = effects();
    const effect: RecordingTranscriptionEffect = {
      kind: "recording_transcription",
      roomId: ROOM,
      eventId: "$rec",
      recording: { url: "mxc://ministry-a.test/r", filename: "r.ogg" },
      language: "fr",
      engine: "openai",
      requestedAt: T0,
    };
    const room = recordingLiveKitRoom(ROOM, "$rec");
    await assert.rejects(runner.run(effect), EffectPendingError);
    assert.deepEqual(livekit.created[0], { name: room, emptyTimeout: 120, departureTimeout: 20 });
    const [dispatch] = livekit.ofAgent(room, TRANSCRIBER_AGENT_NAME);
    assert.deepEqual(JSON.parse(dispatch?.metadata ?? "{}"), {
      room_id: ROOM,
      language: "fr",
      engine: "openai",
      started_at: T0,
      thread_root: "$rec",
      recording: { url: "mxc://ministry-a.test/r", filename: "r.ogg" },
    });
    // Not taken within the wait: dispatched again.
    clock += 6000;
    await assert.rejects(runner.run(effect), EffectPendingError);
    const [again] = livekit.ofAgent(room, TRANSCRIBER_AGENT_NAME);
    assert.ok(again && again.id !== dispatch?.id);
    livekit.takeJob(room, again.id);
    livekit.endJobs(room, again.id);
    clock += 6000;
    await runner.run(effect);
    assert.equal(livekit.ofAgent(room, TRANSCRIBER_AGENT_NAME).length, 1, "a job that ran is not run twice");
    assert.equal(livekit.ofAgent(LK, TRANSCRIBER_AGENT_NAME).length, 0, "the meeting's call is left alone");
  });

  it("reconciles: a transcribed call that nobody transcribes gets a dispatch; one transcribed, or on its way, gets nothing", async () => {
    const runner = effects();
    // A webhook was lost: callers are in the room, no transcriber, no dispatch.
    assert.deepEqual(await runner.reconcile(ROOM), [{ kind: "transcription_dispatch", roomId: ROOM, livekitRoom: LK, since: clock }]);
    // A dispatch just made is on its way; one taken by a worker too; a transcriber in the room is transcribing.
    await assert.rejects(runner.run({ kind: "transcription_dispatch", roomId: ROOM, livekitRoom: LK, since: clock }), EffectPendingError);
    assert.deepEqual(await runner.reconcile(ROOM), []);
    const [dispatch] = livekit.ofAgent(LK, TRANSCRIBER_AGENT_NAME);
    livekit.takeJob(LK, dispatch?.id ?? "");
    clock += 60_000;
    assert.deepEqual(await runner.reconcile(ROOM), []);
    livekit.connect(LK, `${TRANSCRIBER_AGENT_NAME}-AJ_1`, ParticipantInfo_Kind.AGENT);
    assert.deepEqual(await runner.reconcile(ROOM), []);
    assert.equal(livekit.ofAgent(LK, TRANSCRIBER_AGENT_NAME).length, 1, "reconciling changes nothing in LiveKit itself");
    // A dispatch nobody took, long ago (its worker died before joining): dispatched again.
    livekit.disconnect(LK, `${TRANSCRIBER_AGENT_NAME}-AJ_1`);
    livekit.endJobs(LK, dispatch?.id ?? "");
    assert.equal((await runner.reconcile(ROOM)).length, 1);
  });

  it("reconciles: a transcriber that stayed after the stop is stopped; calls never transcribed cost no LiveKit request", async () => {
    livekit.connect(LK, `${TRANSCRIBER_AGENT_NAME}-AJ_1`, ParticipantInfo_Kind.AGENT);
    state = { ...ACTIVE, active: false, stopped_at: T0 + 10 };
    assert.deepEqual(await effects().reconcile(ROOM), [{ kind: "transcription_stop", roomId: ROOM, startedAt: T0, requestedAt: T0 + 10 }]);
    livekit.disconnect(LK, `${TRANSCRIBER_AGENT_NAME}-AJ_1`);
    assert.deepEqual(await effects().reconcile(ROOM), []);
    state = null;
    livekit.listParticipants = () => Promise.reject(new Error("no LiveKit request expected"));
    assert.deepEqual(await effects().reconcile(ROOM), []);
  });

  it("a stop that runs after a new start leaves the new session alone", async () => {
    const bridge = `${TRANSCRIBER_AGENT_NAME}-AJ_1`;
    livekit.connect(LK, bridge, ParticipantInfo_Kind.AGENT);
    state = { ...ACTIVE, started_at: T0 + 500 };
    await effects().run({ kind: "transcription_stop", roomId: ROOM, startedAt: T0, requestedAt: T0 + 100 });
    assert.equal(livekit.sent.length, 0, "no stop message to the new session's transcriber");
    state = { ...ACTIVE, active: false };
    await assert.rejects(effects().run({ kind: "transcription_stop", roomId: ROOM, startedAt: T0, requestedAt: T0 + 100 }), EffectPendingError);
    assert.deepEqual(livekit.sent.map((p) => p.options.destinationIdentities), [[bridge]]);
  });
});

describe("waiting transcription effects in the call lifecycle", () => {
  it("are not given up while they wait, are paused between checks, and end when done", async () => {
    const effect: TranscriptionDispatchEffect = { kind: "transcription_dispatch", roomId: ROOM, since: T0 };
    const attempted: { done: boolean }[] = [];
    let pendingNow = true;
    let notBefore = 0;
    const store = {
      pendingEffects: async (_limit: number, now: number) => (pendingNow && notBefore <= now ? [{ id: 1, effect, attempts: 0 }] : []),
      effectAttempted: async (_id: number, done: boolean) => {
        attempted.push({ done });
        if (done) pendingNow = false;
      },
      effectWaiting: async (_id: number, until: number) => void (notBefore = until),
      identitiesOf: async () => [],
      identity: async () => null,
      activeCall: async () => null,
      hostsRoom: async () => true,
    };
    let clock = T0;
    let waiting = true;
    let runs = 0;
    const effects = createCallEffects({
      store,
      homeserver: { sendNotice: async () => ({ event_id: "$n" }), sendDelayedEvent: async () => false },
      livekit: null,
      transcription: {
        run: async () => {
          runs++;
          if (waiting) throw new EffectPendingError("no worker took the job yet");
        },
      },
      botUserId: "@visio:ministry-a.test",
      log: createLogger("error"),
      maxAttempts: 2,
      pendingRetryMs: 4000,
      now: () => clock,
    });
    for (let i = 0; i < 5; i++) await effects.drain();
    assert.equal(runs, 1, "checked again only after the pause, however many drains other changes cause");
    assert.deepEqual(attempted, [], "waiting is not a failed attempt");
    for (let i = 0; i < 5; i++) {
      clock += 4000;
      await effects.drain();
    }
    assert.equal(runs, 6);
    assert.deepEqual(attempted, [], "still waiting, never given up (maxAttempts is 2)");
    waiting = false;
    clock += 4000;
    await effects.drain();
    assert.deepEqual(attempted, [{ done: true }]);
  });

  it("however many wait for a worker, the others behind them run in the same drain (a kick, a notice)", async () => {
    const waitingDispatches = Array.from({ length: 200 }, (_, i) => ({
      id: i + 1,
      effect: { kind: "transcription_dispatch", roomId: `!r${i}:ministry-a.test`, since: T0 } as TranscriptionDispatchEffect,
      attempts: 0,
      notBefore: 0,
      done: false,
    }));
    const notice = { id: 201, effect: { kind: "notice", roomId: ROOM, txnId: "t", content: { msgtype: "m.notice", body: "Call ended" } } as CallEffect, attempts: 0, notBefore: 0, done: false };
    const rows = [...waitingDispatches, notice];
    const store = {
      pendingEffects: async (limit: number, now: number) => rows.filter((r) => !r.done && r.notBefore <= now).slice(0, limit),
      effectAttempted: async (id: number, done: boolean) => void (rows.find((r) => r.id === id)!.done = done),
      effectWaiting: async (id: number, until: number) => void (rows.find((r) => r.id === id)!.notBefore = until),
      identitiesOf: async () => [],
      identity: async () => null,
      activeCall: async () => null,
      hostsRoom: async () => true,
    };
    const sent: string[] = [];
    const effects = createCallEffects({
      store,
      homeserver: { sendNotice: async (_room, _txn, content) => (sent.push(String(content.body)), { event_id: "$n" }), sendDelayedEvent: async () => false },
      livekit: null,
      transcription: { run: async () => Promise.reject(new EffectPendingError("no worker took the job yet")) },
      botUserId: "@visio:ministry-a.test",
      log: createLogger("error"),
      now: () => T0,
    });
    await effects.drain();
    assert.deepEqual(sent, ["Call ended"]);
    assert.ok(waitingDispatches.every((r) => !r.done && r.notBefore > T0), "the dispatches wait, none given up");
  });
});
