// The same meeting read in two languages (Chromium in each ministry's namespace, real Synapse A and B,
// LiveKit A and B, both appservices): alice (A) keeps the client in French, bob (B) switches his to
// English in the header. The bots' call and transcription notices, posted once by A's bot in A's
// language (French), read in French for her and in English for him; the participants they count
// leave out both ministries' bots, which are in the room, flagged as bots in their own membership.
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { TRANSCRIPTION_API_PATH, BOT_MEMBER_KEY } from "../../config/wire-types.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { launchBrowser, openClient, signInThroughForm } from "../support/browser.ts";
import { openPrejoin, waitForRemoteFrames } from "../support/browser-call.ts";
import { saveScreenshot } from "../support/browser-screenshots.ts";
import { requestJson } from "../harness/http.ts";
import { createMeeting, joinAlias, openIdToken } from "../harness/matrix-users.ts";

const PASSWORD = "correct horse battery staple";
type Ministry = "a" | "b";

/** The text of the notice of this kind the page's timeline shows, once it shows one. */
async function noticeText(page: Page, kind: string): Promise<string> {
  const notice = page.locator(`[data-testid="message-body"][data-notice="${kind}"]`).last();
  await notice.waitFor({ timeout: 45_000 });
  return (await notice.innerText()).trim();
}

