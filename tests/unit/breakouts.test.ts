// Breakout groups in the appservice, with a homeserver double: who may start and end them, the
// request parser, the group rooms (children of the meeting, inviting their members and the
// moderator, transcribed when the meeting is), the state clients follow, the time limit.
import assert from "node:assert/strict";
import { BREAKOUTS_STATE_EVENT, TRANSCRIPTION_STATE_EVENT, type BreakoutsContent } from "../../config/wire-types.ts";
import { createBreakouts, groupTitle } from "../../appservice/src/breakouts/breakouts.ts";
import { parseBreakoutsRequest } from "../../appservice/src/breakouts/breakouts-api.ts";
import { createLogger } from "../../appservice/src/log.ts";
import type { MeetingOptions } from "../../appservice/src/meeting-rooms.ts";
import { FakeHomeserver } from "../../appservice/src/testing/fake-homeserver.ts";
import { waitUntil } from "../harness/wait.ts";
import { refusedWith } from "./support/matrix-refusal.ts";

const MEETING = "!meeting:ministry-a.test";
const BOT = "@visio:ministry-a.test";
const ALICE = "@alice:ministry-a.test";
const BOB = "@bob:ministry-b.test";
const CAROL = "@carol:ministry-a.test";
const DAVE = "@dave:ministry-b.test";
const TOKEN = { access_token: "t", token_type: "Bearer", matrix_server_name: "ministry-a.test", expires_in: 3600 };

function setup(options: { transcribed?: boolean } = {}) {
  let clock = 1_800_000_000_000;
  const homeserver = new FakeHomeserver();
  void homeserver.setState(MEETING, "m.room.power_levels", "", { users: { [BOT]: 100, [ALICE]: 50 } });
  void homeserver.setState(MEETING, "m.room.name", "", { name: "Comité budget" });
  if (options.transcribed) void homeserver.setState(MEETING, TRANSCRIPTION_STATE_EVENT, "", { active: true, language: "fr" });
  const created: { title: string; creator: string; options: MeetingOptions }[] = [];
  const transcribed: string[] = [];
  const scheduled: { work: () => void; delayMs: number; cancelled: boolean }[] = [];
  const joined = new Set([ALICE, BOB, CAROL, DAVE]);
  const breakouts = createBreakouts({
    homeserver,
    meetings: {
      create: async (title, creator, opts = {}) => {
        created.push({ title, creator, options: opts });
        return { roomId: `!group${created.length}:ministry-a.test`, alias: `#visio-g${created.length}:ministry-a.test` };
      },
    },
    transcription: { startInGroup: async (roomId) => (transcribed.push(roomId), { active: true, requested_by: ALICE, language: "fr", engine: "whisper" }) },
    hostsRoom: async (roomId) => roomId === MEETING,
    membership: async (roomId, userId) => (roomId === MEETING && joined.has(userId) ? "join" : null),
    botUserId: BOT,
    allowedServers: ["ministry-a.test", "ministry-b.test"],
    serverName: "ministry-a.test",
    log: createLogger("error"),
    now: () => clock,
    schedule: (work, delayMs) => {
      const entry = { work, delayMs, cancelled: false };
      scheduled.push(entry);
      return () => (entry.cancelled = true);
    },
  });
  const state = async () => (await homeserver.getState(MEETING, BREAKOUTS_STATE_EVENT, "")) as BreakoutsContent | null;
  return { homeserver, breakouts, created, transcribed, scheduled, state, advance: (ms: number) => (clock += ms), now: () => clock };
}

