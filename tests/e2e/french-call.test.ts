// A French meeting in the Visio web client, across two ministries (Chromium in each ministry's
// namespace, real Synapse A and B, LiveKit A and B, both foci, A's transcription worker and Whisper
// server): a caller of A plays recorded French speech (Tux Paint's spoken descriptions) as her
// microphone, the meeting is transcribed in French (the server's default language), a caller of B sees
// French live subtitles under her name, the thread has her French words, and the files posted at stop
// are named and titled in French.
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { TRANSCRIPTION_API_PATH } from "../../config/wire-types.ts";
import { wordErrorRate } from "../../bridge/src/transcript/word-error-rate.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { FRENCH_CALL_CLIPS, FRENCH_CALL_MAX_WER, chooseFrenchClips } from "../harness/speech/french-speech.ts";
import { recordMeeting } from "../harness/speech/recorded-speech.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { launchBrowser, openClient, signInThroughForm } from "../support/browser.ts";
import { openPrejoin, waitForRemoteFrames } from "../support/browser-call.ts";
import { saveScreenshot } from "../support/browser-screenshots.ts";
import { requestJson } from "../harness/http.ts";
import { createMeeting, joinAlias, openIdToken } from "../harness/matrix-users.ts";
import { readTranscriptThread } from "../harness/transcript-thread.ts";
import { downloadMedia, bridgeUserOf, startMinistryWorker } from "../support/transcription-worker.ts";

const PASSWORD = "correct horse battery staple";
type Ministry = "a" | "b";

