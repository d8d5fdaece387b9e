// A call in the web client between a user of ministry A and one of ministry B, each in their own
// Chromium inside their ministry's namespace: MatrixRTC memberships (multi_sfu, as Element Call),
// each publishing on their own ministry's LiveKit and subscribing on the other's, live video decoded
// at both ends, screen share and raise hand seen by the other.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { AccessToken } from "livekit-server-sdk";
import { liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { followJsonLines } from "../harness/json-line-process.ts";
import { waitUntil } from "../harness/wait.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { createMeeting, joinAlias, requestFocusToken } from "../harness/matrix-users.ts";
import { launchBrowser, openClient, signInThroughForm } from "../support/browser.ts";
import { openDeviceMenu, openPrejoin, sampleMicLevel, waitForRemoteFrames } from "../support/browser-call.ts";
import { saveScreenshot } from "../support/browser-screenshots.ts";

const PASSWORD = "correct horse battery staple";
const SERVER_A = `${HOSTS.a.serverName}:${HOSTS.a.federationPort}`;
const SERVER_B = `${HOSTS.b.serverName}:${HOSTS.b.federationPort}`;
const SUBTITLE_SENDER = fileURLToPath(new URL("../support/browser-subtitle-sender.ts", import.meta.url));
const REQUEST_RECORDER = fileURLToPath(new URL("../support/request-recorder.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

describe("web client: a call across two ministries (Chromium, real Synapse A and B, LiveKit A and B, both foci)", function () {
  this.timeout(120_000);
  let testbed: Testbed;
  let browserA: Browser;
  let browserB: Browser;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let alias: string;
  let roomId: string;
  let pageA: Page;
  let pageB: Page;
  let appserviceA: AppserviceProcess;
  let appserviceB: AppserviceProcess;

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    [appserviceA, appserviceB] = await Promise.all([startAppservice("a"), startAppservice("b")]);
    alice = await testbed.ministries.a.registerUser(uniqueLocalpart("alice"), { password: PASSWORD });
    bob = await testbed.ministries.b.registerUser(uniqueLocalpart("bob"), { password: PASSWORD });
    ({ roomId, alias } = await createMeeting(appserviceA, testbed.ministries.a, alice, "Appel entre ministères"));
    await joinAlias(testbed.ministries.b, bob, alias);
    [browserA, browserB] = await Promise.all([
      launchBrowser({ namespace: HOSTS.a.namespace, runDir: testbed.runDir }),
      launchBrowser({ namespace: HOSTS.b.namespace, runDir: testbed.runDir }),
    ]);
    ({ page: pageA } = await openClient(browserA));
    ({ page: pageB } = await openClient(browserB));
    await Promise.all([signInThroughForm(pageA, SERVER_A, alice.userId, PASSWORD), signInThroughForm(pageB, SERVER_B, bob.userId, PASSWORD)]);
    await pageA.getByTestId(`room-${alias}`).click();
    await pageB.getByTestId(`room-${alias}`).click();
  });
  after(async () => {
    await Promise.all([browserA?.close(), browserB?.close()]);
  });

  it("shows a pre-join screen with the camera preview, the microphone's level and the devices to choose from", async () => {
    await openPrejoin(pageA);
    assert.equal(await pageA.evaluate(() => document.activeElement?.id), "prejoin-title", "focus on the screen's heading");
    // Chromium's fake microphone beeps: the meter moves with it, and no « no sound » hint.
    const levels = await sampleMicLevel(pageA);
    assert.ok(Math.max(...levels) >= 20 && new Set(levels).size >= 3, `the meter moves: ${levels.join(" ")}`);
    assert.equal(await pageA.getByTestId("prejoin-no-sound").count(), 0);
    assert.equal(await pageA.getByTestId("call-join").isEnabled(), true);
    await saveScreenshot(pageA, "prejoin");

    const cameras = await openDeviceMenu(pageA, "videoinput");
    assert.ok(cameras.length >= 1 && cameras.every((c) => c.label !== ""), `the fake cameras listed: ${JSON.stringify(cameras)}`);
    assert.equal(cameras.filter((c) => c.checked).length, 1, "the current one checked");
    await pageA.keyboard.press("Escape");
    assert.equal(await pageA.getByTestId("device-menu-videoinput-list").count(), 0, "Escape closes the menu");
    assert.equal(await pageA.evaluate(() => document.activeElement?.getAttribute("data-testid")), "device-menu-videoinput", "and gives focus back");

    const microphones = await openDeviceMenu(pageA, "audioinput");
    assert.ok(microphones.length >= 2, `the fake microphones listed: ${JSON.stringify(microphones)}`);
    await saveScreenshot(pageA, "prejoin-device-menu");
    const other = microphones.find((m) => !m.checked)!;
    await pageA.getByTestId("device-menu-audioinput-list").getByRole("menuitemradio", { name: other.label, exact: true }).click();
    await pageA.getByTestId("prejoin-mic-level").waitFor();
    const after = await openDeviceMenu(pageA, "audioinput");
    assert.equal(after.find((m) => m.checked)?.label, other.label, "the chosen microphone is the current one");
    await pageA.keyboard.press("Escape");
    assert.ok(Math.max(...(await sampleMicLevel(pageA, 2000))) >= 20, "the meter follows the new microphone");
  });

  it("joins A and B, who each decode the other's video", async () => {
    await pageA.getByTestId("call-join").click();
    // As a user would: B joins once A's membership has reached B's homeserver over federation.
    await pageB.getByTestId("call-count").waitFor({ timeout: 30_000 });
    await openPrejoin(pageB);
    await pageB.getByTestId("call-join").click();
    const [atA, atB] = await Promise.all([
      waitForRemoteFrames(pageA, { source: "camera", userId: bob.userId }),
      waitForRemoteFrames(pageB, { source: "camera", userId: alice.userId }),
    ]);
    assert.ok(atA > 0 && atB > 0);

    // Both memberships are MatrixRTC state in the room, with a LiveKit focus.
    const state = await matrixRequest<{ type: string; state_key: string; content: Record<string, unknown> }[]>(
      testbed.ministries.a.clientUrl,
      alice.accessToken,
      "GET",
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state`,
    );
    const members = state.filter((e) => e.type === "org.matrix.msc3401.call.member" && Object.keys(e.content).length > 0);
    assert.deepEqual(members.map((e) => e.state_key.includes(alice.userId) || e.state_key.includes(bob.userId)), [true, true]);
    for (const member of members) {
      // multi_sfu, as Element Call: each publishes on their own ministry's focus.
      assert.deepEqual(member.content.focus_active, { type: "livekit", focus_selection: "multi_sfu" });
      const own = member.state_key.includes(alice.userId) ? HOSTS.a : HOSTS.b;
      const [preferred] = member.content.foci_preferred as { livekit_service_url?: string }[];
      assert.ok(preferred?.livekit_service_url?.startsWith(`http://${own.address}:${own.appservicePort}/`), `${member.state_key} publishes at home: ${preferred?.livekit_service_url}`);
    }

    // Frames keep coming: live media, not one stuck picture.
    const later = await waitForRemoteFrames(pageA, { source: "camera", userId: bob.userId, minFrames: atA + 10 });
    assert.ok(later >= atA + 10);
    await saveScreenshot(pageA, "two-person-call");
  });

  it("sends no OpenID token to a focus that a member names but their ministry does not announce", async () => {
    // Mallory, a member of B, writes a membership naming a focus of her own choosing.
    const mallory = await testbed.ministries.b.registerUser(uniqueLocalpart("mallory"), { password: PASSWORD });
    await joinAlias(testbed.ministries.b, mallory, alias);
    const recorder = followJsonLines(
      testbed.spawnInNamespace(HOSTS.b.namespace, process.execPath, [REQUEST_RECORDER, HOSTS.b.address, "9099"], { logName: "e2e-focus-collector", cwd: REPO_ROOT }),
    );
    try {
      await recorder.waitFor("listening", (r) => r.event === "listening", 20_000);
      await matrixRequest(testbed.ministries.b.clientUrl, mallory.accessToken, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/org.matrix.msc3401.call.member/${encodeURIComponent(`_${mallory.userId}_${mallory.deviceId}_m.call`)}`, {
        application: "m.call",
        call_id: "",
        scope: "m.room",
        device_id: mallory.deviceId,
        expires: 3_600_000,
        focus_active: { type: "livekit", focus_selection: "multi_sfu" },
        foci_preferred: [{ type: "livekit", livekit_service_url: `http://${HOSTS.b.address}:9099/livekit/jwt`, livekit_alias: roomId }],
      });
      // Both clients see her in the call (a tile waiting for media), and call nobody at her URL.
      for (const page of [pageA, pageB]) {
        await page.locator(`[data-testid="video-tile"][data-user-id="${mallory.userId}"][data-waiting="true"]`).waitFor({ timeout: 30_000 });
      }
      await pageA.waitForTimeout(3000);
      assert.deepEqual((await recorder.reports()).filter((r) => r.event === "request"), [], "no request reached the focus she named");
    } finally {
      await matrixRequest(testbed.ministries.b.clientUrl, mallory.accessToken, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/org.matrix.msc3401.call.member/${encodeURIComponent(`_${mallory.userId}_${mallory.deviceId}_m.call`)}`, {});
      await recorder.process.stop();
    }
  });

  it("shows A's screen share at B", async () => {
    await pageA.getByTestId("call-screen").click();
    const frames = await waitForRemoteFrames(pageB, { source: "screen", userId: alice.userId });
    assert.ok(frames > 0);
    await pageA.getByTestId("call-screen").click();
    await pageB.locator('[data-testid="video-tile"][data-source="screen"]').waitFor({ state: "detached", timeout: 30_000 });
  });

  it("shows B's raised hand at A, and its lowering", async () => {
    await pageB.getByTestId("call-hand").click();
    const hand = pageA.locator(`[data-testid="video-tile"][data-user-id="${bob.userId}"] [data-testid="tile-hand"]`);
    await hand.waitFor({ timeout: 30_000 });
    await pageB.getByTestId("call-hand").click();
    await hand.waitFor({ state: "detached", timeout: 30_000 });
  });

  it("shows live subtitles with the speaker's name, never a tile for the transcription agent, and no subtitle a caller forges", async () => {
    const livekit = testbed.livekit.a;
    // A member of the meeting, with the call token any caller gets, sends subtitles under alice's name.
    const carol = await testbed.ministries.a.registerUser(uniqueLocalpart("carol"), { password: PASSWORD });
    await joinAlias(testbed.ministries.a, carol, alias);
    const carolsToken = await requestFocusToken(appserviceA.url, roomId, testbed.ministries.a, carol);
    assert.equal(carolsToken.status, 200, JSON.stringify(carolsToken.body));
    // Every subtitle line B's page ever shows, from now on.
    await pageB.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { subtitlesSeen: string[] }).subtitlesSeen = seen;
      new MutationObserver(() => {
        document.querySelectorAll('[data-testid="subtitle-line"]').forEach((line) => seen.push(line.textContent ?? ""));
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const forger = followJsonLines(
      testbed.spawnInNamespace(HOSTS.a.namespace, process.execPath, [SUBTITLE_SENDER, String(carolsToken.body.url), String(carolsToken.body.jwt), alice.userId, "Je démissionne", "Je démissionne ce soir."], {
        logName: "e2e-subtitle-forger",
        cwd: REPO_ROOT,
      }),
    );
    await forger.waitFor("forged subtitles sent or refused", (r) => r.event === "sent" || r.event === "error", 30_000);
    const token = new AccessToken(livekit.apiKey, livekit.apiSecret, { identity: "visio-transcriber-e2e", ttl: 600 });
    token.kind = "agent";
    token.addGrant({ roomJoin: true, room: liveKitRoomAlias(roomId, "m.call#ROOM"), canSubscribe: true, canPublish: false, canPublishData: true });
    const sender = followJsonLines(
      testbed.spawnInNamespace(HOSTS.a.namespace, process.execPath, [SUBTITLE_SENDER, livekit.url, await token.toJwt(), alice.userId, "Bonjour à", "Bonjour à tous, le budget est validé."], {
        logName: "e2e-subtitle-sender",
        cwd: REPO_ROOT,
      }),
    );
    try {
      await sender.waitFor("connected", (r) => r.event === "connected", 30_000);
      const line = pageB.getByTestId("subtitle-line").filter({ hasText: "Bonjour à tous, le budget est validé." });
      await line.waitFor({ timeout: 30_000 });
      assert.match(await line.innerText(), new RegExp(`^${alice.userId.slice(1).split(":")[0]}`), "the speaker is named by their Matrix name");
      assert.equal(await pageB.getByTestId("subtitle-line").count(), 1, "the final version replaced the interim one");
      const seen = await pageB.evaluate(() => (window as unknown as { subtitlesSeen: string[] }).subtitlesSeen);
      assert.ok(seen.some((text) => text.includes("Bonjour à tous")), "the page's subtitle lines were watched");
      assert.ok(!seen.some((text) => text.includes("démissionne")), `a subtitle sent by a caller, before the agent's, was shown: ${seen.join(" | ")}`);
      assert.equal(await pageB.locator('[data-testid="video-tile"][data-source="camera"]').count(), 2, "the agent has no tile");
    } finally {
      await Promise.all([sender.process.stop(), forger.process.stop()]);
    }
  });

  it("reconnects after the link between the ministries drops, and B's video comes back at A", async () => {
    const link = ["-n", HOSTS.b.namespace, "link", "set", "visab-b"];
    execFileSync("ip", [...link, "down"]);
    try {
      await pageB.getByTestId("call-reconnecting").waitFor({ timeout: 30_000 });
    } finally {
      execFileSync("ip", [...link, "up"]);
    }
    await pageB.getByTestId("call-reconnecting").waitFor({ state: "detached", timeout: 45_000 });
    const before = await waitForRemoteFrames(pageA, { source: "camera", userId: bob.userId });
    const after = await waitForRemoteFrames(pageA, { source: "camera", userId: bob.userId, minFrames: before + 10, timeoutMs: 30_000 });
    assert.ok(after >= before + 10);
  });

  it("a reload mid-call brings B back to the meeting with an offer to rejoin; A sees B go, then come back", async () => {
    await pageB.reload();
    await pageB.getByTestId("room-alias").filter({ hasText: alias }).waitFor({ timeout: 30_000 });
    const offer = pageB.getByTestId("call-return");
    await offer.waitFor({ timeout: 30_000 });
    assert.equal(await offer.getAttribute("data-reason"), "reloaded");
    assert.match(await offer.innerText(), /Vous étiez dans l'appel de cette réunion/);
    await pageA.locator(`[data-testid="video-tile"][data-user-id="${bob.userId}"]`).waitFor({ state: "detached", timeout: 30_000 });
    await saveScreenshot(pageB, "call-after-reload");
    await pageB.getByTestId("call-rejoin").click();
    await pageB.getByTestId("prejoin").waitFor();
    await pageB.getByTestId("call-join").click();
    await waitForRemoteFrames(pageA, { source: "camera", userId: bob.userId, minFrames: 10 });
    await waitForRemoteFrames(pageB, { source: "camera", userId: alice.userId, minFrames: 10 });
  });

  it("leaves: B sees the leave screen with Rejoindre, B's tile goes away at A and B's membership is emptied", async () => {
    await pageB.getByTestId("call-leave").click();
    const offer = pageB.getByTestId("call-return");
    await offer.waitFor({ timeout: 10_000 });
    assert.equal(await offer.getAttribute("data-reason"), "left");
    assert.match(await offer.innerText(), /Vous avez quitté l'appel/);
    assert.equal(await pageB.evaluate(() => document.activeElement?.id), "call-return-title", "focus on what changed");
    await pageB.getByTestId("call-rejoin").waitFor();
    await saveScreenshot(pageB, "call-left");
    await pageA.locator(`[data-testid="video-tile"][data-user-id="${bob.userId}"]`).waitFor({ state: "detached", timeout: 30_000 });
    await waitUntil(
      "B's call membership is emptied",
      async () => {
        const state = await matrixRequest<{ type: string; state_key: string; content: Record<string, unknown> }[]>(
          testbed.ministries.a.clientUrl,
          alice.accessToken,
          "GET",
          `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state`,
        );
        return !state.some((e) => e.type === "org.matrix.msc3401.call.member" && e.state_key.includes(bob.userId) && Object.keys(e.content).length > 0);
      },
      { timeoutMs: 30_000 },
    );
    await pageA.getByTestId("call-leave").click();
  });

  it("a tab closed without leaving: the delayed leave it handed to its own focus ends its membership within seconds", async () => {
    const carol = await testbed.ministries.b.registerUser(uniqueLocalpart("carol"), { password: PASSWORD });
    await joinAlias(testbed.ministries.b, carol, alias);
    const { page, context } = await openClient(browserB);
    await signInThroughForm(page, SERVER_B, carol.userId, PASSWORD);
    await page.getByTestId(`room-${alias}`).click();
    await openPrejoin(page);
    await page.getByTestId("call-join").click();
    const carolInCall = async (): Promise<boolean> => {
      const state = await matrixRequest<{ type: string; state_key: string; content: Record<string, unknown> }[]>(
        testbed.ministries.b.clientUrl,
        carol.accessToken,
        "GET",
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state`,
      );
      return state.some((e) => e.type === "org.matrix.msc3401.call.member" && e.state_key.includes(carol.userId) && Object.keys(e.content).length > 0);
    };
    const loggedForCarol = (msg: string): boolean =>
      readFileSync(appserviceB.process.logPath, "utf8")
        .split("\n")
        .some((line) => line.includes(`"${msg}"`) && line.includes(carol.userId));
    await waitUntil("carol's delayed leave handed to B's focus", async () => loggedForCarol("delayed leave delegated"), { timeoutMs: 30_000 });
    assert.ok(await carolInCall());
    const closedAt = Date.now();
    await context.close();
    // Her own delay is 20 s: well before that, B's focus had it sent once her LiveKit connection went.
    await waitUntil("carol's membership emptied", async () => !(await carolInCall()), { timeoutMs: 15_000, intervalMs: 250 });
    const emptiedAfter = Date.now() - closedAt;
    // By the focus: the appservice logs it once the homeserver has answered, which can be after the
    // homeserver emptied the membership.
    await waitUntil("B's appservice sent carol's delayed leave", async () => loggedForCarol("delegated leave sent"), { timeoutMs: 5_000 });
    process.stderr.write(`      tab closed → membership emptied: ${emptiedAfter} ms\n`);
  });
});
