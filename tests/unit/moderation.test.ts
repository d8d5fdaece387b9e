// Moderation in the appservice, with a homeserver double and a LiveKit room API double: the request
// parser, who may act (power level 50, as this homeserver sees the room), what each action asks of
// LiveKit, and the tokens the focus refuses afterwards.
import assert from "node:assert/strict";
import { ParticipantInfo, ServerError, TrackInfo, TrackSource, TrackType } from "livekit-server-sdk";
import { MATRIX_USER_ATTRIBUTE } from "../../config/wire-types.ts";
import { CALL_SLOT, liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { createLogger } from "../../appservice/src/log.ts";
import { createCallExclusions } from "../../appservice/src/moderation/call-exclusions.ts";
import { createModeration, ENDED_EXCLUSION_MS, REMOVED_EXCLUSION_MS, type ModerationLiveKit } from "../../appservice/src/moderation/moderation.ts";
import { parseModerationRequest } from "../../appservice/src/moderation/moderation-api.ts";
import { FakeHomeserver } from "../../appservice/src/testing/fake-homeserver.ts";
import { refusedWith } from "./support/matrix-refusal.ts";

const MEETING = "!meeting:ministry-a.test";
const BOT = "@visio:ministry-b.test";
const ALICE = "@alice:ministry-a.test";
const BRUNO = "@bruno:ministry-b.test";
const CLARA = "@clara:ministry-b.test";
const ADMIN = "@admin:ministry-a.test";
const TOKEN = { access_token: "t", token_type: "Bearer", matrix_server_name: "ministry-a.test", expires_in: 3600 };
const LK_ROOM = liveKitRoomAlias(MEETING, CALL_SLOT);

const notFound = (): ServerError => new ServerError("not_found", "does not exist", 404, "not_found");

/** Participants with their tracks; a log of what was asked. */
class FakeModerationLiveKit implements ModerationLiveKit {
  readonly rooms = new Map<string, ParticipantInfo[]>();
  readonly muted: { identity: string; sid: string }[] = [];
  readonly removed: string[] = [];
  readonly deleted: string[] = [];

  join(identity: string, userId: string | null, tracks: { sid: string; kind: "mic" | "camera" | "screen_audio"; muted?: boolean }[] = []): void {
    const list = this.rooms.get(LK_ROOM) ?? [];
    list.push(
      new ParticipantInfo({
        identity,
        attributes: userId === null ? {} : { [MATRIX_USER_ATTRIBUTE]: userId },
        tracks: tracks.map(
          (t) =>
            new TrackInfo({
              sid: t.sid,
              type: t.kind === "camera" ? TrackType.VIDEO : TrackType.AUDIO,
              source: t.kind === "mic" ? TrackSource.MICROPHONE : t.kind === "camera" ? TrackSource.CAMERA : TrackSource.SCREEN_SHARE_AUDIO,
              muted: t.muted ?? false,
            }),
        ),
      }),
    );
    this.rooms.set(LK_ROOM, list);
  }

  async listParticipants(room: string): Promise<ParticipantInfo[]> {
    const list = this.rooms.get(room);
    if (!list) throw notFound();
    return [...list];
  }

  async mutePublishedTrack(room: string, identity: string, trackSid: string, muted: boolean): Promise<TrackInfo> {
    const track = this.rooms.get(room)?.find((p) => p.identity === identity)?.tracks.find((t) => t.sid === trackSid);
    if (!track) throw notFound();
    track.muted = muted;
    this.muted.push({ identity, sid: trackSid });
    return track;
  }

  async removeParticipant(room: string, identity: string): Promise<void> {
    const list = this.rooms.get(room);
    if (!list?.some((p) => p.identity === identity)) throw notFound();
    this.rooms.set(room, list.filter((p) => p.identity !== identity));
    this.removed.push(identity);
  }

  async deleteRoom(room: string): Promise<void> {
    if (!this.rooms.delete(room)) throw notFound();
    this.deleted.push(room);
  }
}

function setup(options: { hosts?: boolean; botJoined?: boolean; language?: string } = {}) {
  let clock = 1_800_000_000_000;
  const homeserver = new FakeHomeserver();
  void homeserver.setState(MEETING, "m.room.power_levels", "", { users: { [ADMIN]: 100, [ALICE]: 50, [BOT]: 100 } });
  const livekit = new FakeModerationLiveKit();
  livekit.join("alice-id", ALICE, [{ sid: "TR_alice_mic", kind: "mic" }]);
  livekit.join("bruno-id", BRUNO, [
    { sid: "TR_bruno_mic", kind: "mic" },
    { sid: "TR_bruno_cam", kind: "camera" },
    { sid: "TR_bruno_screen_audio", kind: "screen_audio" },
  ]);
  livekit.join("clara-id", CLARA, [{ sid: "TR_clara_mic", kind: "mic", muted: true }]);
  livekit.join("agent", null);
  const joined = new Set([ALICE, BRUNO, CLARA, ADMIN, ...(options.botJoined === false ? [] : [BOT])]);
  const exclusions = createCallExclusions(() => clock);
  const moderation = createModeration({
    homeserver,
    livekit,
    exclusions,
    membership: async (roomId, userId) => (roomId === MEETING && joined.has(userId) ? "join" : null),
    callerMembership: async (roomId, userId) => (roomId === MEETING && joined.has(userId) ? "join" : null),
    hostsRoom: async () => options.hosts ?? false,
    allowedServers: ["ministry-a.test", "ministry-b.test"],
    botUserId: BOT,
    language: options.language ?? "fr",
    log: createLogger("error"),
    now: () => clock,
  });
  return { homeserver, livekit, exclusions, moderation, advance: (ms: number) => (clock += ms) };
}

describe("moderation (appservice, homeserver and LiveKit doubles)", () => {
  it("reads the request: a target for mute and remove, none for the actions on everyone", () => {
    assert.equal(parseModerationRequest({ room_id: MEETING, action: "mute", target: BRUNO, openid_token: TOKEN }).target, BRUNO);
    assert.equal(parseModerationRequest({ room_id: MEETING, action: "end", openid_token: TOKEN }).action, "end");
    const cases: [unknown, string][] = [
      [{ room_id: MEETING, action: "ban", openid_token: TOKEN }, "M_INVALID_PARAM"],
      [{ room_id: MEETING, action: 1, openid_token: TOKEN }, "M_BAD_JSON"],
      [{ room_id: MEETING, action: "mute", openid_token: TOKEN }, "M_BAD_JSON"],
      [{ room_id: MEETING, action: "remove", target: 42, openid_token: TOKEN }, "M_BAD_JSON"],
      [{ room_id: MEETING, action: "remove", target: "", openid_token: TOKEN }, "M_INVALID_PARAM"],
      [{ room_id: MEETING, action: "mute", target: "x".repeat(256), openid_token: TOKEN }, "M_INVALID_PARAM"],
      [{ room_id: MEETING, action: "mute_all", target: BRUNO, openid_token: TOKEN }, "M_INVALID_PARAM"],
      [{ room_id: "meeting", action: "end", openid_token: TOKEN }, "M_INVALID_PARAM"],
      [{ room_id: MEETING, action: "end", openid_token: TOKEN, extra: 1 }, "M_BAD_JSON"],
      [{ room_id: MEETING, action: "end" }, "M_BAD_JSON"],
    ];
    for (const [body, errcode] of cases) assert.throws(() => parseModerationRequest(body), refusedWith(errcode), JSON.stringify(body));
  });

  it("refuses non-moderators (403), non-members (403), other servers (403) and rooms its bot is not in (404)", async () => {
    const { moderation, livekit } = setup();
    await assert.rejects(moderation.act({ room_id: MEETING, action: "mute", target: ALICE }, BRUNO), refusedWith("M_FORBIDDEN", /power level 50/));
    await assert.rejects(moderation.act({ room_id: MEETING, action: "end" }, "@eve:ministry-a.test"), refusedWith("M_FORBIDDEN", /not joined/));
    await assert.rejects(moderation.act({ room_id: MEETING, action: "end" }, "@eve:elsewhere.test"), refusedWith("M_FORBIDDEN", /allowlist/));
    await assert.rejects(moderation.act({ room_id: "!other:ministry-a.test", action: "end" }, ALICE), refusedWith("M_NOT_FOUND"));
    await assert.rejects(setup({ botJoined: false }).moderation.act({ room_id: MEETING, action: "end" }, ALICE), refusedWith("M_NOT_FOUND"));
    assert.deepEqual([livekit.muted, livekit.removed, livekit.deleted], [[], [], []]);
  });

  it("mutes one participant's microphone, found by Matrix user ID or LiveKit identity, and nothing else", async () => {
    const { moderation, livekit } = setup();
    assert.deepEqual(await moderation.act({ room_id: MEETING, action: "mute", target: BRUNO }, ALICE), { affected: 1 });
    assert.deepEqual(livekit.muted, [{ identity: "bruno-id", sid: "TR_bruno_mic" }]);
    // Already muted: nothing more to ask.
    assert.deepEqual(await moderation.act({ room_id: MEETING, action: "mute", target: "bruno-id" }, ALICE), { affected: 0 });
    await assert.rejects(moderation.act({ room_id: MEETING, action: "mute", target: "@nobody:ministry-b.test" }, ALICE), refusedWith("M_NOT_FOUND"));
  });

  it("mutes everyone but the moderator", async () => {
    const { moderation, livekit } = setup();
    assert.deepEqual(await moderation.act({ room_id: MEETING, action: "mute_all" }, ALICE), { affected: 1 });
    assert.deepEqual(livekit.muted, [{ identity: "bruno-id", sid: "TR_bruno_mic" }]);
  });

  it("removes a participant, whose focus token is refused for two minutes; never one of the moderator's power level or more", async () => {
    const { moderation, livekit, exclusions, advance } = setup();
    await assert.rejects(moderation.act({ room_id: MEETING, action: "remove", target: "admin-id" }, ALICE), refusedWith("M_NOT_FOUND"));
    await assert.rejects(moderation.act({ room_id: MEETING, action: "remove", target: ADMIN }, ALICE), refusedWith("M_FORBIDDEN", /lower power level/));
    livekit.join("admin-id", ADMIN);
    await assert.rejects(moderation.act({ room_id: MEETING, action: "remove", target: "admin-id" }, ALICE), refusedWith("M_FORBIDDEN", /lower power level/));
    assert.equal(exclusions.refuses(MEETING, ADMIN), false);
    assert.deepEqual(await moderation.act({ room_id: MEETING, action: "remove", target: BRUNO }, ALICE), { affected: 1 });
    assert.deepEqual(livekit.removed, ["bruno-id"]);
    assert.equal(exclusions.refuses(MEETING, BRUNO), true);
    assert.equal(exclusions.refuses("!other:ministry-a.test", BRUNO), false);
    assert.equal(exclusions.refuses(MEETING, CLARA), false);
    advance(REMOVED_EXCLUSION_MS + 1);
    assert.equal(exclusions.refuses(MEETING, BRUNO), false);
  });

  it("refuses a removed Matrix user on this focus too when none of their connections is on this SFU (a subscriber of the others' media)", async () => {
    const { moderation, livekit, exclusions } = setup();
    const dora = "@dora:ministry-a.test";
    assert.deepEqual(await moderation.act({ room_id: MEETING, action: "remove", target: dora }, ALICE), { affected: 0 });
    assert.equal(exclusions.refuses(MEETING, dora), true);
    assert.deepEqual(livekit.removed, []);
  });

  it("ends the call: the LiveKit room deleted, tokens refused for a while, the notice posted by the hosting ministry only", async () => {
    const hosting = setup({ hosts: true });
    assert.deepEqual(await hosting.moderation.act({ room_id: MEETING, action: "end" }, ALICE), { affected: 4 });
    assert.deepEqual(hosting.livekit.deleted, [LK_ROOM]);
    assert.equal(hosting.exclusions.refuses(MEETING, ALICE), true);
    assert.deepEqual(hosting.homeserver.messages.map((m) => m.content), [{ msgtype: "m.notice", body: "L'animateur a mis fin à l'appel" }]);
    hosting.advance(ENDED_EXCLUSION_MS + 1);
    assert.equal(hosting.exclusions.refuses(MEETING, ALICE), false);
    // Nothing left on this SFU: the end is still answered (another ministry had the participants).
    assert.deepEqual(await hosting.moderation.act({ room_id: MEETING, action: "end" }, ALICE), { affected: 0 });

    const other = setup({ hosts: false, language: "en" });
    await other.moderation.act({ room_id: MEETING, action: "end" }, ALICE);
    assert.deepEqual(other.homeserver.messages, []);
    const english = setup({ hosts: true, language: "en" });
    await english.moderation.act({ room_id: MEETING, action: "end" }, ALICE);
    assert.equal(english.homeserver.messages[0]?.content.body, "The moderator ended the call");
  });
});