describe("a French meeting in the Visio client (Chromium, Synapse A and B, LiveKit A and B, A's worker and Whisper)", function () {
  this.timeout(240_000);
  let testbed: Testbed;
  let appservices: Record<Ministry, AppserviceProcess>;
  const browsers: Browser[] = [];
  const pages: Page[] = [];

  const visioIn = async (browser: Browser, m: Ministry, user: RegisteredUser, alias: string): Promise<Page> => {
    const { page } = await openClient(browser, { locale: "fr" });
    pages.push(page);
    await signInThroughForm(page, `${HOSTS[m].serverName}:${HOSTS[m].federationPort}`, user.userId, PASSWORD);
    await page.getByTestId(`room-${alias}`).click();
    await openPrejoin(page);
    await page.getByTestId("call-join").click();
    return page;
  };

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    const [a, b] = await Promise.all([startAppservice("a"), startAppservice("b")]);
    appservices = { a, b };
  });
  after(async () => {
    await Promise.all(pages.splice(0).map((page) => page.context().close()));
    await Promise.all(browsers.map((browser) => browser.close()));
  });

  it("a caller of A speaks French; B sees French subtitles under her name; the thread and the files are French", async () => {
    const { a, b } = testbed.ministries;
    const dir = await mkdtemp(join(testbed.runDir, "french-call-"));
    const speech = await recordMeeting(dir, await chooseFrenchClips(FRENCH_CALL_CLIPS), { leadMs: 2000, gapMs: 2000 });
    const said = speech.sentences.map((s) => s.text);
    // Chromium plays the recording as the microphone, over and over.
    const speaking = await launchBrowser({ namespace: HOSTS.a.namespace, runDir: testbed.runDir, args: [`--use-file-for-fake-audio-capture=${speech.wavPath}`] });
    browsers.push(speaking);
    const listening = await launchBrowser({ namespace: HOSTS.b.namespace, runDir: testbed.runDir });
    browsers.push(listening);
    const alice = await a.registerUser(uniqueLocalpart("alice"), { password: PASSWORD });
    const bob = await b.registerUser(uniqueLocalpart("bob"), { password: PASSWORD });
    const { roomId, alias } = await createMeeting(appservices.a, a, alice, "Réunion en français");
    await joinAlias(b, bob, alias);
    const bridgeUser = bridgeUserOf(appservices.a, "a");
    const worker = await startMinistryWorker(testbed, "a", appservices.a, dir, `bridge-french-${uniqueLocalpart("w")}`);
    try {
      await worker.waitFor("registered", (r) => r.event === "registered", 60_000);
      const pageA = await visioIn(speaking, "a", alice, alias);
      const pageB = await visioIn(listening, "b", bob, alias);
      await waitForRemoteFrames(pageB, { source: "camera", userId: alice.userId });
      await waitForRemoteFrames(pageA, { source: "camera", userId: bob.userId });

      // No language named: the server's default, French.
      const started = await requestJson("POST", `${appservices.a.url}${TRANSCRIPTION_API_PATH}`, {
        body: { room_id: roomId, action: "start", openid_token: await openIdToken(b, bob) },
      });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const state = started.body.state as { thread_root: string; language: string };
      assert.equal(state.language, "fr");

      // B's client shows her words as they come, named as the room knows her.
      const subtitle = pageB.getByTestId("subtitle-line").filter({ hasText: new RegExp(`^${alice.userId.slice(1).split(":")[0]}`) });
      await subtitle.first().waitFor({ timeout: 90_000 });
      await saveScreenshot(pageB, "call-french-subtitles");

      // The thread gets final messages for each phrase, in French, under her Matrix ID. The recording
      // loops from wherever it was when the transcription started: the first line may be a phrase's
      // end, and the next ones go round the script from any phrase. A phrase may come as two lines
      // (the VAD ends an utterance at a pause inside the long last phrase), so the lines after the
      // first are compared, one phrase's worth of lines or up to two more, with every rotation of the script.
      let finals: string[] = [];
      await waitUntil(
        `${said.length + 3} final French lines of alice in the thread`,
        async () => {
          const thread = await readTranscriptThread(a.clientUrl, alice.accessToken, roomId, state.thread_root);
          const mine = (thread?.messages ?? []).filter((m) => m.fields?.final === true && m.fields.speaker === alice.userId);
          assert.ok(mine.every((m) => m.fields?.language === "fr" && m.sender === bridgeUser), "French lines, posted by A's bridge");
          finals = mine.map((m) => m.body.replace(/^[^:]*: /, ""));
          return finals.length >= said.length + 3;
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
      const rotations = said.map((_, start) => [...said.slice(start), ...said.slice(0, start)].join(" "));
      const windows = [0, 1, 2].map((more) => finals.slice(1, said.length + 1 + more).join(" "));
      const wer = Math.min(...rotations.flatMap((script) => windows.map((heard) => wordErrorRate(script, heard).wer)));
      assert.ok(wer <= FRENCH_CALL_MAX_WER, `WER ${wer.toFixed(3)} > ${FRENCH_CALL_MAX_WER}: "${finals.join(" | ")}" for "${said.join(" | ")}"`);

      const stopped = await requestJson("POST", `${appservices.a.url}${TRANSCRIPTION_API_PATH}`, {
        body: { room_id: roomId, action: "stop", openid_token: await openIdToken(a, alice) },
      });
      assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
      let files: { body: string; url: string }[] = [];
      await waitUntil(
        "the French transcript files in the thread",
        async () => {
          const thread = await readTranscriptThread(a.clientUrl, alice.accessToken, roomId, state.thread_root);
          files = (thread?.files ?? []).map((f) => ({ body: String(f.content.body), url: String(f.content.url) }));
          return files.length === 2;
        },
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
      assert.ok(files.every((f) => /^transcription-\d{4}-\d{2}-\d{2}-\d{4}Z\.(vtt|md)$/.test(f.body)), files.map((f) => f.body).join(", "));
      const markdown = await downloadMedia(a, alice.accessToken, files.find((f) => f.body.endsWith(".md"))?.url ?? "");
      assert.match(markdown.text, /^# Transcription\n\n- Début : .*\n- Langue : fr\n- Moteur : openai\n- Modèle : base\n/);
      const timeline = await matrixRequest<{ chunk: { sender: string; content: Record<string, unknown> }[] }>(
        a.clientUrl,
        alice.accessToken,
        "GET",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=100`,
      );
      const bodies = timeline.chunk.map((e) => String(e.content.body));
      assert.ok(bodies.includes("Transcription démarrée") && bodies.includes("Transcription arrêtée"), "the bot's notices are French");
    } finally {
      await worker.process.stop();
    }
  });
});
