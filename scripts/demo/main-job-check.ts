// What `npm start -- --netns --check` proves beyond logins: the main job. In the running demo, a caller
// of ministry A speaks Festival sentences into the meeting's call, a caller of ministry B receives them
// as interim and final live subtitles, the transcript thread gets the final messages under A's Matrix
// user, a member kicked mid-call is disconnected and stays out, and a stop posts the WebVTT and
// Markdown files. Everything goes through the demo's own servers, by the protocols a client uses.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RoomServiceClient } from "livekit-server-sdk";
import { FOCUS_PATH_PREFIX } from "../../appservice/src/app.ts";
import { liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { isTranscriberParticipant } from "../../appservice/src/transcription/transcriber-dispatch.ts";
import { wordErrorRate } from "../../bridge/src/transcript/word-error-rate.ts";
import { TRANSCRIPTION_STATE_EVENT, type TranscriptionStateContent } from "../../wire-types.ts";
import type { AppserviceProcess } from "../../tests/harness/appservice.ts";
import { matrixRequest } from "../../tests/harness/matrix-client.ts";
import type { Host } from "../../tests/harness/network.ts";
import type { LiveKitServer, RegisteredUser, Servers, SynapseServer } from "../../tests/harness/testbed.ts";
import { waitUntil } from "../../tests/harness/wait.ts";
import { MEETING_SENTENCES, synthesizeRecording } from "../../tests/speech/festival-speech.ts";
import { followJsonLines, type JsonLineProcess, type JsonReport } from "../../tests/support/json-line-process.ts";
import { requestFocusToken } from "../../tests/support/matrix-users.ts";
import { readTranscriptThread } from "../../tests/support/transcript-thread.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SPEAKER = join(REPO_ROOT, "tests/support/rtc-speaker.ts");
const RECEIVER = join(REPO_ROOT, "tests/support/rtc-subtitle-receiver.ts");
const SLOT = "m.call#ROOM";
const CALL_MEMBER = "org.matrix.msc3401.call.member";
const SENTENCES = MEETING_SENTENCES.slice(0, 3);
/** The thread's final messages against the script; tiny.en measured 0.02 on these sentences. */
export const MAX_WER = 0.15;

type Ministry = "a" | "b";

export interface MainJobContext {
  bed: Servers<Ministry>;
  hosts: Record<Ministry, Host>;
  appservices: Record<Ministry, AppserviceProcess>;
  roomId: string;
  alice: RegisteredUser;
  bruno: RegisteredUser;
  say(line: string): void;
}

export interface MainJobReport {
  wer: number;
  finalMessages: number;
  /** Per sentence: its start in the audio → the first interim subtitle at B's caller. */
  firstInterimMs: number[];
  /** Interim subtitles at B that arrived before their sentence ended. */
  interimsBeforeSentenceEnd: number;
  /** Per sentence: its end in the audio → its final subtitle at B's caller. */
  finalSubtitleMs: number[];
  kickedDisconnectedMs: number;
  files: string[];
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN);
};

export function describeReport(r: MainJobReport): string {
  const ms = (values: readonly number[]): string => `${values.map((v) => Math.round(v)).join(", ")} ms (median ${Math.round(median(values))} ms)`;
  return [
    `  thread: ${r.finalMessages} final messages from A's caller, WER ${r.wer.toFixed(3)} against the script (bound ${MAX_WER})`,
    `  subtitles at B: sentence start → first interim ${ms(r.firstInterimMs)}; ${r.interimsBeforeSentenceEnd} interim updates before their sentence ended`,
    `  subtitles at B: sentence end → final ${ms(r.finalSubtitleMs)}`,
    `  kicked member disconnected ${Math.round(r.kickedDisconnectedMs)} ms after the kick; refused a new token; the old token does not get back in`,
    `  files posted at stop: ${r.files.join(", ")}`,
  ].join("\n");
}

