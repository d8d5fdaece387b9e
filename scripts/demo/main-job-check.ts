// What `npm start -- --netns --check` proves beyond logins: the main job. In the running demo's French
// meeting, a caller of ministry A plays recorded French speech (Tux Paint's spoken descriptions) into
// the call, a caller of ministry B receives it as French interim and final live subtitles, the
// transcript thread gets the final messages under A's Matrix user, a member kicked mid-call is
// disconnected and stays out, and a stop posts the WebVTT and Markdown files, named and titled in
// French. Then a meeting of A whose call runs on B's SFU (a caller of B came first), transcribed in
// English (`!transcribe start en`, Festival sentences) by B's worker with the English model.
// Everything goes through the demo's own servers, by the protocols a client uses.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RoomServiceClient } from "livekit-server-sdk";
import { FOCUS_PATH_PREFIX } from "../../appservice/src/app.ts";
import { liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { isTranscriberParticipant } from "../../appservice/src/transcription/transcriber-dispatch.ts";
import { wordErrorRate } from "../../bridge/src/transcript/word-error-rate.ts";
import { CALL_MEMBER_EVENT_TYPES, TRANSCRIPTION_STATE_EVENT, type TranscriptionStateContent } from "../../config/wire-types.ts";
import {
  FRENCH_CALL_CLIPS,
  FRENCH_CALL_MAX_WER,
  MEETING_SENTENCES,
  chooseFrenchClips,
  createMeeting,
  followJsonLines,
  joinAlias,
  matrixRequest,
  readTranscriptThread,
  recordMeeting,
  requestFocusToken,
  spokenText,
  synthesizeRecording,
  timeSubtitles,
  waitUntil,
  type AppserviceProcess,
  type Host,
  type JsonLineProcess,
  type JsonReport,
  type LiveKitServer,
  RTC_SPEAKER_SCRIPT,
  RTC_SUBTITLE_RECEIVER_SCRIPT,
  type RegisteredUser,
  type Servers,
  type SpeechRecording,
  type SynapseServer,
} from "@visio/testbed";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SPEAKER = RTC_SPEAKER_SCRIPT;
const RECEIVER = RTC_SUBTITLE_RECEIVER_SCRIPT;
const SLOT = "m.call#ROOM";
/** The membership type Element Call publishes in its default (compatibility) mode. */
const [CALL_MEMBER] = CALL_MEMBER_EVENT_TYPES;

/** What a caller says in a checked call, in which language, and how close the thread must come to it. */
export interface SpokenScript {
  language: "fr" | "en";
  /** The chat command that starts the transcription. */
  command: string;
  /** Bound on the WER of the thread's final messages against what was said. */
  maxWer: number;
  /** What the files' names start with, in the meeting's language. */
  filePrefix: string;
  record(dir: string): Promise<SpeechRecording>;
}

/** Recorded French phrases (the test suite's French call). */
export const FRENCH_SCRIPT: SpokenScript = {
  language: "fr",
  command: "!transcribe start",
  maxWer: FRENCH_CALL_MAX_WER,
  filePrefix: "transcription-",
  // Pauses long enough that a phrase's subtitles have arrived before the next phrase starts.
  record: async (dir) => recordMeeting(dir, await chooseFrenchClips(FRENCH_CALL_CLIPS), { gapMs: 2500 }),
};

/** Three Festival sentences; tiny.en measured 0.02 on them. */
export const ENGLISH_SCRIPT: SpokenScript = {
  language: "en",
  command: "!transcribe start en",
  maxWer: 0.15,
  filePrefix: "transcript-",
  record: (dir) => synthesizeRecording(dir, MEETING_SENTENCES.slice(0, 3)),
};

type Ministry = "a" | "b";

export interface MainJobContext {
  bed: Servers<Ministry>;
  hosts: Record<Ministry, Host>;
  appservices: Record<Ministry, AppserviceProcess>;
  /** The demo meeting, hosted by A. */
  roomId: string;
  alice: RegisteredUser;
  bruno: RegisteredUser;
  say(line: string): void;
}

export interface TranscribedCallReport {
  /** Whose SFU carried the call, and so whose worker transcribed it. */
  sfu: Ministry;
  speaker: string;
  language: string;
  wer: number;
  maxWer: number;
  finalMessages: number;
  /** Per sentence: its start in the audio → the first interim subtitle at the listener. */
  firstInterimMs: number[];
  /** Interim subtitles at the listener that arrived before their sentence ended. */
  interimsBeforeSentenceEnd: number;
  /** Per sentence: its end in the audio → its final subtitle at the listener. */
  finalSubtitleMs: number[];
  /** Set when a member was kicked mid-call. */
  kickedDisconnectedMs?: number;
  files: string[];
}

export type MainJobReport = TranscribedCallReport[];

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN);
};

