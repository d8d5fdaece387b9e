// The call as its users see it, with four people of two ministries in Chromium: the grid that fills
// the stage, the speaker view, a pin, a shared screen taking the stage, toasts for joins and hands,
// the hand queue in order, the in-call list, keyboard shortcuts, focus, and the phone layout.
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { startAppservice } from "../support/appservice-process.ts";
import { launchBrowser } from "../support/browser.ts";
import { joinCallOnNewPage, waitForRemoteFrames } from "../support/browser-call.ts";
import { PHONE_VIEWPORT, saveScreenshot } from "../support/browser-screenshots.ts";
import { createMeeting, joinAlias } from "../harness/matrix-users.ts";

const PASSWORD = "correct horse battery staple";
const SERVER = { a: `${HOSTS.a.serverName}:${HOSTS.a.federationPort}`, b: `${HOSTS.b.serverName}:${HOSTS.b.federationPort}` };

interface Person {
  user: RegisteredUser;
  page: Page;
}

const tile = (page: Page, userId: string, source: "camera" | "screen" = "camera") =>
  page.locator(`[data-testid="video-tile"][data-source="${source}"][data-user-id="${userId}"]`);

/** The share of the stage's area its tiles cover. */
async function stageCoverage(page: Page): Promise<number> {
  return page.getByTestId("stage-area").evaluate((area) => {
    const box = area.getBoundingClientRect();
    const tiles = Array.from(area.querySelectorAll('[data-testid="video-tile"]')).map((t) => t.getBoundingClientRect());
    return tiles.reduce((sum, t) => sum + t.width * t.height, 0) / (box.width * box.height);
  });
}