export async function checkMainJob(ctx: MainJobContext): Promise<MainJobReport> {
  const { bed, hosts, appservices, roomId, alice, bruno, say } = ctx;
  const a = bed.ministries.a;
  const b = bed.ministries.b;
  const livekit: LiveKitServer | undefined = bed.livekit.a;
  if (livekit === undefined) throw new Error("LiveKit A is not running");
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
  try {
    const recording = synthesizeRecording(dir, SENTENCES);
    // A member of B who will be removed from the meeting during the call.
    const charlie = await b.registerUser(`check-charlie-${Date.now()}`);
    await matrixRequest(b.clientUrl, charlie.accessToken, "POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}?server_name=${encodeURIComponent(hosts.a.serverName)}`, {});

    // What a MatrixRTC client does: its membership in the room, then a token from the oldest member's focus (A's).
    const focusOfA = `http://${hosts.a.address}:${hosts.a.appservicePort}${FOCUS_PATH_PREFIX}`;
    const joinCall = async (server: SynapseServer, user: RegisteredUser): Promise<{ url: string; jwt: string }> => {
      await matrixRequest(server.clientUrl, user.accessToken, "PUT", `${room}/state/${CALL_MEMBER}/${encodeURIComponent(`_${user.userId}_${user.deviceId}`)}`, {
        application: "m.call",
        call_id: "",
        scope: "m.room",
        device_id: user.deviceId,
        focus_active: { type: "livekit", focus_selection: "oldest_membership" },
        foci_preferred: [{ type: "livekit", livekit_service_url: focusOfA, livekit_alias: roomId }],
        expires: 3_600_000,
      });
      let token: { url: string; jwt: string } | undefined;
      // The focus answers once A's appservice has seen the user's join in a transaction.
      await waitUntil(
        `a call token for ${user.userId} from A's focus`,
        async () => {
          const res = await requestFocusToken(appservices.a.url, roomId, server, user, SLOT);
          if (res.status !== 200) return false;
          token = { url: String(res.body.url), jwt: String(res.body.jwt) };
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      if (token === undefined) throw new Error(`no call token for ${user.userId}`);
      return token;
    };

    const aliceCall = await joinCall(a, alice);
    const brunoCall = await joinCall(b, bruno);
    const charlieCall = await joinCall(b, charlie);
    const brunoListens = spawn("b", "bruno-subtitles", RECEIVER, [brunoCall.url, brunoCall.jwt]);
    const charlieListens = spawn("b", "charlie-subtitles", RECEIVER, [charlieCall.url, charlieCall.jwt]);
    await Promise.all([brunoListens.waitFor("connected", (r) => r.event === "connected"), charlieListens.waitFor("connected", (r) => r.event === "connected")]);
    say("check: bruno (B) and charlie (B) are in the call on A's LiveKit; alice asks for transcription in the chat");

    await matrixRequest(a.clientUrl, alice.accessToken, "PUT", `${room}/send/m.room.message/check-transcribe-start-${Date.now()}`, { msgtype: "m.text", body: "!transcribe start" });
    await waitUntil(
      "the meeting's transcription state to say active",
      async () => {
        const state = await matrixRequest<TranscriptionStateContent>(b.clientUrl, bruno.accessToken, "GET", `${room}/state/${TRANSCRIPTION_STATE_EVENT}/`).catch(() => null);
        return state?.active === true;
      },
      { timeoutMs: 30_000 },
    );
    const rooms = new RoomServiceClient(livekit.controlUrl, livekit.apiKey, livekit.apiSecret);
    await waitUntil("a transcription worker to join the call", async () => (await rooms.listParticipants(livekitRoom)).some(isTranscriberParticipant), {
      timeoutMs: 60_000,
      intervalMs: 300,
      hint: "see the transcription-worker-a and appservice-a logs",
    });
    say("check: the transcription worker of A joined the call; alice speaks");

    const speech = await recording;
    const aliceSpeaks = spawn("a", "alice-speaks", SPEAKER, [aliceCall.url, aliceCall.jwt, speech.wavPath]);
    const playing = await aliceSpeaks.waitFor("playing", (r) => r.event === "playing", 30_000);
    const playingAt = Number(playing.startedAt);

    // Mid-call, a moderator (the meeting's bot) removes charlie from the meeting.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const kickedAt = Date.now();
    await matrixRequest(a.clientUrl, botToken, "POST", `${room}/kick`, { user_id: charlie.userId, reason: "demo check" });
    const disconnected = await charlieListens.waitFor("disconnected after the kick", (r) => r.event === "disconnected", 20_000);
    const kickedDisconnectedMs = Number(disconnected.at ?? Date.now()) - kickedAt;
    const refused = await requestFocusToken(appservices.a.url, roomId, b, charlie, SLOT);
    if (refused.status === 200) throw new Error("the kicked member still gets a call token");
    await expectKeptOut(spawn("b", "charlie-again", RECEIVER, [charlieCall.url, charlieCall.jwt]));

    await aliceSpeaks.waitFor("done", (r) => r.event === "done", 120_000);
    const expected = SENTENCES.length;
    let thread: Awaited<ReturnType<typeof readTranscriptThread>>;
    await waitUntil(
      `${expected} final messages from alice in the transcript thread`,
      async () => {
        thread = await readTranscriptThread(a.clientUrl, alice.accessToken, roomId);
        const finals = thread?.messages.filter((m) => m.fields?.final === true && m.fields.speaker === alice.userId) ?? [];
        return finals.length >= expected && thread?.messages.every((m) => m.fields?.final === true) === true;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const messages = thread!.messages;
    const strangers = messages.filter((m) => m.fields?.speaker !== alice.userId);
    if (strangers.length > 0) throw new Error(`thread messages attributed to someone else: ${strangers.map((m) => m.fields?.speaker).join(", ")}`);
    const wer = wordErrorRate(SENTENCES.join(" "), messages.map((m) => spokenText(m.body, m.fields?.speaker_name)).join(" ")).wer;
    if (!(wer <= MAX_WER)) throw new Error(`the thread's transcript has WER ${wer.toFixed(3)} (> ${MAX_WER}): ${messages.map((m) => m.body).join(" | ")}`);

    const subtitles = (await brunoListens.reports()).filter((r) => r.event === "transcription");
    const timing = subtitleTiming(subtitles, speech.sentences, playingAt);
    if (timing.finalSubtitleMs.length < expected) throw new Error(`bruno received ${timing.finalSubtitleMs.length} final subtitles for ${expected} sentences`);
    if (timing.interimsBeforeSentenceEnd === 0) throw new Error("no interim subtitle reached bruno while a sentence was being spoken");

    say("check: alice stops the transcription");
    await matrixRequest(a.clientUrl, alice.accessToken, "PUT", `${room}/send/m.room.message/check-transcribe-stop-${Date.now()}`, { msgtype: "m.text", body: "!transcribe stop" });
    let files: string[] = [];
    await waitUntil(
      "the WebVTT and Markdown files in the transcript thread",
      async () => {
        const now = await readTranscriptThread(a.clientUrl, alice.accessToken, roomId);
        files = (now?.files ?? []).map((f) => String((f.content.info as { mimetype?: string } | undefined)?.mimetype ?? f.content.body));
        return files.some((f) => f.includes("vtt")) && files.some((f) => f.includes("markdown"));
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    return { wer, finalMessages: messages.length, ...timing, kickedDisconnectedMs, files };
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

/** A thread message's body without its "<speaker name>: " prefix. */
function spokenText(body: string, speakerName: string | undefined): string {
  const prefix = `${speakerName ?? ""}: `;
  return body.startsWith(prefix) ? body.slice(prefix.length) : body;
}

/** Subtitle reports grouped by segment (one per utterance, in order of arrival) and paired with the sentences. */
function subtitleTiming(
  reports: readonly JsonReport[],
  sentences: readonly { startMs: number; endMs: number }[],
  playingAt: number,
): Pick<MainJobReport, "firstInterimMs" | "interimsBeforeSentenceEnd" | "finalSubtitleMs"> {
  const attribute = (r: JsonReport, name: string): string | undefined => (r.attributes as Record<string, string> | undefined)?.[name];
  const segments = new Map<string, JsonReport[]>();
  for (const r of [...reports].sort((x, y) => Number(x.receivedAt) - Number(y.receivedAt))) {
    if (String(r.text).trim() === "") continue;
    const id = attribute(r, "lk.segment_id") ?? "";
    segments.set(id, [...(segments.get(id) ?? []), r]);
  }
  if (segments.size !== sentences.length) {
    throw new Error(`bruno received subtitles for ${segments.size} utterances, ${sentences.length} sentences were spoken`);
  }
  const firstInterimMs: number[] = [];
  const finalSubtitleMs: number[] = [];
  let interimsBeforeSentenceEnd = 0;
  [...segments.values()].forEach((mine, i) => {
    const sentence = sentences[i];
    if (sentence === undefined) return;
    const isFinal = (r: JsonReport): boolean => attribute(r, "lk.transcription_final") === "true";
    const interims = mine.filter((r) => !isFinal(r));
    const final = mine.find(isFinal);
    if (interims[0] !== undefined) firstInterimMs.push(Number(interims[0].receivedAt) - (playingAt + sentence.startMs));
    interimsBeforeSentenceEnd += interims.filter((r) => Number(r.receivedAt) <= playingAt + sentence.endMs).length;
    if (final !== undefined) finalSubtitleMs.push(Number(final.receivedAt) - (playingAt + sentence.endMs));
  });
  return { firstInterimMs, interimsBeforeSentenceEnd, finalSubtitleMs };
}
