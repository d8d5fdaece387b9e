// The web client in two real browsers, one per ministry (Chromium inside namespaces visio-a and
// visio-b), against the real Synapse A and B and A's appservice: sign in by server name, join the same
// meeting room, chat both ways, members' ministries, transcript thread; the sign-in errors.
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import type { TranscriptFields, TranscriptionStateContent } from "../../config/wire-types.ts";
import { TRANSCRIPTION_STATE_EVENT } from "../../config/wire-types.ts";
import { MatrixRequestError, matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { createMeeting, joinAlias } from "../harness/matrix-users.ts";
import { CLIENT_ORIGIN, joinMeeting, launchBrowser, openClient, signInThroughForm } from "../support/browser.ts";
import { saveScreenshot } from "../support/browser-screenshots.ts";

const PASSWORD = "correct horse battery staple";
// Server names with the port of their client listener: no .well-known is served on 443 here.
const SERVER_A = `${HOSTS.a.serverName}:${HOSTS.a.federationPort}`;
const SERVER_B = `${HOSTS.b.serverName}:${HOSTS.b.federationPort}`;

describe("web client: sign-in, meeting room and chat across two ministries (Chromium, real Synapse A and B)", function () {
  this.timeout(120_000);
  let testbed: Testbed;
  let browserA: Browser;
  let browserB: Browser;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let alias: string;
  let pageA: Page;
  let pageB: Page;
  /** The meeting the 'Nouvelle réunion' test creates. */
  let created = "";
  let appservice: AppserviceProcess;

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    appservice = await startAppservice("a");
    const aliceName = uniqueLocalpart("alice");
    const bobName = uniqueLocalpart("bob");
    alice = await testbed.ministries.a.registerUser(aliceName, { password: PASSWORD });
    bob = await testbed.ministries.b.registerUser(bobName, { password: PASSWORD });
    ({ alias } = await createMeeting(appservice, testbed.ministries.a, alice, "Réunion interministérielle"));
    [browserA, browserB] = await Promise.all([
      launchBrowser({ namespace: HOSTS.a.namespace, runDir: testbed.runDir }),
      launchBrowser({ namespace: HOSTS.b.namespace, runDir: testbed.runDir }),
    ]);
  });
  after(async () => {
    await Promise.all([browserA?.close(), browserB?.close()]);
  });

  it("shows a clear error for a wrong password, and keeps what was typed", async () => {
    const { page, context } = await openClient(browserA);
    await page.getByTestId("sign-in-server").fill(SERVER_A);
    await page.getByTestId("sign-in-username").fill(alice.userId);
    await page.getByTestId("sign-in-password").fill("wrong password");
    await page.getByTestId("sign-in-submit").click();
    const error = page.getByTestId("sign-in-error");
    await error.waitFor();
    assert.equal(await error.getAttribute("data-errcode"), "M_FORBIDDEN");
    assert.match(await error.innerText(), /mot de passe incorrect/);
    assert.equal(await page.getByTestId("sign-in-server").inputValue(), SERVER_A);
    assert.equal(await page.getByTestId("sign-in-password").inputValue(), "", "the password is not kept");
    await context.close();
  });

  it("draws its text in Marianne, the State's font, which the client serves itself under its Content-Security-Policy", async () => {
    const { page, context } = await openClient(browserA);
    await page.getByTestId("sign-in-server").waitFor();
    const fonts = await page.evaluate(async () => {
      // A font the client does not serve, or its policy blocks, rejects here: say so, not a bare network error.
      const failure = await document.fonts.load("16px Marianne").then(
        () => null,
        (error: unknown) => String(error),
      );
      await document.fonts.ready;
      let loaded = 0;
      document.fonts.forEach((face) => {
        if (face.family.replaceAll('"', "") === "Marianne" && face.status === "loaded") loaded += 1;
      });
      return {
        failure,
        body: getComputedStyle(document.body).fontFamily,
        loaded,
        urls: performance.getEntriesByType("resource").map((entry) => entry.name).filter((name) => /Marianne/.test(name)),
      };
    });
    assert.equal(fonts.failure, null, "Marianne loads from the client");
    assert.match(fonts.body, /^"?Marianne"?,/);
    assert.ok(fonts.loaded > 0, "a Marianne face is loaded");
    assert.ok(fonts.urls.length > 0 && fonts.urls.every((url) => url.startsWith(`${CLIENT_ORIGIN}/`)), `the fonts come from the client (${fonts.urls.join(", ")})`);
    await context.close();
  });

  it("shows a clear error for an unknown homeserver, in the chosen language", async () => {
    const { page, context } = await openClient(browserA, { locale: "en" });
    await page.getByTestId("sign-in-server").fill("ministry-x.test");
    await page.getByTestId("sign-in-username").fill("alice");
    await page.getByTestId("sign-in-password").fill(PASSWORD);
    await page.getByTestId("sign-in-submit").click();
    const error = page.getByTestId("sign-in-error");
    await error.waitFor({ timeout: 30_000 });
    assert.equal(await error.getAttribute("data-errcode"), "ORG.VISIO.UNKNOWN_SERVER");
    assert.match(await error.innerText(), /Unknown server: no Matrix server answers at “ministry-x\.test”/);
    await context.close();
  });

  it("signs in users of A and B, who join the same meeting by alias and see each other's ministry", async () => {
    ({ page: pageA } = await openClient(browserA));
    ({ page: pageB } = await openClient(browserB));
    await Promise.all([
      // As a person types it: the server name alone (its .well-known names the homeserver) and a user name.
      signInThroughForm(pageA, HOSTS.a.serverName, alice.userId.slice(1).split(":")[0] ?? "", PASSWORD),
      signInThroughForm(pageB, SERVER_B, bob.userId, PASSWORD),
    ]);
    assert.match(await pageA.getByTestId("signed-in-as").innerText(), new RegExp(alice.userId.replace(/[.]/g, "\\.")));
    await joinMeeting(pageA, alias);
    await joinMeeting(pageB, alias);

    await pageA.getByTestId("tab-members").click();
    const bobEntry = pageA.getByTestId(`member-${bob.userId}`);
    await bobEntry.waitFor({ timeout: 30_000 });
    assert.match(await bobEntry.innerText(), /ministry-b\.test/);
    await pageA.getByTestId("tab-chat").click();
  });

  it("chats both ways across the federation", async () => {
    const fromA = `Bonjour de A ${Date.now()}`;
    await pageA.getByTestId("composer-input").fill(fromA);
    await pageA.getByTestId("composer-input").press("Enter");
    await pageB.getByTestId("message-body").filter({ hasText: fromA }).waitFor({ timeout: 30_000 });

    const fromB = `Réponse de B ${Date.now()}`;
    await pageB.getByTestId("composer-input").fill(fromB);
    await pageB.getByTestId("composer-send").click();
    await pageA.getByTestId("message-body").filter({ hasText: fromB }).waitFor({ timeout: 30_000 });
    assert.equal(await pageA.getByTestId("composer-input").inputValue(), "", "the composer empties once sent");
  });

  it("shares a meeting by its link: a user of B opens it, signs in by typing bruno@ministry-b.test, lands in it, and a reload keeps it", async () => {
    await pageA.getByTestId("copy-link").click();
    // http://visio.test is not a secure context: no Clipboard API, so the link is shown selected for Ctrl+C.
    const link = await pageA.getByTestId("meeting-link").inputValue();
    assert.equal(link, `${CLIENT_ORIGIN}/#/m/${encodeURIComponent(alias)}`);
    assert.equal(new URL(pageA.url()).hash, `#/m/${encodeURIComponent(alias)}`, "the page's own URL names the open meeting");

    const brunoName = uniqueLocalpart("bruno");
    await testbed.ministries.b.registerUser(brunoName, { password: PASSWORD });
    const { page, context } = await openClient(browserB);
    await page.goto(link);
    // The server field left empty: the account names it.
    await signInThroughForm(page, "", `${brunoName}@${HOSTS.b.serverName}`, PASSWORD);
    await page.getByTestId("room-alias").filter({ hasText: alias }).waitFor({ timeout: 30_000 });
    assert.match(await page.getByTestId("signed-in-as").innerText(), new RegExp(`@${brunoName}:ministry-b\\.test`));
    await saveScreenshot(page, "meeting-opened-from-link");

    await page.reload();
    await page.getByTestId("room-alias").filter({ hasText: alias }).waitFor({ timeout: 30_000 });

    // A mistyped link (the meeting's address with another tail) says so, in French, and creates nothing.
    const missing = alias.replace(/-([a-z0-9]{4}):/, (_, tail: string) => `-${tail === "zzzz" ? "yyyy" : "zzzz"}:`);
    await page.goto(`${CLIENT_ORIGIN}/#/m/${encodeURIComponent(missing)}`);
    const error = page.getByTestId("join-error");
    await error.waitFor({ timeout: 30_000 });
    assert.match(await error.innerText(), /n'existe pas/);
    const lookup = await matrixRequest(testbed.ministries.a.clientUrl, alice.accessToken, "GET", `/_matrix/client/v3/directory/room/${encodeURIComponent(missing)}`).then(
      () => null,
      (err: unknown) => err,
    );
    assert.ok(lookup instanceof MatrixRequestError && lookup.status === 404, "no room behind the mistyped address");
    await context.close();
  });

  it("creates a meeting with the title its creator gives ('Nouvelle réunion'): she lands in it under its own address, invites a user of B, who joins from the invitation", async () => {
    const previous = new URL(pageA.url()).hash;
    await pageA.getByTestId("new-meeting").click();
    await pageA.getByTestId("new-meeting-submit").click();
    assert.equal(await pageA.getByTestId("new-meeting-title").evaluate((input: HTMLInputElement) => input.validity.valueMissing), true, "no title, no meeting");
    await pageA.getByTestId("new-meeting-title").fill("Comité budget 2027");
    await pageA.getByTestId("new-meeting-submit").click();
    await pageA.getByTestId("room-title").filter({ hasText: "Comité budget 2027" }).waitFor({ timeout: 30_000 });
    created = (await pageA.getByTestId("room-alias").innerText()).trim();
    assert.match(created, /^#visio-comite-budget-2027-[a-z0-9]{4}:ministry-a\.test$/);
    assert.equal(new URL(pageA.url()).hash, `#/m/${encodeURIComponent(created)}`);
    await saveScreenshot(pageA, "meeting-created");

    // She invites B's user by the address he signs in with; his client shows the invitation at once.
    await pageA.getByTestId("tab-members").click();
    await pageA.getByTestId("invite-user").fill("not an address");
    await pageA.getByTestId("invite-submit").click();
    assert.match(await pageA.getByTestId("invite-error").innerText(), /nom@serveur/);
    await pageA.getByTestId("invite-user").fill(`${bob.userId.slice(1).split(":")[0]}@${HOSTS.b.serverName}`);
    await pageA.getByTestId("invite-submit").click();
    await pageA.getByTestId("invite-sent").filter({ hasText: bob.userId }).waitFor({ timeout: 30_000 });
    const invitation = pageB.getByTestId("invitations").locator("li").filter({ hasText: "Comité budget 2027" });
    await invitation.waitFor({ timeout: 30_000 });
    await saveScreenshot(pageB, "meeting-invitation");
    await invitation.getByTestId("invitation-accept").click();
    await pageB.getByTestId("room-title").filter({ hasText: "Comité budget 2027" }).waitFor({ timeout: 30_000 });
    assert.equal(new URL(pageB.url()).hash, `#/m/${encodeURIComponent(created)}`);
    await pageB.getByTestId("invitations").waitFor({ state: "detached", timeout: 30_000 });
    // Back to the shared meeting the other tests use.
    await pageA.goto(`${CLIENT_ORIGIN}/${previous}`);
    await pageB.goto(`${CLIENT_ORIGIN}/${previous}`);
    await pageA.getByTestId("room-alias").filter({ hasText: alias }).waitFor({ timeout: 30_000 });
    await pageB.getByTestId("room-alias").filter({ hasText: alias }).waitFor({ timeout: 30_000 });
    await pageA.getByTestId("tab-chat").click();
  });

  it("a meeting that asks for admission: a user of B knocks from its link and waits in the lobby, its moderator admits him; another is turned down and told", async () => {
    assert.notEqual(created, "", "the meeting of the test before");
    const link = `${CLIENT_ORIGIN}/#/m/${encodeURIComponent(created)}`;
    await pageA.goto(link);
    await pageA.getByTestId("room-alias").filter({ hasText: created }).waitFor({ timeout: 30_000 });
    await pageA.getByTestId("tab-members").click();
    await pageA.getByTestId("admission-required").check();
    await pageA.waitForFunction(() => document.querySelector<HTMLInputElement>('[data-testid="admission-required"]')?.checked === true);

    const knockFromLink = async (name: string) => {
      await testbed.ministries.b.registerUser(name, { password: PASSWORD });
      const { page, context } = await openClient(browserB);
      await page.goto(link);
      await signInThroughForm(page, "", `${name}@${HOSTS.b.serverName}`, PASSWORD);
      assert.match(await page.getByTestId("join-error").innerText({ timeout: 30_000 }), /pas encore admis/);
      await page.getByTestId("knock").click();
      await page.getByTestId("lobby-waiting").waitFor({ timeout: 30_000 });
      return { page, context, userId: `@${name}:${HOSTS.b.serverName}` };
    };

    const admitted = await knockFromLink(uniqueLocalpart("hugo"));
    // The waiting user sees their own camera while they wait.
    await admitted.page.waitForFunction(() => {
      const video = document.querySelector<HTMLVideoElement>('[data-testid="lobby-preview"]');
      return video !== null && video.getVideoPlaybackQuality().totalVideoFrames > 0;
    }, undefined, { timeout: 30_000 });
    await saveScreenshot(admitted.page, "lobby-waiting");
    const waiting = pageA.getByTestId(`waiting-${admitted.userId}`);
    await waiting.waitFor({ timeout: 30_000 });
    await saveScreenshot(pageA, "waiting-room");
    await waiting.getByTestId("waiting-admit").click();
    await admitted.page.getByTestId("room-title").filter({ hasText: "Comité budget 2027" }).waitFor({ timeout: 30_000 });
    await pageA.getByTestId(`member-${admitted.userId}`).waitFor({ timeout: 30_000 });
    await admitted.context.close();

    const refused = await knockFromLink(uniqueLocalpart("ines"));
    await pageA.getByTestId(`waiting-${refused.userId}`).getByTestId("waiting-refuse").click();
    await refused.page.getByTestId("lobby-refused").waitFor({ timeout: 30_000 });
    assert.match(await refused.page.getByTestId("lobby-refused").innerText(), /refusée/);
    await pageA.getByTestId("waiting-room").waitFor({ state: "detached", timeout: 30_000 });
    await refused.context.close();

    await pageA.goto(`${CLIENT_ORIGIN}/#/m/${encodeURIComponent(alias)}`);
    await pageA.getByTestId("room-alias").filter({ hasText: alias }).waitFor({ timeout: 30_000 });
    await pageA.getByTestId("tab-chat").click();
  });

  it("renders a transcript as a thread of edited notices under 'Transcription started'", async () => {
    // A third member posts the thread in the bridge's event shapes (the live bridge is covered by
    // bridge-transcript-thread.test.ts); the client must group it and apply the edits.
    const { a } = testbed.ministries;
    const scribe = await a.registerUser(uniqueLocalpart("scribe"));
    const roomId = await joinAlias(a, scribe, alias);
    let txn = 0;
    const send = async (content: Record<string, unknown>): Promise<string> => {
      txn += 1;
      const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/t${Date.now()}-${txn}`;
      return (await matrixRequest<{ event_id: string }>(a.clientUrl, scribe.accessToken, "PUT", path, content)).event_id;
    };
    const fields = (text: string, final: boolean, startMs: number): TranscriptFields => ({
      speaker: alice.userId,
      speaker_name: "Alice",
      start_ms: startMs,
      end_ms: startMs + 2400,
      language: "fr",
      engine: "pocketsphinx",
      final,
    });
    const root = await send({ msgtype: "m.notice", body: "Transcription started", "org.visio.transcript.session": { language: "fr", engine: "pocketsphinx" } });
    const utterances = ["Bonjour à tous, commençons la réunion.", "Le budget a été validé hier."];
    for (const [index, text] of utterances.entries()) {
      const partial = text.split(" ").slice(0, 2).join(" ");
      const first = await send({
        msgtype: "m.notice",
        body: `Alice: ${partial}`,
        "org.visio.transcript": fields(partial, false, index * 3000),
        "m.relates_to": { rel_type: "m.thread", event_id: root, is_falling_back: true, "m.in_reply_to": { event_id: root } },
      });
      const final = { msgtype: "m.notice", body: `Alice: ${text}`, "org.visio.transcript": fields(text, true, index * 3000) };
      await send({ ...final, body: `* Alice: ${text}`, "m.new_content": final, "m.relates_to": { rel_type: "m.replace", event_id: first } });
    }

    // The summary counts the replies as they arrive over federation: both, in the end.
    const summary = pageB.getByTestId("thread-open").filter({ hasText: "2 réponse" });
    await summary.waitFor({ timeout: 30_000 });
    await summary.click();
    const panel = pageB.getByTestId("thread-panel");
    for (const text of utterances) await panel.getByTestId("message-body").filter({ hasText: text }).waitFor({ timeout: 30_000 });
    assert.equal(await panel.getByText("en cours").count(), 0, "every utterance shows its final edit");
    await saveScreenshot(pageB, "chat-transcript-thread");

    await pageB.getByTestId("tab-transcript").click();
    await pageB.getByTestId("transcript-panel").getByText(utterances[1] ?? "").waitFor();
    await pageB.getByTestId("tab-chat").click();
  });

  it("shows the 'this meeting is transcribed' banner when the room's state says so", async () => {
    const { a } = testbed.ministries;
    const roomId = await joinAlias(a, alice, alias);
    const bot = `@${appservice.config.appservice.sender_localpart}:${HOSTS.a.serverName}`;
    const setState = (content: TranscriptionStateContent): Promise<unknown> =>
      matrixRequest(a.clientUrl, appservice.config.appservice.as_token, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${TRANSCRIPTION_STATE_EVENT}/`, content);
    assert.equal(await pageB.getByTestId("transcription-banner").count(), 0);
    await setState({ active: true, requested_by: bot, language: "fr", engine: "pocketsphinx", started_at: Date.now() });
    await pageB.getByTestId("transcription-banner").waitFor({ timeout: 30_000 });
    assert.match(await pageB.getByTestId("transcription-banner").innerText(), /Cette réunion est transcrite/);
    assert.match(await pageB.getByTestId("transcription-toggle").innerText(), /Arrêter la transcription/);
    await setState({ active: false, requested_by: bot, language: "fr", engine: "pocketsphinx", stopped_at: Date.now() });
    await pageB.getByTestId("transcription-banner").waitFor({ state: "detached", timeout: 30_000 });
  });

  it("lets a user of B start and stop the transcription of A's meeting from the client (A's appservice found in A's .well-known), in French unless English is chosen", async () => {
    const { a } = testbed.ministries;
    const roomId = await joinAlias(a, alice, alias);
    const language = async (): Promise<string> =>
      (await matrixRequest<TranscriptionStateContent>(a.clientUrl, alice.accessToken, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${TRANSCRIPTION_STATE_EVENT}/`)).language;
    for (const [choice, expected] of [["", "fr"], ["en", "en"]] as const) {
      await pageB.getByTestId("transcription-language").selectOption(choice);
      await pageB.getByTestId("transcription-toggle").click();
      await pageB.getByTestId("transcription-banner").waitFor({ timeout: 30_000 });
      await pageA.getByTestId("transcription-banner").waitFor({ timeout: 30_000 });
      assert.equal(await language(), expected, `the language chosen: ${choice === "" ? "the server's" : choice}`);
      assert.equal(await pageB.getByTestId("transcription-language").count(), 0, "no language choice while it runs");
      await pageB.getByTestId("transcription-toggle").click();
      await pageB.getByTestId("transcription-banner").waitFor({ state: "detached", timeout: 30_000 });
    }
  });

  it("works from the keyboard and in a narrow window: the room list, then the room", async () => {
    const { page, context } = await openClient(browserB, { viewport: { width: 380, height: 760 } });
    await page.getByTestId("sign-in-server").focus();
    await page.keyboard.type(SERVER_B);
    await page.keyboard.press("Tab");
    await page.keyboard.type(bob.userId);
    await page.keyboard.press("Tab");
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Enter");
    const entry = page.getByTestId(`room-${alias}`);
    await entry.waitFor({ timeout: 30_000 });
    await entry.focus();
    await page.keyboard.press("Enter");
    await page.getByTestId("room-view").waitFor();
    assert.equal(await entry.isVisible(), false, "one column: the list gives way to the room");
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 380, `no horizontal scrolling (content is ${width}px wide)`);
    // Tabs follow the WAI-ARIA pattern: arrow keys move between them.
    await page.getByTestId("tab-chat").focus();
    await page.keyboard.press("ArrowRight");
    assert.equal(await page.getByTestId("tab-members").getAttribute("aria-selected"), "true");
    await page.getByRole("button", { name: /Liste des réunions/ }).click();
    await entry.waitFor();
    await context.close();
  });

  it("keeps the session across a reload, and signs out", async () => {
    await pageA.reload();
    await pageA.getByTestId("workspace").waitFor({ timeout: 30_000 });
    await pageA.getByTestId(`room-${alias}`).waitFor({ timeout: 30_000 });
    await pageA.getByTestId("sign-out").click();
    await pageA.getByTestId("sign-in-submit").waitFor();
    assert.equal(await pageA.evaluate(() => window.localStorage.getItem("visio.session")), null);
  });
});
