// How the call lifecycle's effects are run: rooms side by side, each room's effects on one server in
// order, and a failing effect out of the batches until its retry, with an in-memory store double.
import assert from "node:assert/strict";
import type { CallEffect } from "../../appservice/src/calls/call-effect-types.ts";
import { createCallEffects } from "../../appservice/src/calls/call-effects.ts";
import { FakeLiveKitRoomService } from "../../appservice/src/calls/testing/fake-livekit-room-service.ts";
import { createLogger } from "../../appservice/src/log.ts";

const T0 = 1_700_000_000_000;

interface Row {
  id: number;
  effect: CallEffect;
  attempts: number;
  notBefore: number;
  done: boolean;
}

const notice = (roomId: string, body: string): CallEffect => ({
  kind: "notice",
  roomId,
  txnId: `t-${body}`,
  content: { msgtype: "m.notice", body, "org.visio.call": { call_id: "c", state: "started", started_at: T0 } },
});

function memoryStore(effects: CallEffect[]) {
  const rows: Row[] = effects.map((effect, i) => ({ id: i + 1, effect, attempts: 0, notBefore: 0, done: false }));
  return {
    rows,
    pendingEffects: async (limit: number, now: number) =>
      rows.filter((r) => !r.done && r.notBefore <= now).slice(0, limit).map(({ id, effect, attempts }) => ({ id, effect, attempts })),
    effectAttempted: async (id: number, done: boolean, _at: number, retryAt?: number) => {
      const row = rows.find((r) => r.id === id)!;
      row.attempts++;
      row.done = done;
      row.notBefore = done ? 0 : (retryAt ?? 0);
    },
    effectWaiting: async (id: number, until: number) => void (rows.find((r) => r.id === id)!.notBefore = until),
    identitiesOf: async () => [],
    identity: async () => null,
    activeCall: async () => null,
    hostsRoom: async () => true,
  };
}

describe("call effects: how a drain runs them", () => {
  let clock: number;
  let sent: string[];
  let livekit: FakeLiveKitRoomService;
  beforeEach(() => {
    clock = T0;
    sent = [];
    livekit = new FakeLiveKitRoomService();
  });
  const runner = (store: ReturnType<typeof memoryStore>, sendNotice: (roomId: string, body: string) => Promise<void>) =>
    createCallEffects({
      store,
      homeserver: {
        sendNotice: async (roomId, _txn, content) => {
          await sendNotice(roomId, String(content.body));
          sent.push(String(content.body));
          return { event_id: "$n" };
        },
        sendDelayedEvent: async () => false,
      },
      livekit,
      botUserId: "@visio:ministry-a.test",
      log: createLogger("error"),
      now: () => clock,
    });

  it("a room whose homeserver call hangs holds back that room only", async () => {
    let release: () => void = () => undefined;
    const hung = new Promise<void>((resolve) => (release = resolve));
    const store = memoryStore([notice("!slow:a", "slow 1"), notice("!slow:a", "slow 2"), notice("!quick:a", "quick")]);
    const drained = runner(store, (roomId) => (roomId === "!slow:a" ? hung : Promise.resolve())).drain();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(sent, ["quick"], "the other room's notice went out while the first hangs");
    release();
    await drained;
    assert.deepEqual(sent, ["quick", "slow 1", "slow 2"]);
  });

  it("recordings asked for in a meeting have lanes of their own: one that hangs holds back neither the others nor a kick", async () => {
    livekit.connect("lk", "charlie");
    let release: () => void = () => undefined;
    const hung = new Promise<void>((resolve) => (release = resolve));
    const recording = (eventId: string): CallEffect => ({
      kind: "recording_transcription",
      roomId: "!r:a",
      eventId,
      recording: { url: "mxc://a/r", filename: "r.ogg" },
      language: "en",
      engine: "openai",
      requestedAt: T0,
    });
    const store = memoryStore([
      recording("$slow"),
      recording("$quick"),
      { kind: "remove_from_livekit", roomId: "!r:a", userId: "@charlie:a", only: { livekitRoom: "lk", identity: "charlie" }, reason: "kicked" },
    ]);
    const ran: string[] = [];
    const effects = createCallEffects({
      store,
      homeserver: { sendNotice: async () => ({ event_id: "$n" }), sendDelayedEvent: async () => false },
      livekit,
      transcription: {
        run: async (effect) => {
          if (effect.kind === "recording_transcription" && effect.eventId === "$slow") await hung;
          ran.push(effect.kind === "recording_transcription" ? effect.eventId : effect.kind);
        },
      },
      botUserId: "@visio:ministry-a.test",
      log: createLogger("error"),
      now: () => clock,
    });
    const drained = effects.drain();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(livekit.removed, [{ room: "lk", identity: "charlie" }]);
    assert.deepEqual(ran, ["$quick"]);
    release();
    await drained;
    assert.deepEqual(ran, ["$quick", "$slow"]);
  });

  it("after a failed notice, that room's later notices wait and then go in order; its removals do not wait", async () => {
    livekit.connect("lk", "charlie");
    let homeserverDown = true;
    const store = memoryStore([
      notice("!r:a", "call started"),
      notice("!r:a", "call ended"),
      { kind: "remove_from_livekit", roomId: "!r:a", userId: "@charlie:a", only: { livekitRoom: "lk", identity: "charlie" }, reason: "kicked" },
    ]);
    const effects = runner(store, () => (homeserverDown ? Promise.reject(new Error("homeserver unreachable")) : Promise.resolve()));
    await effects.drain();
    assert.deepEqual(livekit.removed, [{ room: "lk", identity: "charlie" }], "the kick went out");
    assert.deepEqual(sent, []);
    assert.deepEqual(
      store.rows.map((r) => [r.attempts, r.notBefore]),
      [
        [1, T0 + 1000],
        [0, T0 + 1000],
        [1, 0],
      ],
      "the second notice was not tried before the first, and waits as long",
    );
    homeserverDown = false;
    await effects.drain();
    assert.deepEqual(sent, [], "nothing is retried before its time");
    clock = T0 + 1000;
    await effects.drain();
    assert.deepEqual(sent, ["call started", "call ended"]);
  });

  it("a failing effect waits longer after each attempt, and more failing effects than a batch never keep a new one out", async () => {
    const failing = Array.from({ length: 120 }, (_, i) => notice(`!down${i}:b`, `down ${i}`));
    const store = memoryStore([...failing, notice("!up:a", "fine")]);
    const effects = runner(store, (roomId) => (roomId.endsWith(":b") ? Promise.reject(new Error("homeserver B unreachable")) : Promise.resolve()));
    await effects.drain();
    assert.deepEqual(sent, ["fine"]);
    const first = store.rows[0]!;
    assert.deepEqual([first.attempts, first.notBefore], [1, T0 + 1000]);
    for (const [attempt, delay] of [
      [2, 2000],
      [3, 4000],
    ] as const) {
      clock = first.notBefore;
      await effects.drain();
      assert.deepEqual([first.attempts, first.notBefore - clock], [attempt, delay]);
    }
  });
});
