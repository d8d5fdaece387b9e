// The meeting's whole transcript and the viewer's subtitle settings, in the Visio web client across
// two ministries (Chromium in each ministry's namespace, real Synapse A and B, LiveKit A and B, A's
// transcription worker and Whisper server). A caller of A speaks French; at B the subtitles change
// size, place and visibility as set, and become a live region only when asked. After the call has
// ended and the room has moved on (its transcript far outside the timeline a new page loads), B signs
// in on a new page and the Transcript tab's search finds a sentence of that earlier call, typed
// without its case or accents, with its speaker and time, and jumps to it.
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { TRANSCRIPTION_API_PATH } from "../../config/wire-types.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { FRENCH_CALL_CLIPS, chooseFrenchClips } from "../harness/speech/french-speech.ts";
import { recordMeeting } from "../harness/speech/recorded-speech.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { launchBrowser, openClient, signInThroughForm } from "../support/browser.ts";
import { openPrejoin, waitForRemoteFrames } from "../support/browser-call.ts";
import { saveScreenshot } from "../support/browser-screenshots.ts";
import { requestJson } from "../harness/http.ts";
import { createMeeting, joinAlias, openIdToken } from "../harness/matrix-users.ts";
import { readTranscriptThread, spokenText, type ThreadMessage } from "../harness/transcript-thread.ts";
import { startMinistryWorker } from "../support/transcription-worker.ts";

const PASSWORD = "correct horse battery staple";
/** More than the client's first sync takes (100 events): the call's transcript ends up out of it. */
const MESSAGES_AFTER_CALL = 130;
type Ministry = "a" | "b";

/** What a hurried user types: upper case, no accents. */
const typedCarelessly = (text: string): string => text.normalize("NFD").replace(/\p{M}/gu, "").toUpperCase();

async function box(locator: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  const found = await locator.boundingBox();
  assert.ok(found !== null, "the element is laid out");
  return found;
}