export function describeReport(reports: MainJobReport): string {
  const ms = (values: readonly number[]): string => `${values.map((v) => Math.round(v)).join(", ")} ms (median ${Math.round(median(values))} ms)`;
  return reports
    .flatMap((r) => [
      `  call on ${r.sfu.toUpperCase()}'s SFU, transcribed by ${r.sfu.toUpperCase()}'s worker, ${r.speaker} speaking ${r.language === "fr" ? "recorded French" : "Festival English"}:`,
      `    thread: ${r.finalMessages} final messages, WER ${r.wer.toFixed(3)} against the script (bound ${r.maxWer})`,
      `    subtitles: sentence start → first interim ${ms(r.firstInterimMs)}; ${r.interimsBeforeSentenceEnd} interim updates before their sentence ended`,
      `    subtitles: sentence end → final ${ms(r.finalSubtitleMs)}`,
      ...(r.kickedDisconnectedMs === undefined
        ? []
        : [`    kicked member disconnected ${Math.round(r.kickedDisconnectedMs)} ms after the kick; refused a new token; the old token does not get back in`]),
      `    files posted at stop: ${r.files.join(", ")}`,
    ])
    .join("\n");
}

interface Caller {
  ministry: Ministry;
  user: RegisteredUser;
}

interface TranscribedCall {
  roomId: string;
  /** The ministry whose focus and SFU the call uses (its first member's). */
  sfu: Ministry;
  speaker: Caller;
  listener: Caller;
  script: SpokenScript;
  /** A member of this ministry joins the call and is kicked while the speaker talks. */
  kickFrom?: Ministry;
}

export async function checkMainJob(ctx: MainJobContext): Promise<MainJobReport> {
  const { bed, alice, bruno } = ctx;
  const reports: MainJobReport = [];
  // The demo meeting, in French: its call on A's SFU (alice's, the first membership), bruno of B listening.
  reports.push(
    await checkTranscribedCall(ctx, { roomId: ctx.roomId, sfu: "a", speaker: { ministry: "a", user: alice }, listener: { ministry: "b", user: bruno }, script: FRENCH_SCRIPT, kickFrom: "b" }),
  );
  // A meeting hosted by A whose call runs on B's SFU (bruno called first): B's worker transcribes it, in English.
  const { roomId, alias } = await createMeeting(ctx.appservices.a, bed.ministries.a, alice, `Vérification B ${Date.now()}`);
  await joinAlias(bed.ministries.b, bruno, alias);
  reports.push(await checkTranscribedCall(ctx, { roomId, sfu: "b", speaker: { ministry: "b", user: bruno }, listener: { ministry: "a", user: alice }, script: ENGLISH_SCRIPT }));
  return reports;
}