describe("in the call: stage, bar, toasts and hands, phone (Chromium, four people of A and B, real Synapse and LiveKit)", function () {
  this.timeout(180_000);
  let testbed: Testbed;
  const browsers: Browser[] = [];
  let alias: string;
  let alice: Person;
  let carol: Person;
  let bob: Person;
  let daveUser: RegisteredUser;
  let dave: Person;

  const person = async (browser: Browser, user: RegisteredUser, ministry: "a" | "b"): Promise<Person> => {
    const page = await joinCallOnNewPage(browser, SERVER[ministry], user.userId, PASSWORD, alias);
    await page.getByTestId("call-controls").waitFor({ timeout: 30_000 });
    return { user, page };
  };

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    const [appserviceA] = await Promise.all([startAppservice("a"), startAppservice("b")]);
    const { a, b } = testbed.ministries;
    const [aliceUser, carolUser, bobUser, dUser] = await Promise.all([
      a.registerUser(uniqueLocalpart("alice"), { password: PASSWORD }),
      a.registerUser(uniqueLocalpart("carol"), { password: PASSWORD }),
      b.registerUser(uniqueLocalpart("bob"), { password: PASSWORD }),
      b.registerUser(uniqueLocalpart("dave"), { password: PASSWORD }),
    ]);
    daveUser = dUser;
    ({ alias } = await createMeeting(appserviceA, a, aliceUser, "Point d'étape"));
    await Promise.all([joinAlias(a, carolUser, alias), joinAlias(b, bobUser, alias), joinAlias(b, daveUser, alias)]);
    const [browserA, browserB] = await Promise.all([
      launchBrowser({ namespace: HOSTS.a.namespace, runDir: testbed.runDir }),
      launchBrowser({ namespace: HOSTS.b.namespace, runDir: testbed.runDir }),
    ]);
    browsers.push(browserA, browserB);
    // One after the other: four pages starting their cameras at once is a lot for this machine.
    alice = await person(browserA, aliceUser, "a");
    carol = await person(browserA, carolUser, "a");
    bob = await person(browserB, bobUser, "b");
    for (const other of [carol, bob]) await waitForRemoteFrames(alice.page, { source: "camera", userId: other.user.userId });
  });
  after(async () => {
    await Promise.all(browsers.map((browser) => browser.close()));
  });

  it("a fourth person joins: the others are told, the newcomer's focus is on the stage, and four tiles fill the stage", async () => {
    dave = await person(browsers[1]!, daveUser, "b");
    // Focus moved to the call on joining, not left on the page's body.
    assert.equal(await dave.page.evaluate(() => document.activeElement?.id), "call-stage-title");
    await alice.page.getByTestId("call-toast").filter({ hasText: `${dave.user.userId.slice(1).split(":")[0]} a rejoint l'appel` }).waitFor({ timeout: 30_000 });
    assert.equal(await alice.page.getByTestId("call-toasts").getAttribute("aria-live"), "polite");
    await waitForRemoteFrames(alice.page, { source: "camera", userId: dave.user.userId });
    assert.equal(await alice.page.getByTestId("stage-area").getAttribute("data-layout"), "grid");
    assert.equal(await alice.page.locator('[data-testid="stage-grid"] [data-testid="video-tile"]').count(), 4);
    const coverage = await stageCoverage(alice.page);
    assert.ok(coverage > 0.5, `the tiles cover ${Math.round(coverage * 100)} % of the stage`);
    await saveScreenshot(alice.page, "call-grid");
  });

  it("the speaker view puts someone else in the spotlight; a pin overrides it", async () => {
    const { page } = alice;
    const speakerView = page.getByTestId("call-speaker-view");
    await speakerView.click();
    assert.equal(await speakerView.getAttribute("aria-pressed"), "true");
    const spotlight = page.locator('[data-testid="stage-spotlight"] [data-testid="video-tile"]');
    assert.equal(await spotlight.getAttribute("data-local"), "false");
    assert.equal(await page.locator('[data-testid="stage-strip"] [data-testid="video-tile"]').count(), 3);
    await saveScreenshot(page, "call-speaker-view");
    // Pin carol from the strip: she takes the spotlight until unpinned.
    await tile(page, carol.user.userId).hover();
    await tile(page, carol.user.userId).getByTestId("tile-pin").click();
    await waitUntil("carol in the spotlight", async () => (await spotlight.getAttribute("data-user-id")) === carol.user.userId, { timeoutMs: 10_000, intervalMs: 100 });
    assert.equal(await spotlight.getAttribute("data-pinned"), "true");
    await spotlight.getByTestId("tile-pin").click();
    await speakerView.click();
    await page.getByTestId("stage-grid").waitFor();
  });

  it("a screen shared by B takes A's stage, then gives it back", async () => {
    await bob.page.getByTestId("call-screen").click();
    await waitForRemoteFrames(alice.page, { source: "screen", userId: bob.user.userId });
    const spotlight = alice.page.locator('[data-testid="stage-spotlight"] [data-testid="video-tile"]');
    assert.equal(await spotlight.getAttribute("data-source"), "screen");
    assert.equal(await spotlight.getAttribute("data-user-id"), bob.user.userId);
    await saveScreenshot(alice.page, "call-screen-share");
    await bob.page.getByTestId("call-screen").click();
    await alice.page.getByTestId("stage-grid").waitFor({ timeout: 30_000 });
  });

  it("hands: a toast for each, the queue in the order they went up, the in-call list with ministry and microphone", async () => {
    const { page } = alice;
    await bob.page.getByTestId("call-hand").click();
    await page.getByTestId("call-toast").filter({ hasText: "a levé la main" }).first().waitFor({ timeout: 30_000 });
    await tile(page, bob.user.userId).getByTestId("tile-hand").waitFor({ timeout: 30_000 });
    await dave.page.keyboard.press("Control+Alt+H");
    await tile(page, dave.user.userId).getByTestId("tile-hand").waitFor({ timeout: 30_000 });
    assert.equal(await dave.page.getByTestId("call-hand").getAttribute("aria-pressed"), "true");
    assert.equal(await tile(page, dave.user.userId).getByTestId("tile-hand").getAttribute("aria-label"), "Main levée, n° 2");

    await page.getByTestId("call-show-participants").click();
    const queue = page.getByTestId("hand-queue").locator("li");
    assert.deepEqual(await queue.evaluateAll((items) => items.map((li) => li.getAttribute("data-user-id"))), [bob.user.userId, dave.user.userId]);
    const bobRow = page.getByTestId(`call-participant-${bob.user.userId}`);
    assert.match((await bobRow.textContent()) ?? "", new RegExp(HOSTS.b.serverName.replace(/\./g, "\\.")));
    assert.equal(await bobRow.getByTestId("participant-mic").getAttribute("data-muted"), "false");
    await saveScreenshot(page, "call-participants");
    for (const p of [bob, dave]) await p.page.getByTestId("call-hand").click();
    await page.getByTestId("hand-queue").waitFor({ state: "detached", timeout: 30_000 });
    await page.getByTestId("tab-chat").click();
  });

  it("Ctrl+D mutes and unmutes the microphone: the button keeps its name, the others see it", async () => {
    const mic = carol.page.getByTestId("call-mic");
    const name = await mic.getAttribute("aria-label");
    assert.equal(await mic.getAttribute("aria-pressed"), "true");
    await carol.page.keyboard.press("Control+D");
    await waitUntil("mic off", async () => (await mic.getAttribute("aria-pressed")) === "false", { timeoutMs: 10_000, intervalMs: 100 });
    assert.equal(await mic.getAttribute("aria-label"), name);
    await tile(bob.page, carol.user.userId).getByTestId("tile-muted").waitFor({ timeout: 30_000 });
    await carol.page.keyboard.press("Control+D");
    await tile(bob.page, carol.user.userId).getByTestId("tile-muted").waitFor({ state: "detached", timeout: 30_000 });
  });

  it("on a phone the stage takes most of the screen and the bar stays in view; the participants cover it only when asked", async () => {
    const { page } = bob;
    await page.setViewportSize(PHONE_VIEWPORT);
    try {
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
      const stage = await page.getByTestId("stage-area").boundingBox();
      const bar = await page.getByTestId("call-controls").boundingBox();
      assert.ok(stage !== null && bar !== null);
      assert.ok(stage.height >= 0.6 * PHONE_VIEWPORT.height, `stage ${Math.round(stage.height)} px of ${PHONE_VIEWPORT.height}`);
      assert.ok(bar.y >= 0 && bar.y + bar.height <= PHONE_VIEWPORT.height, `bar at ${bar.y}..${bar.y + bar.height}`);
      assert.ok(bar.width <= PHONE_VIEWPORT.width, `bar ${bar.width} px wide`);
      await page.getByTestId("call-show-participants").click();
      await page.getByTestId("call-participants").waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.id), "tab-members");
      await page.getByTestId("call-close-panel").click();
      await page.getByTestId("call-participants").waitFor({ state: "hidden" });
      assert.equal(await page.evaluate(() => document.activeElement?.id), "call-stage-title");
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it("someone leaving is told to the others", async () => {
    await dave.page.getByTestId("call-leave").click();
    await alice.page.getByTestId("call-toast").filter({ hasText: "a quitté l'appel" }).waitFor({ timeout: 30_000 });
    await tile(alice.page, dave.user.userId).waitFor({ state: "detached", timeout: 30_000 });
  });
});
