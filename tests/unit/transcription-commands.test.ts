// The transcription control API's request parsers, the `!transcribe` chat command's parser, and the
// command's replies (through a control double and a homeserver double), in the server's language.
import assert from "node:assert/strict";
import { MatrixError } from "../../appservice/src/errors.ts";
import { createLogger } from "../../appservice/src/log.ts";
import { FakeHomeserver } from "../../appservice/src/testing/fake-homeserver.ts";
import { commandTexts } from "../../appservice/src/transcription/command-texts.ts";
import { createTranscriptionCommands } from "../../appservice/src/transcription/transcription-commands.ts";
import { parseRecordingRequest, parseTranscribeCommand, parseTranscriptionRequest } from "../../appservice/src/transcription/transcription-requests.ts";
import type { RoomEvent } from "../../config/wire-types.ts";
import { refusedWith } from "./support/matrix-refusal.ts";

const ROOM = "!meeting:ministry-a.test";
const FOLLOWED = "!elsewhere:ministry-b.test";
const BOT = "@visio:ministry-a.test";
const BRIDGE = "@visio-transcriber:ministry-a.test";
const ALICE = "@alice:ministry-a.test";
const BOB = "@bob:ministry-b.test";
const T0 = 1_700_000_000_000;

describe("transcription requests", () => {
  const token = { access_token: "tok", token_type: "Bearer", matrix_server_name: "ministry-b.test", expires_in: 3600 };

  it("accepts a start with a language and a stop", () => {
    assert.deepEqual(parseTranscriptionRequest({ room_id: ROOM, action: "start", language: "fr-FR", openid_token: token }), {
      room_id: ROOM,
      action: "start",
      language: "fr-FR",
      openid_token: token,
    });
    assert.deepEqual(parseTranscriptionRequest({ room_id: ROOM, action: "stop", openid_token: token }), { room_id: ROOM, action: "stop", openid_token: token });
  });

  it("names what is wrong", () => {
    const bad: [unknown, string, RegExp][] = [
      [[], "M_BAD_JSON", /JSON object/],
      [{ room_id: ROOM, openid_token: token }, "M_BAD_JSON", /'action'/],
      [{ room_id: ROOM, action: "pause", openid_token: token }, "M_INVALID_PARAM", /'action'/],
      [{ room_id: "#alias:a.test", action: "start", openid_token: token }, "M_INVALID_PARAM", /room ID/],
      [{ room_id: ROOM, action: "start", language: "français!", openid_token: token }, "M_INVALID_PARAM", /language/],
      [{ room_id: ROOM, action: "start", language: 7, openid_token: token }, "M_BAD_JSON", /language/],
      [{ room_id: ROOM, action: "stop", language: "en", openid_token: token }, "M_INVALID_PARAM", /only for/],
      [{ room_id: ROOM, action: "start" }, "M_BAD_JSON", /openid_token/],
      [{ room_id: ROOM, action: "start", openid_token: token, extra: 1 }, "M_BAD_JSON", /Unknown field 'extra'/],
    ];
    for (const [body, errcode, message] of bad) {
      assert.throws(() => parseTranscriptionRequest(body), refusedWith(errcode, message), JSON.stringify(body));
    }
  });

  it("accepts a recording request and names what is wrong in one", () => {
    assert.deepEqual(parseRecordingRequest({ room_id: ROOM, event_id: "$rec", language: "fr", openid_token: token }), {
      room_id: ROOM,
      event_id: "$rec",
      language: "fr",
      openid_token: token,
    });
    const bad: [unknown, string, RegExp][] = [
      [{ room_id: ROOM, openid_token: token }, "M_BAD_JSON", /'event_id'/],
      [{ room_id: ROOM, event_id: "rec", openid_token: token }, "M_INVALID_PARAM", /event ID/],
      [{ room_id: ROOM, event_id: `$${"x".repeat(300)}`, openid_token: token }, "M_INVALID_PARAM", /event ID/],
      [{ room_id: ROOM, event_id: "$rec", language: "??", openid_token: token }, "M_INVALID_PARAM", /language/],
      [{ room_id: ROOM, event_id: "$rec", openid_token: token, action: "start" }, "M_BAD_JSON", /Unknown field 'action'/],
    ];
    for (const [body, errcode, message] of bad) {
      assert.throws(() => parseRecordingRequest(body), refusedWith(errcode, message), JSON.stringify(body));
    }
  });

  it("reads the chat command in a reply to a recording, with or without the quoted fallback", () => {
    assert.deepEqual(parseTranscribeCommand("!transcribe", "$rec"), { action: "recording", eventId: "$rec" });
    assert.deepEqual(parseTranscribeCommand("!transcribe fr", "$rec"), { action: "recording", eventId: "$rec", language: "fr" });
    assert.deepEqual(parseTranscribeCommand("> <@bob:ministry-b.test> sent an audio file.\n\n!transcribe", "$rec"), { action: "recording", eventId: "$rec" });
    // start and stop keep their meaning in a reply.
    assert.deepEqual(parseTranscribeCommand("!transcribe stop", "$rec"), { action: "stop" });
    assert.throws(() => parseTranscribeCommand("!transcribe fr now", "$rec"), refusedWith("M_INVALID_PARAM", /Usage/));
    assert.throws(() => parseTranscribeCommand("!transcribe ??", "$rec"), refusedWith("M_INVALID_PARAM", /language/));
  });

  it("reads the chat command", () => {
    assert.deepEqual(parseTranscribeCommand("!transcribe start"), { action: "start" });
    assert.deepEqual(parseTranscribeCommand("  !transcribe   start fr "), { action: "start", language: "fr" });
    assert.deepEqual(parseTranscribeCommand("!transcribe stop"), { action: "stop" });
    assert.equal(parseTranscribeCommand("hello !transcribe start"), null);
    assert.equal(parseTranscribeCommand("!transcribed"), null);
    for (const wrong of ["!transcribe", "!transcribe pause", "!transcribe stop now", "!transcribe start en fr"]) {
      assert.throws(() => parseTranscribeCommand(wrong), refusedWith("M_INVALID_PARAM", /Usage/), wrong);
    }
    assert.throws(() => parseTranscribeCommand("!transcribe start 12"), refusedWith("M_INVALID_PARAM", /language/));
  });
});