async function checkTranscribedCall(ctx: MainJobContext, call: TranscribedCall): Promise<TranscribedCallReport> {
  const { bed, hosts, appservices, say } = ctx;
  const { roomId, sfu, speaker, listener, script } = call;
  const host = bed.ministries.a;
  const livekit: LiveKitServer | undefined = bed.livekit[sfu];
  if (livekit === undefined) throw new Error(`LiveKit ${sfu.toUpperCase()} is not running`);
  const focus = appservices[sfu];
  const botToken = appservices.a.config.appservice.as_token;
  const livekitRoom = liveKitRoomAlias(roomId, SLOT);
  const room = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;
  const dir = await mkdtemp(join(tmpdir(), "visio-demo-check-"));
  const started: JsonLineProcess[] = [];
  const spawn = (ministry: Ministry, name: string, script: string, args: string[]): JsonLineProcess => {
    const follower = followJsonLines(bed.processes.spawnOn(hosts[ministry].namespace, `check-${name}`, process.execPath, [script, ...args], { cwd: REPO_ROOT }));
    started.push(follower);
    return follower;
  };
  const serverOf = (c: Caller): SynapseServer => bed.ministries[c.ministry];
  const nameOf = (c: Caller): string => c.user.userId.slice(1).split(":")[0] ?? c.user.userId;
  try {
    const recording = script.record(dir);

    // What a MatrixRTC client does: its membership in the room, then a token from the oldest member's focus.
    const focusUrl = `http://${hosts[sfu].address}:${hosts[sfu].appservicePort}${FOCUS_PATH_PREFIX}`;
    const joinCall = async (c: Caller): Promise<{ url: string; jwt: string }> => {
      const { user } = c;
      await matrixRequest(serverOf(c).clientUrl, user.accessToken, "PUT", `${room}/state/${CALL_MEMBER}/${encodeURIComponent(`_${user.userId}_${user.deviceId}`)}`, {
        application: "m.call",
        call_id: "",
        scope: "m.room",
        device_id: user.deviceId,
        focus_active: { type: "livekit", focus_selection: "oldest_membership" },
        foci_preferred: [{ type: "livekit", livekit_service_url: focusUrl, livekit_alias: roomId }],
        expires: 3_600_000,
      });
      let token: { url: string; jwt: string } | undefined;
      // The focus answers once its appservice has seen the user's join in a transaction.
      await waitUntil(
        `a call token for ${user.userId} from ${sfu.toUpperCase()}'s focus`,
        async () => {
          const res = await requestFocusToken(focus.url, roomId, serverOf(c), user, SLOT);
          if (res.status !== 200) return false;
          token = { url: String(res.body.url), jwt: String(res.body.jwt) };
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      if (token === undefined) throw new Error(`no call token for ${user.userId}`);
      return token;
    };

    // The call's first member picks the SFU (oldest membership): the caller of the SFU's ministry first.
    const [first, second] = speaker.ministry === sfu ? [speaker, listener] : [listener, speaker];
    const firstCall = await joinCall(first);
    const secondCall = await joinCall(second);
    const speakerCall = first === speaker ? firstCall : secondCall;
    const listenerCall = first === speaker ? secondCall : firstCall;
    const listens = spawn(listener.ministry, `${nameOf(listener)}-subtitles-${sfu}`, RECEIVER, [listenerCall.url, listenerCall.jwt]);
    await listens.waitFor("connected", (r) => r.event === "connected");

    let kicked: { member: Caller; call: { url: string; jwt: string }; listens: JsonLineProcess } | undefined;
    if (call.kickFrom !== undefined) {
      const server = bed.ministries[call.kickFrom];
      const member: Caller = { ministry: call.kickFrom, user: await server.registerUser(`check-charlie-${Date.now()}`) };
      await matrixRequest(server.clientUrl, member.user.accessToken, "POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${encodeURIComponent(hosts.a.serverName)}`, {});
      const memberCall = await joinCall(member);
      kicked = { member, call: memberCall, listens: spawn(call.kickFrom, "charlie-subtitles", RECEIVER, [memberCall.url, memberCall.jwt]) };
      await kicked.listens.waitFor("connected", (r) => r.event === "connected");
    }
    say(`check: the call runs on ${sfu.toUpperCase()}'s LiveKit; ${nameOf(listener)} listens; ${nameOf(speaker)} asks for transcription in the chat ("${script.command}")`);

    await matrixRequest(serverOf(speaker).clientUrl, speaker.user.accessToken, "PUT", `${room}/send/m.room.message/check-transcribe-start-${Date.now()}`, {
      msgtype: "m.text",
      body: script.command,
    });
    await waitUntil(
      "the meeting's transcription state to say active",
      async () => {
        const state = await matrixRequest<TranscriptionStateContent>(serverOf(listener).clientUrl, listener.user.accessToken, "GET", `${room}/state/${TRANSCRIPTION_STATE_EVENT}/`).catch(
          () => null,
        );
        if (state?.active === true && state.language !== script.language) throw new Error(`the meeting is transcribed in ${state.language}, not ${script.language}`);
        return state?.active === true;
      },
      { timeoutMs: 30_000 },
    );
    const rooms = new RoomServiceClient(livekit.controlUrl, livekit.apiKey, livekit.apiSecret);
    await waitUntil(`a transcription worker of ${sfu.toUpperCase()} to join the call`, async () => (await rooms.listParticipants(livekitRoom)).some(isTranscriberParticipant), {
      timeoutMs: 60_000,
      intervalMs: 300,
      hint: `see the transcription-worker-${sfu} and appservice-${sfu} logs`,
    });
    say(`check: the transcription worker of ${sfu.toUpperCase()} joined the call; ${nameOf(speaker)} speaks`);

    const speech = await recording;
    const speaks = spawn(speaker.ministry, `${nameOf(speaker)}-speaks-${sfu}`, SPEAKER, [speakerCall.url, speakerCall.jwt, speech.wavPath]);
    const playing = await speaks.waitFor("playing", (r) => r.event === "playing", 30_000);
    const playingAt = Number(playing.startedAt);

    let kickedDisconnectedMs: number | undefined;
    if (kicked !== undefined) {
      // Mid-call, a moderator (the meeting's bot) removes the member from the meeting.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const kickedAt = Date.now();
      await matrixRequest(host.clientUrl, botToken, "POST", `${room}/kick`, { user_id: kicked.member.user.userId, reason: "demo check" });
      const disconnected = await kicked.listens.waitFor("disconnected after the kick", (r) => r.event === "disconnected", 20_000);
      kickedDisconnectedMs = Number(disconnected.at ?? Date.now()) - kickedAt;
      const refused = await requestFocusToken(focus.url, roomId, serverOf(kicked.member), kicked.member.user, SLOT);
      if (refused.status === 200) throw new Error("the kicked member still gets a call token");
      await expectKeptOut(spawn(kicked.member.ministry, "charlie-again", RECEIVER, [kicked.call.url, kicked.call.jwt]));
    }

    await speaks.waitFor("done", (r) => r.event === "done", 120_000);
    const expected = speech.sentences.length;
    const said = speech.sentences.map((s) => s.text).join(" ");
    const reader = serverOf(listener);
    let thread: Awaited<ReturnType<typeof readTranscriptThread>>;
    await waitUntil(
      `${expected} final messages from ${speaker.user.userId} in the transcript thread`,
      async () => {
        thread = await readTranscriptThread(reader.clientUrl, listener.user.accessToken, roomId);
        const finals = thread?.messages.filter((m) => m.fields?.final === true && m.fields.speaker === speaker.user.userId) ?? [];
        return finals.length >= expected && thread?.messages.every((m) => m.fields?.final === true) === true;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const messages = thread!.messages;
    const strangers = messages.filter((m) => m.fields?.speaker !== speaker.user.userId);
    if (strangers.length > 0) throw new Error(`thread messages attributed to someone else: ${strangers.map((m) => m.fields?.speaker).join(", ")}`);
    const bridgeUser = `@${appservices[sfu].config.transcription.bridge_localpart}:${hosts[sfu].serverName}`;
    const posters = [...new Set(messages.map((m) => m.sender))];
    if (posters.length !== 1 || posters[0] !== bridgeUser) throw new Error(`thread messages posted by ${posters.join(", ")}, expected ${bridgeUser} (the SFU's ministry)`);
    const wrongLanguage = messages.filter((m) => m.fields?.language !== script.language);
    if (wrongLanguage.length > 0) throw new Error(`thread messages labelled ${wrongLanguage.map((m) => m.fields?.language).join(", ")}, expected ${script.language}`);
    const wer = wordErrorRate(said, messages.map(spokenText).join(" ")).wer;
    if (!(wer <= script.maxWer)) throw new Error(`the thread's transcript has WER ${wer.toFixed(3)} (> ${script.maxWer}) against "${said}": ${messages.map((m) => m.body).join(" | ")}`);

    const timing = subtitleTiming(await listens.reports(), speech.sentences, playingAt);
    if (timing.finalSubtitleMs.length < expected) throw new Error(`the listener received ${timing.finalSubtitleMs.length} final subtitles for ${expected} sentences`);
    if (timing.interimsBeforeSentenceEnd === 0) throw new Error("no interim subtitle reached the listener while a sentence was being spoken");

    say(`check: ${nameOf(speaker)} stops the transcription`);
    await matrixRequest(serverOf(speaker).clientUrl, speaker.user.accessToken, "PUT", `${room}/send/m.room.message/check-transcribe-stop-${Date.now()}`, {
      msgtype: "m.text",
      body: "!transcribe stop",
    });
    let files: string[] = [];
    await waitUntil(
      "the WebVTT and Markdown files in the transcript thread",
      async () => {
        const now = await readTranscriptThread(reader.clientUrl, listener.user.accessToken, roomId);
        files = (now?.files ?? []).map((f) => String(f.content.body));
        return files.some((f) => f.endsWith(".vtt")) && files.some((f) => f.endsWith(".md"));
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    const misnamed = files.filter((f) => !f.startsWith(script.filePrefix));
    if (misnamed.length > 0) throw new Error(`transcript files ${misnamed.join(", ")} are not named ${script.filePrefix}… as a ${script.language} meeting's are`);
    return {
      sfu,
      speaker: speaker.user.userId,
      language: script.language,
      wer,
      maxWer: script.maxWer,
      finalMessages: messages.length,
      ...timing,
      ...(kickedDisconnectedMs === undefined ? {} : { kickedDisconnectedMs }),
      files,
    };
  } finally {
    await Promise.all(started.map((p) => p.process.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

/** A kicked member reconnecting with the token it had: LiveKit may let it in, our webhook handler must put it out again. */
async function expectKeptOut(again: JsonLineProcess): Promise<void> {
  await waitUntil(
    "the kicked member's old token to be turned away",
    async () => {
      const reports = await again.reports();
      return reports.some((r) => r.event === "disconnected" || r.event === "error") || again.process.exitDescription() !== undefined;
    },
    { timeoutMs: 20_000, intervalMs: 300 },
  );
}

/** Per sentence: its start → its first interim subtitle at the listener, its end → its last final. */
function subtitleTiming(
  reports: readonly JsonReport[],
  sentences: readonly { text: string; startMs: number; endMs: number }[],
  playingAt: number,
): Pick<TranscribedCallReport, "firstInterimMs" | "interimsBeforeSentenceEnd" | "finalSubtitleMs"> {
  const timing = timeSubtitles(reports, sentences, playingAt).sentences;
  return {
    firstInterimMs: timing.flatMap((t, i) => (t.firstInterimAt === undefined ? [] : [t.firstInterimAt - (sentences[i]?.startMs ?? 0)])),
    interimsBeforeSentenceEnd: timing.reduce((sum, t) => sum + t.interimsBeforeEnd, 0),
    finalSubtitleMs: timing.map((t, i) => t.finalAt - (sentences[i]?.endMs ?? 0)),
  };
}
