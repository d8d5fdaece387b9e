// The LiveKit side of transcription against a LiveKit double: when a transcriber is dispatched,
// dispatched again, told to stop, removed, and its dispatches withdrawn.
import assert from "node:assert/strict";
import { DataPacket_Kind, ParticipantInfo_Kind } from "@livekit/protocol";
import { EffectPendingError } from "../../appservice/src/calls/call-effects.ts";
import { createLogger } from "../../appservice/src/log.ts";
import { FakeTranscriberLiveKit } from "../../appservice/src/transcription/testing/fake-transcriber-livekit.ts";
import {
  createTranscriberDispatch,
  isTranscriberParticipant,
  JOB_TAKE_WAIT_MS,
  STOP_GRACE_MS,
  type TranscriberDispatch,
} from "../../appservice/src/transcription/transcriber-dispatch.ts";
import { TRANSCRIBER_AGENT_NAME, TRANSCRIPTION_CONTROL_TOPIC, type TranscriptionJobMetadata } from "../../config/wire-types.ts";

const ROOM = "lk-room";
const T0 = 1_700_000_000_000;
const META: TranscriptionJobMetadata = { room_id: "!m:a.test", language: "en", engine: "pocketsphinx", started_at: T0, thread_root: "$root" };

describe("transcriber dispatch (LiveKit double)", () => {
  let livekit: FakeTranscriberLiveKit;
  let dispatch: TranscriberDispatch;
  let clock: number;

  const pending = (promise: Promise<unknown>): Promise<void> => assert.rejects(promise, EffectPendingError);

  beforeEach(() => {
    clock = T0 + 1000;
    livekit = new FakeTranscriberLiveKit();
    livekit.now = () => clock;
    dispatch = createTranscriberDispatch({ dispatches: livekit, rooms: livekit, log: createLogger("error"), now: () => clock });
  });

  it("recognises the bridge by its agent kind or its identity", () => {
    assert.ok(isTranscriberParticipant({ kind: ParticipantInfo_Kind.AGENT, identity: "anything" }));
    assert.ok(isTranscriberParticipant({ kind: ParticipantInfo_Kind.STANDARD, identity: `${TRANSCRIBER_AGENT_NAME}-AJ_1` }));
    assert.ok(!isTranscriberParticipant({ kind: ParticipantInfo_Kind.STANDARD, identity: "Zk3aB…hash" }));
  });

  it("dispatches with the session's metadata, waits for a worker, and is done once one took the job", async () => {
    livekit.connect(ROOM, "alice");
    await pending(dispatch.ensure(ROOM, META, T0));
    const [made] = livekit.ofAgent(ROOM, TRANSCRIBER_AGENT_NAME);
    assert.ok(made);
    assert.deepEqual(JSON.parse(made.metadata), META);

    // Checked again before a worker could take it: no second dispatch.
    clock += JOB_TAKE_WAIT_MS - 1;
    await pending(dispatch.ensure(ROOM, META, T0));
    assert.equal(livekit.ofAgent(ROOM, TRANSCRIBER_AGENT_NAME).length, 1);

    livekit.takeJob(ROOM, made.id);
    assert.equal(await dispatch.ensure(ROOM, META, T0), "taken");
    livekit.connect(ROOM, `${TRANSCRIBER_AGENT_NAME}-AJ_9`, ParticipantInfo_Kind.AGENT);
    assert.equal(await dispatch.ensure(ROOM, META, T0), "present");
    assert.equal(livekit.ofAgent(ROOM, TRANSCRIBER_AGENT_NAME).length, 1);
  });

  it("makes a dispatch that no worker took again", async () => {
    livekit.connect(ROOM, "alice");
    await pending(dispatch.ensure(ROOM, META, T0));
    const first = livekit.ofAgent(ROOM, TRANSCRIBER_AGENT_NAME)[0]?.id;
    clock += JOB_TAKE_WAIT_MS;
    await pending(dispatch.ensure(ROOM, META, T0));
    const now = livekit.ofAgent(ROOM, TRANSCRIBER_AGENT_NAME);
    assert.equal(now.length, 1);
    assert.notEqual(now[0]?.id, first);
    assert.deepEqual(livekit.deleted, [first]);
  });

  it("replaces the dispatch of a transcriber that left (dispatches before `since` are not trusted)", async () => {
    livekit.connect(ROOM, "alice");
    await pending(dispatch.ensure(ROOM, META, T0));
    const old = livekit.ofAgent(ROOM, TRANSCRIBER_AGENT_NAME)[0];
    assert.ok(old);
    livekit.takeJob(ROOM, old.id);
    clock += 60_000;
    const leftAt = clock;
    await pending(dispatch.ensure(ROOM, META, leftAt));
    const now = livekit.ofAgent(ROOM, TRANSCRIBER_AGENT_NAME);
    assert.equal(now.length, 1);
    assert.notEqual(now[0]?.id, old.id);
  });

  it("a job whose worker shut down is no transcriber on its way: dispatched again, even for a dispatch made just before `since`", async () => {
    // The race seen with real servers: dispatched, taken, and the worker shut down, all within the
    // second that the leave webhook's time (whole seconds) names.
    livekit.connect(ROOM, "alice");
    await pending(dispatch.ensure(ROOM, META, T0));
    const [first] = livekit.ofAgent(ROOM, TRANSCRIBER_AGENT_NAME);
    assert.ok(first);
    livekit.takeJob(ROOM, first.id);
    livekit.endJobs(ROOM, first.id);
    const leftAt = T0;
    clock += JOB_TAKE_WAIT_MS;
    await pending(dispatch.ensure(ROOM, META, leftAt));
    const [second] = livekit.ofAgent(ROOM, TRANSCRIBER_AGENT_NAME);
    assert.ok(second && second.id !== first.id, "a new dispatch replaces the one whose job ended");
  });

  it("dispatches nothing where nobody but a transcriber is, or the room is gone", async () => {
    assert.equal(await dispatch.ensure(ROOM, META, T0), "no_call");
    livekit.connect(ROOM, `${TRANSCRIBER_AGENT_NAME}-AJ_1`, ParticipantInfo_Kind.AGENT);
    assert.equal(await dispatch.ensure(ROOM, META, T0), "no_call");
    assert.equal(livekit.ofAgent(ROOM, TRANSCRIBER_AGENT_NAME).length, 0);
  });

  it("one check at a time per room: a start and a first participant together make one dispatch", async () => {
    livekit.connect(ROOM, "alice");
    const results = await Promise.allSettled([dispatch.ensure(ROOM, META, T0), dispatch.ensure(ROOM, META, T0 + 500)]);
    assert.ok(results.every((r) => r.status === "rejected" && r.reason instanceof EffectPendingError));
    assert.equal(livekit.ofAgent(ROOM, TRANSCRIBER_AGENT_NAME).length, 1);
  });

  it("stop: tells the transcriber on the control topic, waits for it to leave, then withdraws the session's dispatch", async () => {
    livekit.connect(ROOM, "alice");
    await pending(dispatch.ensure(ROOM, META, T0));
    const other = await livekit.createDispatch(ROOM, TRANSCRIBER_AGENT_NAME, { metadata: JSON.stringify({ ...META, started_at: T0 + 5 }) });
    const bridge = `${TRANSCRIBER_AGENT_NAME}-AJ_1`;
    livekit.connect(ROOM, bridge, ParticipantInfo_Kind.AGENT);
    const session = { roomId: META.room_id, startedAt: META.started_at };

    await pending(dispatch.stop(ROOM, session, clock));
    assert.deepEqual(livekit.sent, [
      { room: ROOM, data: '{"action":"stop"}', kind: DataPacket_Kind.RELIABLE, options: { destinationIdentities: [bridge], topic: TRANSCRIPTION_CONTROL_TOPIC } },
    ]);
    assert.equal(livekit.ofAgent(ROOM, TRANSCRIBER_AGENT_NAME).length, 2, "nothing withdrawn while it finishes");

    livekit.disconnect(ROOM, bridge);
    await dispatch.stop(ROOM, session, clock);
    assert.deepEqual(
      livekit.ofAgent(ROOM, TRANSCRIBER_AGENT_NAME).map((d) => d.id),
      [other.id],
      "only the stopped session's dispatch is withdrawn",
    );
    assert.deepEqual(livekit.removed, []);
  });

  it("stop: removes a transcriber that did not leave within the grace period", async () => {
    livekit.connect(ROOM, "alice");
    const bridge = `${TRANSCRIBER_AGENT_NAME}-AJ_1`;
    livekit.connect(ROOM, bridge, ParticipantInfo_Kind.AGENT);
    const requestedAt = clock;
    clock += STOP_GRACE_MS;
    await dispatch.stop(ROOM, { roomId: META.room_id, startedAt: T0 }, requestedAt);
    assert.deepEqual(livekit.removed, [{ room: ROOM, identity: bridge }]);
  });

  it("stop and withdraw in a room LiveKit already closed do nothing and do not fail", async () => {
    await dispatch.stop("gone", { roomId: META.room_id, startedAt: T0 }, clock);
    assert.equal(await dispatch.withdraw("gone"), 0);
  });
});