describe("breakout groups (appservice, homeserver double)", () => {
  it("reads the request: groups of user IDs and a duration for a start, nothing more for an end", () => {
    const start = parseBreakoutsRequest({ room_id: MEETING, action: "start", groups: [[ALICE, BOB], [CAROL]], duration_minutes: 10, openid_token: TOKEN });
    assert.deepEqual(start.groups, [[ALICE, BOB], [CAROL]]);
    assert.equal(start.duration_minutes, 10);
    assert.equal(parseBreakoutsRequest({ room_id: MEETING, action: "end", openid_token: TOKEN }).action, "end");
    const cases: [unknown, string][] = [
      [{ room_id: MEETING, action: "split", openid_token: TOKEN }, "M_INVALID_PARAM"],
      [{ room_id: MEETING, action: "start", groups: "alice", openid_token: TOKEN }, "M_BAD_JSON"],
      [{ room_id: MEETING, action: "start", groups: [[ALICE, BOB]], openid_token: TOKEN }, "M_INVALID_PARAM"],
      [{ room_id: MEETING, action: "start", groups: [[ALICE], []], openid_token: TOKEN }, "M_INVALID_PARAM"],
      [{ room_id: MEETING, action: "start", groups: [[ALICE], ["bob"]], openid_token: TOKEN }, "M_INVALID_PARAM"],
      [{ room_id: MEETING, action: "start", groups: [[ALICE], [BOB]], duration_minutes: 0, openid_token: TOKEN }, "M_INVALID_PARAM"],
      [{ room_id: MEETING, action: "start", groups: [[ALICE], [BOB]], duration_minutes: 241, openid_token: TOKEN }, "M_INVALID_PARAM"],
      [{ room_id: MEETING, action: "start", groups: [[ALICE], [BOB]], duration_minutes: "10", openid_token: TOKEN }, "M_BAD_JSON"],
      [{ room_id: MEETING, action: "end", groups: [[ALICE], [BOB]], openid_token: TOKEN }, "M_INVALID_PARAM"],
      [{ room_id: MEETING, action: "start", groups: [[ALICE], [BOB]], openid_token: TOKEN, extra: 1 }, "M_BAD_JSON"],
    ];
    for (const [body, errcode] of cases) assert.throws(() => parseBreakoutsRequest(body), refusedWith(errcode), JSON.stringify(body));
  });

  it("a moderator starts them: one room per group, child of the meeting, inviting its members and the moderator; the state says who goes where and until when", async () => {
    const s = setup();
    const state = await s.breakouts.start({ roomId: MEETING, userId: ALICE, groups: [[ALICE, BOB], [CAROL, DAVE]], durationMinutes: 10 });
    assert.deepEqual(
      s.created.map((c) => [c.title, c.creator, c.options]),
      [
        ["Comité budget · Groupe 1", ALICE, { invite: [ALICE, BOB], parent: MEETING }],
        ["Comité budget · Groupe 2", ALICE, { invite: [CAROL, DAVE], parent: MEETING }],
      ],
    );
    assert.deepEqual(await s.homeserver.getState(MEETING, "m.space.child", "!group1:ministry-a.test"), { via: ["ministry-a.test"], order: "000" });
    assert.deepEqual(await s.state(), state);
    assert.equal(state.active, true);
    assert.equal(state.started_by, ALICE);
    assert.equal(state.ends_at, s.now() + 10 * 60_000);
    assert.deepEqual(state.groups.map((g) => [g.room_id, g.members]), [
      ["!group1:ministry-a.test", [ALICE, BOB]],
      ["!group2:ministry-a.test", [CAROL, DAVE]],
    ]);
    assert.deepEqual(s.transcribed, [], "the meeting is not transcribed");
    await assert.rejects(s.breakouts.start({ roomId: MEETING, userId: ALICE, groups: [[ALICE], [BOB]] }), refusedWith("ORG.VISIO.BREAKOUTS_ACTIVE"));
    const ended = await s.breakouts.end(MEETING, ALICE);
    assert.equal(ended.active, false);
    assert.deepEqual((await s.state())?.active, false);
    await assert.rejects(s.breakouts.end(MEETING, ALICE), refusedWith("ORG.VISIO.BREAKOUTS_INACTIVE"));
    s.breakouts.stop();
  });

  it("refuses members below moderator, people not in the meeting, anyone twice, other servers and rooms it does not host", async () => {
    const s = setup();
    await assert.rejects(s.breakouts.start({ roomId: MEETING, userId: BOB, groups: [[ALICE], [BOB]] }), refusedWith("M_FORBIDDEN", /power level 50/));
    await assert.rejects(s.breakouts.end(MEETING, CAROL), refusedWith("M_FORBIDDEN", /power level 50/));
    await assert.rejects(s.breakouts.start({ roomId: MEETING, userId: ALICE, groups: [[ALICE], ["@eve:ministry-a.test"]] }), refusedWith("M_INVALID_PARAM", /not a member/));
    await assert.rejects(s.breakouts.start({ roomId: MEETING, userId: ALICE, groups: [[ALICE, BOB], [BOB]] }), refusedWith("M_INVALID_PARAM", /more than one group/));
    await assert.rejects(s.breakouts.start({ roomId: MEETING, userId: ALICE, groups: [[BOT], [BOB]] }), refusedWith("M_INVALID_PARAM"));
    await assert.rejects(s.breakouts.start({ roomId: MEETING, userId: "@mallory:evil.test", groups: [[ALICE], [BOB]] }), refusedWith("M_FORBIDDEN", /allowlist/));
    await assert.rejects(s.breakouts.start({ roomId: "!other:ministry-b.test", userId: ALICE, groups: [[ALICE], [BOB]] }), refusedWith("M_NOT_FOUND"));
    assert.deepEqual(s.created, [], "no room for a refusal");
    assert.equal(await s.state(), null);
  });

  it("a transcribed meeting's groups are transcribed too, in its language", async () => {
    const s = setup({ transcribed: true });
    await s.breakouts.start({ roomId: MEETING, userId: ALICE, groups: [[ALICE, BOB], [CAROL, DAVE]] });
    assert.deepEqual(s.transcribed, ["!group1:ministry-a.test", "!group2:ministry-a.test"]);
    assert.equal((await s.state())?.ends_at, undefined, "no time limit asked: until a moderator ends them");
    s.breakouts.stop();
  });

  it("ends them at their time limit, unless a moderator ended them first", async () => {
    const s = setup();
    await s.breakouts.start({ roomId: MEETING, userId: ALICE, groups: [[ALICE], [BOB]], durationMinutes: 1 });
    const [timer] = s.scheduled;
    assert.equal(timer?.delayMs, 60_000);
    s.advance(60_000);
    timer?.work();
    await waitUntil("the groups ended at their time limit", async () => (await s.state())?.active === false, { timeoutMs: 1000, intervalMs: 10 });
    assert.equal((await s.state())?.ended_at, s.now());

    await s.breakouts.start({ roomId: MEETING, userId: ALICE, groups: [[ALICE], [BOB]], durationMinutes: 5 });
    await s.breakouts.end(MEETING, ALICE);
    assert.equal(s.scheduled[1]?.cancelled, true, "the end cancels the timer");
  });

  it("names a group after its meeting, within a room name's length", () => {
    assert.equal(groupTitle("Point d'étape", 0), "Point d'étape · Groupe 1");
    assert.equal(groupTitle("x".repeat(100), 11).length, 100);
  });
});
