// The bots' notices are read from their fields and worded in the viewer's language; a notice without
// fields we know keeps the body its bot wrote.
import assert from "node:assert/strict";
import { callEndedNotice, callStartedNotice } from "../../../appservice/src/calls/call-notices.ts";
import { transcriptionStartedNotice, transcriptionStoppedNotice } from "../../../appservice/src/transcription/transcription-state.ts";
import { createI18n } from "../../src/i18n/index.ts";
import { botNoticeOf, botNoticeText } from "../../src/timeline/bot-notices.ts";
import { buildTimeline, type RawEvent } from "../../src/timeline/timeline-model.ts";

const french = createI18n(null, "fr");
const english = createI18n(null, "en");
const call = { id: "c1", roomId: "!r:a.test", startedAt: 1_700_000_000_000, endedAt: null, participantCount: 0, maxConcurrent: 0 };
const inBoth = (content: Record<string, unknown>): [string, string] => {
  const notice = botNoticeOf(content);
  assert.ok(notice, `no notice in ${JSON.stringify(content)}`);
  return [botNoticeText(notice, french.t, "fr"), botNoticeText(notice, english.t, "en")];
};

describe("bot notices in the viewer's language", () => {
  it("words the call notices of a French server in English, and of an English server in French", () => {
    const ended = { ...call, endedAt: call.startedAt + 3 * 60_000 };
    assert.deepEqual(inBoth({ ...callStartedNotice(call, "fr") }), ["Appel démarré", "Call started"]);
    assert.deepEqual(inBoth({ ...callEndedNotice(ended, ["@a:a.test", "@b:b.test"], "en") }), [
      "Appel terminé · 2 participants · 3 min",
      "Call ended · 2 participants · 3 min",
    ]);
    // Plural forms of each language, and the longer durations.
    assert.deepEqual(inBoth({ ...callEndedNotice({ ...call, endedAt: call.startedAt + 20_000 }, [], "fr") }), [
      "Appel terminé · 0 participant · < 1 min",
      "Call ended · 0 participants · < 1 min",
    ]);
    assert.deepEqual(inBoth({ ...callEndedNotice({ ...call, endedAt: call.startedAt + 65 * 60_000 }, ["@a:a.test"], "fr") }), [
      "Appel terminé · 1 participant · 1 h 05 min",
      "Call ended · 1 participant · 1 h 05 min",
    ]);
  });

  it("words the transcription notices, the workers' and the engine's", () => {
    const state = { active: false, requested_by: "@a:a.test", language: "fr", engine: "openai", started_at: 1, stopped_at: 2 };
    assert.deepEqual(inBoth(transcriptionStartedNotice({ language: "en", engine: "openai" })), ["Transcription démarrée", "Transcription started"]);
    assert.deepEqual(inBoth(transcriptionStoppedNotice(state)), ["Transcription arrêtée", "Transcription stopped"]);
    assert.deepEqual(inBoth(transcriptionStoppedNotice(state, "b.test")), [
      "Transcription arrêtée : le service de transcription de b.test ne transcrit pas la langue de la réunion.",
      "Transcription stopped: the transcription service of b.test does not transcribe the meeting's language.",
    ]);
    const worker = (fields: Record<string, unknown>) => ({ msgtype: "m.notice", body: "…", "org.visio.transcription.worker": fields });
    assert.deepEqual(inBoth(worker({ state: "running", server_name: "a.test" })), [
      "La transcription tourne : un service de transcription de a.test a pris l'appel.",
      "Transcription is running: a transcription service of a.test has taken the call.",
    ]);
    assert.match(inBoth(worker({ state: "waiting", server_name: "a.test", recording: true }))[1], /has taken the recording/);
    assert.match(inBoth(worker({ state: "refused", server_name: "b.test", language: "fr", reason: "tiny.en" }))[1], /no model for the language French\.$/);
    const outage = (fields: Record<string, unknown>) => ({ msgtype: "m.notice", body: "…", "org.visio.transcript.outage": fields });
    assert.match(inBoth(outage({ state: "interrupted", engine: "openai" }))[0], /^Transcription interrompue : .*\(openai\)/);
    assert.deepEqual(
      [0, 1, 4].map((lost) => inBoth(outage({ state: "resumed", engine: "openai", lost_utterances: lost }))[0].replace(/^.*retour\. /, "")),
      ["Aucun énoncé n'a été perdu entre-temps.", "1 énoncé a été perdu entre-temps.", "4 énoncés ont été perdus entre-temps."],
    );
    assert.match(inBoth({ msgtype: "m.notice", body: "…", "org.visio.transcript.lost_messages": { lost_messages: 1, reason: "x" } })[1], /^1 transcript message could/);
  });

  it("keeps the body of what it does not know: messages, notices without fields, broken fields", () => {
    assert.equal(botNoticeOf({ msgtype: "m.text", body: "Appel démarré", "org.visio.call": { state: "started" } }), undefined);
    assert.equal(botNoticeOf({ msgtype: "m.notice", body: "Bienvenue" }), undefined);
    assert.equal(botNoticeOf({ msgtype: "m.notice", body: "x", "org.visio.call": { state: "ended", participants: "two" } }), undefined);
    const events: RawEvent[] = [
      { eventId: "$1", type: "m.room.message", sender: "@visio:a.test", ts: 1, content: { ...callStartedNotice(call, "fr") } },
      { eventId: "$2", type: "m.room.message", sender: "@visio:a.test", ts: 2, content: { msgtype: "m.notice", body: "Bienvenue" } },
    ];
    const [started, welcome] = buildTimeline(events).main;
    assert.deepEqual(started?.notice, { kind: "callStarted" });
    assert.equal(welcome?.notice, undefined);
    assert.equal(welcome?.body, "Bienvenue");
  });
});