describe("transcription chat command", () => {
  let n = 0;
  const message = (sender: string, body: string, extra: Record<string, unknown> = {}, roomId = ROOM): RoomEvent => ({
    event_id: `$cmd${++n}`,
    room_id: roomId,
    type: "m.room.message",
    sender,
    origin_server_ts: T0,
    content: { msgtype: "m.text", body, ...extra },
  });

  it("runs commands through the control and answers refusals with a reply notice", async () => {
    const homeserver = new FakeHomeserver();
    const calls: unknown[] = [];
    const commands = createTranscriptionCommands({
      control: {
        control: async (request) => {
          calls.push(request);
          if (request.userId === BOB) throw new MatrixError("M_FORBIDDEN", "The user is not joined to the room");
          return { active: true, requested_by: request.userId, language: "en", engine: "pocketsphinx" };
        },
        transcribeRecording: async (request) => {
          calls.push(request);
          if (request.eventId === "$text") throw new MatrixError("M_INVALID_PARAM", "This message is not an audio or video recording");
          return { event_id: request.eventId, filename: "r.ogg", language: request.language ?? "en" };
        },
        refusedByWorker: async (roomId, root) => (calls.push({ refused: roomId, root }), true),
        startInGroup: async () => assert.fail("no breakout groups here"),
      },
      homeserver,
      hostsRoom: async (roomId) => roomId === ROOM,
      ownUsers: [BOT, BRIDGE],
      bridgeUserId: BRIDGE,
      language: "en",
      log: createLogger("error"),
    });
    const bobs = message(BOB, "!transcribe stop");
    const bad = message(ALICE, "!transcribe sometimes");
    const reply = (to: string) => ({ "m.relates_to": { "m.in_reply_to": { event_id: to } } });
    const onText = message(ALICE, "!transcribe", reply("$text"));
    await commands.handle([
      message(ALICE, "!transcribe start fr"),
      bobs,
      bad,
      message(ALICE, "just chatting"),
      message(BOT, "!transcribe stop"),
      message(ALICE, "!transcribe stop", { msgtype: "m.notice" }),
      message(ALICE, "!transcribe stop", { "m.relates_to": { rel_type: "m.replace", event_id: "$x" } }),
      message(ALICE, "!transcribe stop", {}, FOLLOWED),
      message(BOB, "> <@alice:ministry-a.test> sent an audio file.\n\n!transcribe fr", reply("$rec")),
      onText,
      // The bridge's refusal stops its session; the same notice from anyone else, or in a room only followed, does not.
      message(BRIDGE, "refused", { msgtype: "m.notice", "org.visio.transcription.worker": { state: "refused" }, "m.relates_to": { rel_type: "m.thread", event_id: "$root" } }),
      message(ALICE, "refused", { msgtype: "m.notice", "org.visio.transcription.worker": { state: "refused" }, "m.relates_to": { rel_type: "m.thread", event_id: "$root" } }),
      message(BRIDGE, "refused", { msgtype: "m.notice", "org.visio.transcription.worker": { state: "refused" }, "m.relates_to": { rel_type: "m.thread", event_id: "$r2" } }, FOLLOWED),
    ]);
    assert.deepEqual(calls, [
      { refused: ROOM, root: "$root" },
      { roomId: ROOM, userId: ALICE, action: "start", language: "fr" },
      { roomId: ROOM, userId: BOB, action: "stop" },
      { roomId: ROOM, userId: BOB, eventId: "$rec", language: "fr" },
      { roomId: ROOM, userId: ALICE, eventId: "$text" },
    ]);
    assert.deepEqual(
      homeserver.messages.map((m) => [m.content.body, (m.content["m.relates_to"] as { "m.in_reply_to": { event_id: string } })["m.in_reply_to"].event_id]),
      [
        ["Transcription not stopped: The user is not joined to the room", bobs.event_id],
        [`Transcription not changed: ${commandTexts("en").usage}`, bad.event_id],
        ["Recording not transcribed: This message is not an audio or video recording", onText.event_id],
      ],
    );
    assert.ok(homeserver.messages.every((m) => m.content.msgtype === "m.notice"));
  });

  it("replies in the server's language, the reason in plain words", async () => {
    const homeserver = new FakeHomeserver();
    const commands = createTranscriptionCommands({
      control: {
        control: async (request) => {
          if (request.action === "stop") throw new MatrixError("ORG.VISIO.TRANSCRIPTION_INACTIVE", "This meeting is not being transcribed", undefined, { reason: "not_transcribed" });
          throw new MatrixError("M_FORBIDDEN", "Transcription needs power level 50 in this room (the user has 0)", undefined, { reason: "power_level", params: { required: 50, level: 0 } });
        },
        transcribeRecording: async () => {
          throw new Error("the homeserver is down");
        },
        refusedByWorker: async () => true,
        startInGroup: async () => assert.fail("no breakout groups here"),
      },
      homeserver,
      hostsRoom: async () => true,
      ownUsers: [BOT, BRIDGE],
      bridgeUserId: BRIDGE,
      language: "fr-FR",
      log: createLogger("error"),
    });
    const reply = (to: string) => ({ "m.relates_to": { "m.in_reply_to": { event_id: to } } });
    await commands.handle([
      message(ALICE, "!transcribe stop"),
      message(ALICE, "!transcribe start"),
      message(ALICE, "!transcribe aide"),
      message(ALICE, "!transcribe start xx_yy"),
      message(ALICE, "!transcribe", reply("$rec")),
    ]);
    assert.deepEqual(
      homeserver.messages.map((m) => m.content.body),
      [
        "Transcription non arrêtée : cette réunion n'est pas transcrite",
        "Transcription non démarrée : il faut le niveau de droits 50 dans cette réunion (vous avez 0)",
        `Transcription inchangée : ${commandTexts("fr").usage}`,
        "Transcription inchangée : « xx_yy » n'est pas une langue (par exemple fr, en ou fr-FR)",
        "Enregistrement non transcrit : le service a échoué, réessayez",
      ],
    );
    assert.match(commandTexts("fr").usage, /!transcribe start \[langue\]/);
  });
});