describe("the bots' notices in each reader's language, the bots not counted (Chromium, Synapse A and B, LiveKit A and B, both appservices)", function () {
  this.timeout(240_000);
  let testbed: Testbed;
  let appservices: Record<Ministry, AppserviceProcess>;
  const browsers: Browser[] = [];
  const pages: Page[] = [];

  const signIn = async (browser: Browser, m: Ministry, user: RegisteredUser, alias: string): Promise<Page> => {
    const { page } = await openClient(browser);
    pages.push(page);
    await signInThroughForm(page, `${HOSTS[m].serverName}:${HOSTS[m].federationPort}`, user.userId, PASSWORD);
    await page.getByTestId(`room-${alias}`).click();
    return page;
  };

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    const [a, b] = await Promise.all([startAppservice("a"), startAppservice("b")]);
    appservices = { a, b };
    browsers.push(
      ...(await Promise.all([
        launchBrowser({ namespace: HOSTS.a.namespace, runDir: testbed.runDir }),
        launchBrowser({ namespace: HOSTS.b.namespace, runDir: testbed.runDir }),
      ])),
    );
  });
  after(async () => {
    await Promise.all(pages.splice(0).map((page) => page.context().close()));
    await Promise.all(browsers.map((browser) => browser.close()));
  });

  it("the call and transcription notices read in French for alice and in English for bob; both count 2 participants, not the bots", async () => {
    const { a, b } = testbed.ministries;
    const [alice, bob] = await Promise.all([
      a.registerUser(uniqueLocalpart("alice"), { password: PASSWORD }),
      b.registerUser(uniqueLocalpart("bob"), { password: PASSWORD }),
    ]);
    const { roomId, alias } = await createMeeting(appservices.a, a, alice, "Réunion bilingue");
    await joinAlias(b, bob, alias);
    const [browserA, browserB] = browsers as [Browser, Browser];
    const pageA = await signIn(browserA, "a", alice, alias);
    const pageB = await signIn(browserB, "b", bob, alias);
    // Bob's client starts in French, the default; he picks English in the header.
    await pageB.getByTestId("locale-select").selectOption("en");
    assert.equal(await pageB.evaluate(() => document.documentElement.lang), "en");

    for (const page of [pageA, pageB]) {
      await openPrejoin(page);
      await page.getByTestId("call-join").click();
    }
    await waitForRemoteFrames(pageB, { source: "camera", userId: alice.userId });
    await waitForRemoteFrames(pageA, { source: "camera", userId: bob.userId });

    const started = await requestJson("POST", `${appservices.a.url}${TRANSCRIPTION_API_PATH}`, {
      body: { room_id: roomId, action: "start", openid_token: await openIdToken(a, alice) },
    });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const stopped = await requestJson("POST", `${appservices.a.url}${TRANSCRIPTION_API_PATH}`, {
      body: { room_id: roomId, action: "stop", openid_token: await openIdToken(b, bob) },
    });
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));

    // Each ministry's bot is in the meeting, marked as a bot in its own membership: A's created it,
    // B's followed it when bob asked B's focus for his token.
    const bots = [
      `@${appservices.a.config.appservice.sender_localpart}:${HOSTS.a.serverName}`,
      `@${appservices.b.config.appservice.sender_localpart}:${HOSTS.b.serverName}`,
    ];
    const roomPath = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}`;
    await waitUntil(
      "both ministries' bots joined, flagged as bots",
      async () => {
        const { joined } = await matrixRequest<{ joined: Record<string, unknown> }>(a.clientUrl, alice.accessToken, "GET", `${roomPath}/joined_members`);
        if (!bots.every((bot) => bot in joined)) return false;
        const flags = await Promise.all(
          bots.map(async (bot) => {
            const member = await matrixRequest<Record<string, unknown>>(a.clientUrl, alice.accessToken, "GET", `${roomPath}/state/m.room.member/${encodeURIComponent(bot)}`);
            return member[BOT_MEMBER_KEY] === true;
          }),
        );
        return flags.every(Boolean);
      },
      { timeoutMs: 30_000 },
    );

    // Both leave: A's bot posts the end of the call, once, in French (its server's language).
    await pageA.getByTestId("call-leave").click();
    await pageB.getByTestId("call-leave").click();

    for (const page of [pageA, pageB]) await page.getByTestId("tab-chat").click();
    assert.equal(await noticeText(pageA, "callStarted"), "Appel démarré");
    assert.equal(await noticeText(pageB, "callStarted"), "Call started");
    assert.equal(await noticeText(pageA, "transcriptionStarted"), "Transcription démarrée");
    assert.equal(await noticeText(pageB, "transcriptionStarted"), "Transcription started");
    assert.equal(await noticeText(pageA, "transcriptionStopped"), "Transcription arrêtée");
    assert.equal(await noticeText(pageB, "transcriptionStopped"), "Transcription stopped");
    assert.match(await noticeText(pageA, "callEnded"), /^Appel terminé · 2 participants · (< 1|1|2) min$/);
    assert.match(await noticeText(pageB, "callEnded"), /^Call ended · 2 participants · (< 1|1|2) min$/);
    // People come and go in the timeline; the bots' joins are not shown.
    const people = [alice, bob].map((user) => user.userId.slice(1).split(":")[0] ?? "?");
    for (const page of [pageA, pageB]) {
      const lines = await page.locator(".membership-line").allInnerTexts();
      assert.ok(lines.length > 0 && lines.every((line) => people.some((name) => line.includes(name))), `membership lines: ${JSON.stringify(lines)}`);
    }

    // The event itself is the same for both: French words, fields for clients.
    const messages = await matrixRequest<{ chunk: { sender: string; content: Record<string, unknown> }[] }>(
      b.clientUrl,
      bob.accessToken,
      "GET",
      `${roomPath}/messages?dir=b&limit=100`,
    );
    const ended = messages.chunk.find((e) => (e.content["org.visio.call"] as { state?: string } | undefined)?.state === "ended");
    assert.match(String(ended?.content.body), /^Appel terminé · 2 participants/);
    await saveScreenshot(pageA, "notices-french");
    await saveScreenshot(pageB, "notices-english");

    // Two people, whatever the bots: the tab's count and the list; the bots are listed apart.
    for (const [page, label] of [
      [pageA, "Participants (2)"],
      [pageB, "Members (2)"],
    ] as const) {
      const tab = page.getByTestId("tab-members");
      assert.equal((await tab.innerText()).trim(), label);
      await tab.click();
      const listed = await page.locator('[data-testid="member-list"] > li').evaluateAll((items) => items.map((li) => li.getAttribute("data-testid")));
      assert.deepEqual(listed.sort(), [`member-${alice.userId}`, `member-${bob.userId}`].sort());
      const services = await page.locator('[data-testid="service-list"] > li').evaluateAll((items) => items.map((li) => li.getAttribute("data-testid")));
      assert.deepEqual(services.sort(), bots.map((bot) => `service-${bot}`).sort());
    }
    await saveScreenshot(pageB, "members-services");
  });
});