describe("the whole transcript, searchable, and subtitle settings (Chromium, Synapse A and B, LiveKit A and B, A's worker and Whisper)", function () {
  this.timeout(300_000);
  let testbed: Testbed;
  let appservices: Record<Ministry, AppserviceProcess>;
  const browsers: Browser[] = [];
  const pages: Page[] = [];

  const signIn = async (browser: Browser, m: Ministry, user: RegisteredUser, alias: string): Promise<Page> => {
    const { page } = await openClient(browser, { locale: "fr" });
    pages.push(page);
    await signInThroughForm(page, `${HOSTS[m].serverName}:${HOSTS[m].federationPort}`, user.userId, PASSWORD);
    await page.getByTestId(`room-${alias}`).click();
    return page;
  };
  const joinCall = async (page: Page): Promise<void> => {
    await openPrejoin(page);
    await page.getByTestId("call-join").click();
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

  it("B sets the subtitles' size, place and visibility; after the call, a new page finds a sentence of it by search", async () => {
    const { a, b } = testbed.ministries;
    const dir = await mkdtemp(join(testbed.runDir, "transcript-search-"));
    const speech = await recordMeeting(dir, await chooseFrenchClips(FRENCH_CALL_CLIPS), { leadMs: 2000, gapMs: 2000 });
    const speaking = await launchBrowser({ namespace: HOSTS.a.namespace, runDir: testbed.runDir, args: [`--use-file-for-fake-audio-capture=${speech.wavPath}`] });
    browsers.push(speaking);
    const listening = await launchBrowser({ namespace: HOSTS.b.namespace, runDir: testbed.runDir });
    browsers.push(listening);
    const alice = await a.registerUser(uniqueLocalpart("alice"), { password: PASSWORD });
    const bob = await b.registerUser(uniqueLocalpart("bob"), { password: PASSWORD });
    const { roomId, alias } = await createMeeting(appservices.a, a, alice, "Réunion retranscrite");
    await joinAlias(b, bob, alias);
    const worker = await startMinistryWorker(testbed, "a", appservices.a, dir, `bridge-search-${uniqueLocalpart("w")}`);
    let target: ThreadMessage | undefined;
    let threadRoot = "";
    try {
      await worker.waitFor("registered", (r) => r.event === "registered", 60_000);
      const pageA = await signIn(speaking, "a", alice, alias);
      await joinCall(pageA);
      const pageB = await signIn(listening, "b", bob, alias);
      await joinCall(pageB);
      await waitForRemoteFrames(pageB, { source: "camera", userId: alice.userId });

      const started = await requestJson("POST", `${appservices.a.url}${TRANSCRIPTION_API_PATH}`, {
        body: { room_id: roomId, action: "start", openid_token: await openIdToken(b, bob) },
      });
      assert.equal(started.status, 200, JSON.stringify(started.body));
      threadRoot = (started.body.state as { thread_root: string }).thread_root;

      // Subtitles as they come by default: at the bottom of the stage, medium, no live region.
      const region = pageB.getByTestId("subtitles-region");
      const subtitles = pageB.getByTestId("subtitles");
      await pageB.getByTestId("subtitle-line").first().waitFor({ timeout: 90_000 });
      const stage = await box(pageB.getByTestId("stage-area"));
      assert.equal(await region.getAttribute("data-position"), "bottom");
      assert.equal(await pageB.locator('[data-testid="subtitles-region"] [aria-live]').count(), 0, "not a live region unless asked");
      const atBottom = await box(subtitles);
      assert.ok(atBottom.y + atBottom.height > stage.y + stage.height * 0.75, `subtitles at the bottom of the stage (${JSON.stringify(atBottom)} in ${JSON.stringify(stage)})`);
      const fontSize = async (): Promise<number> => subtitles.evaluate((element) => parseFloat(getComputedStyle(element).fontSize));
      const mediumSize = await fontSize();

      // The settings, behind a button named for what it does.
      const settingsButton = pageB.getByRole("button", { name: "Réglages des sous-titres" });
      await settingsButton.click();
      assert.equal(await settingsButton.getAttribute("aria-expanded"), "true");
      await pageB.getByTestId("subtitle-size-large").check();
      await pageB.getByTestId("subtitle-position-top").check();
      await saveScreenshot(pageB, "call-subtitle-settings");
      await pageB.getByTestId("subtitle-line").first().waitFor({ timeout: 60_000 });
      assert.ok((await fontSize()) > mediumSize * 1.2, `large subtitles are larger (${await fontSize()} px against ${mediumSize} px)`);
      const atTop = await box(subtitles);
      assert.ok(atTop.y < stage.y + stage.height * 0.25, `subtitles at the top of the stage (${JSON.stringify(atTop)} in ${JSON.stringify(stage)})`);

      await pageB.getByTestId("subtitle-position-below").check();
      await pageB.getByTestId("subtitle-line").first().waitFor({ timeout: 60_000 });
      const below = await box(subtitles);
      assert.ok(Math.abs(below.y + below.height - (stage.y + stage.height)) <= 2, `the band sits on the stage's foot (${JSON.stringify(below)} in ${JSON.stringify(stage)})`);

      // Off: no line for a while, although subtitles keep coming; on again, they are back.
      await pageB.getByTestId("subtitle-visible").uncheck();
      for (let i = 0; i < 8; i += 1) {
        assert.equal(await pageB.getByTestId("subtitle-line").count(), 0, "subtitles turned off show nothing");
        await pageB.waitForTimeout(500);
      }
      await pageB.getByTestId("subtitle-visible").check();
      await pageB.getByTestId("subtitle-line").first().waitFor({ timeout: 60_000 });

      // A screen-reader user asks for them: a polite log of the final lines.
      await pageB.getByTestId("subtitle-announce").check();
      assert.equal(await pageB.getByTestId("subtitles-announced").getAttribute("aria-live"), "polite");
      await pageB.keyboard.press("Escape");
      assert.equal(await settingsButton.getAttribute("aria-expanded"), "false");
      const stored = JSON.parse((await pageB.evaluate(() => localStorage.getItem("visio.subtitles"))) ?? "{}") as Record<string, unknown>;
      assert.deepEqual(stored, { visible: true, size: "large", position: "below", announce: true }, "kept in the browser");

      // A final sentence of alice's with words long enough to look for.
      await waitUntil(
        "a final line of alice's with two words of 4 letters or more",
        async () => {
          const thread = await readTranscriptThread(a.clientUrl, alice.accessToken, roomId, threadRoot);
          target = (thread?.messages ?? []).find(
            (m) => m.fields?.final === true && m.fields.speaker === alice.userId && spokenText(m).split(/[^\p{L}]+/u).filter((w) => w.length >= 4).length >= 2,
          );
          return target !== undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
      const stopped = await requestJson("POST", `${appservices.a.url}${TRANSCRIPTION_API_PATH}`, {
        body: { room_id: roomId, action: "stop", openid_token: await openIdToken(a, alice) },
      });
      assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
      await pageA.getByTestId("call-leave").click();
      await pageB.getByTestId("call-leave").click();
    } finally {
      await worker.process.stop();
    }
    assert.ok(target !== undefined);

    // The meeting goes on in writing: the call's transcript is far back in the room's history.
    for (let i = 1; i <= MESSAGES_AFTER_CALL; i += 1) {
      const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/after-call-${i}-${Date.now()}`;
      await matrixRequest(a.clientUrl, alice.accessToken, "PUT", path, { msgtype: "m.text", body: `Message après l'appel n° ${i}` });
    }

    // B on a new page: the transcript's thread is not in the timeline it loads.
    const fresh = await signIn(listening, "b", bob, alias);
    await fresh.getByTestId("message-body").filter({ hasText: `Message après l'appel n° ${MESSAGES_AFTER_CALL}` }).waitFor({ timeout: 30_000 });
    assert.equal(await fresh.locator(`[data-event-id="${threadRoot}"]`).count(), 0, "the transcript's root is not in the loaded timeline");

    const said = spokenText(target);
    const words = said.split(/[^\p{L}]+/u).filter((w) => w.length >= 4);
    const query = typedCarelessly(words.slice(-2).join(" "));
    await fresh.getByTestId("tab-transcript").click();
    await fresh.getByLabel("Rechercher dans les transcriptions").fill(query);
    const result = fresh.locator(`[data-testid="transcript-result"][data-event-id="${target.eventId}"]`);
    await result.waitFor({ timeout: 30_000 });
    const resultText = await result.innerText();
    assert.ok(resultText.includes(said), `the result shows the sentence as said: "${resultText}" for "${said}"`);
    assert.ok(resultText.includes(target.fields?.speaker_name ?? "?"), `the result names the speaker: "${resultText}"`);
    assert.match(resultText, /\d{2}:\d{2}:\d{2}/, "the result gives the time");
    assert.ok((await result.locator("mark").count()) >= 2, "the words found are highlighted");
    assert.equal(await fresh.locator(`[data-event-id="${threadRoot}"]`).count(), 0, "the search did not page the timeline back");

    await result.click();
    const line = fresh.locator(`[data-testid="transcript-line"][data-event-id="${target.eventId}"]`);
    await fresh.waitForFunction((id) => document.activeElement?.getAttribute("data-event-id") === id, target.eventId, { timeout: 5_000 });
    assert.match((await line.getAttribute("class")) ?? "", /\bcurrent\b/);
    assert.ok(await line.isVisible(), "the line is scrolled into view");
    assert.ok((await line.innerText()).includes(target.fields?.speaker_name ?? "?"));
    await saveScreenshot(fresh, "transcript-search");
  });
});
