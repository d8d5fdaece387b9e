// Moderation across two ministries in Chromium: alice (A) moderates a meeting where bob and carol (B)
// are in the call with our client, and dave (B) with Element Call, all publishing on B's SFU. Only
// she is offered the moderator's actions; she lowers bob's hand, mutes his microphone (B's appservice
// mutes it on B's SFU: his page shows it off) and dave's (the server's API reaches Element Call too),
// removes bob (he is told why, and cannot come back at once), then ends the call for everyone (carol
// is told why, B's SFU has nobody left, and the meeting says the moderator ended it).
import assert from "node:assert/strict";
import { RoomServiceClient, TrackType } from "livekit-server-sdk";
import type { Browser, Page } from "playwright-core";
import { CALL_SLOT, liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { launchBrowser } from "../support/browser.ts";
import { joinCallOnNewPage, waitForRemoteFrames } from "../support/browser-call.ts";
import { saveScreenshot } from "../support/browser-screenshots.ts";
import { joinElementCall, openElementCall } from "../support/element-call.ts";
import { createMeeting, joinAlias } from "../harness/matrix-users.ts";

const PASSWORD = "correct horse battery staple";
const SERVER = { a: `${HOSTS.a.serverName}:${HOSTS.a.federationPort}`, b: `${HOSTS.b.serverName}:${HOSTS.b.federationPort}` };

interface Person {
  user: RegisteredUser;
  page: Page;
}

describe("moderation of a call across two ministries (Chromium, real Synapse A and B, LiveKit A and B, both appservices)", function () {
  this.timeout(240_000);
  let testbed: Testbed;
  let appserviceA: AppserviceProcess;
  const browsers: Browser[] = [];
  let meeting: { roomId: string; alias: string };
  let alice: Person;
  let bob: Person;
  let carol: Person;
  /** On Element Call. */
  let dave: Person;
  let livekitB: RoomServiceClient;

  /** What B's SFU has of a user's microphones: muted or not. */
  const microphonesOnB = async (user: RegisteredUser): Promise<boolean[]> =>
    (await livekitB.listParticipants(liveKitRoomAlias(meeting.roomId, CALL_SLOT)).catch(() => []))
      .filter((p) => p.attributes["org.visio.matrix_user_id"] === user.userId)
      .flatMap((p) => p.tracks.filter((t) => t.type === TrackType.AUDIO).map((t) => t.muted));

  /** A participant's row in alice's Participants tab. */
  const rowOf = (person: Person) => alice.page.getByTestId(`call-participant-${person.user.userId}`);

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    [appserviceA] = await Promise.all([startAppservice("a"), startAppservice("b")]);
    const { a, b } = testbed.ministries;
    const livekit = testbed.livekit.b;
    assert.ok(livekit);
    livekitB = new RoomServiceClient(livekit.controlUrl, livekit.apiKey, livekit.apiSecret);
    const [aliceUser, bobUser, carolUser, daveUser] = await Promise.all([
      a.registerUser(uniqueLocalpart("alice"), { password: PASSWORD }),
      b.registerUser(uniqueLocalpart("bob"), { password: PASSWORD }),
      b.registerUser(uniqueLocalpart("carol"), { password: PASSWORD }),
      b.registerUser(uniqueLocalpart("dave"), { password: PASSWORD }),
    ]);
    meeting = await createMeeting(appserviceA, a, aliceUser, "Comité de pilotage");
    await Promise.all([joinAlias(b, bobUser, meeting.alias), joinAlias(b, carolUser, meeting.alias), joinAlias(b, daveUser, meeting.alias)]);
    const [browserA, browserB] = await Promise.all([
      launchBrowser({ namespace: HOSTS.a.namespace, runDir: testbed.runDir }),
      launchBrowser({ namespace: HOSTS.b.namespace, runDir: testbed.runDir }),
    ]);
    browsers.push(browserA, browserB);
    const person = async (user: RegisteredUser, browser: Browser, server: string): Promise<Person> => ({
      user,
      page: await joinCallOnNewPage(browser, server, user.userId, PASSWORD, meeting.alias),
    });
    alice = await person(aliceUser, browserA, SERVER.a);
    bob = await person(bobUser, browserB, SERVER.b);
    carol = await person(carolUser, browserB, SERVER.b);
    const elementCall = await openElementCall(
      browserB,
      { baseUrl: b.federationUrl, serverName: HOSTS.b.serverName },
      { localpart: daveUser.userId.slice(1).split(":")[0] ?? "", password: PASSWORD },
    );
    await joinElementCall(elementCall.page, meeting.alias);
    dave = { user: daveUser, page: elementCall.page };
    for (const other of [bob, carol, dave]) await waitForRemoteFrames(alice.page, { source: "camera", userId: other.user.userId });
  });
  after(async () => {
    await Promise.all(browsers.map((browser) => browser.close()));
  });

  it("offers the moderator's actions to the moderator only, never on her own row", async () => {
    await bob.page.getByTestId("call-show-participants").click();
    await bob.page.getByTestId(`call-participant-${carol.user.userId}`).waitFor();
    assert.equal(await bob.page.getByTestId("moderation-mute").count(), 0, "bob is no moderator");
    assert.equal(await bob.page.getByTestId("moderation-end").count(), 0);

    await alice.page.getByTestId("call-show-participants").click();
    await rowOf(bob).getByTestId("moderation-mute").waitFor();
    await alice.page.getByTestId("moderation-end").waitFor();
    assert.equal(await rowOf(alice).getByTestId("moderation-remove").count(), 0, "no action on her own row");
    assert.equal(await rowOf(carol).getByTestId("moderation-remove").count(), 1);
  });

  it("lowers bob's raised hand, and mutes his microphone on B's SFU", async () => {
    await bob.page.getByTestId("call-hand").click();
    await rowOf(bob).getByTestId("participant-hand").waitFor({ timeout: 20_000 });
    await alice.page.getByTestId("moderation-lower-hands").click();
    await waitUntil("bob's hand lowered on his page", async () => (await bob.page.getByTestId("call-hand").getAttribute("aria-pressed")) === "false", { timeoutMs: 20_000 });
    await rowOf(bob).getByTestId("participant-hand").waitFor({ state: "detached", timeout: 20_000 });

    assert.equal(await bob.page.getByTestId("call-mic").getAttribute("aria-pressed"), "true", "bob's microphone is on");
    await saveScreenshot(alice.page, "moderation-participants");
    await rowOf(bob).getByTestId("moderation-mute").click();
    await waitUntil("bob's microphone off on his own page", async () => (await bob.page.getByTestId("call-mic").getAttribute("aria-pressed")) === "false", { timeoutMs: 20_000 });
    await waitUntil("bob shown muted to alice", async () => (await rowOf(bob).getByTestId("participant-mic").getAttribute("data-muted")) === "true", { timeoutMs: 20_000 });
    assert.equal(await carol.page.getByTestId("call-mic").getAttribute("aria-pressed"), "true", "carol was not muted");
    assert.equal(await alice.page.getByTestId("moderation-error").count(), 0);
  });

  it("mutes dave, on Element Call, by B's SFU", async () => {
    await waitUntil("dave's microphone on B's SFU", async () => (await microphonesOnB(dave.user)).includes(false), { timeoutMs: 20_000 });
    await rowOf(dave).getByTestId("moderation-mute").click();
    await waitUntil("dave's microphone muted on B's SFU", async () => {
      const mics = await microphonesOnB(dave.user);
      return mics.length > 0 && mics.every((muted) => muted);
    }, { timeoutMs: 20_000 });
    await waitUntil("dave shown muted to alice", async () => (await rowOf(dave).getByTestId("participant-mic").getAttribute("data-muted")) === "true", { timeoutMs: 20_000 });
    assert.equal(await alice.page.getByTestId("moderation-error").count(), 0);
  });

  it("removes bob from the call: he is told why, and cannot come back at once", async () => {
    await rowOf(bob).getByTestId("moderation-remove").click();
    const told = bob.page.getByTestId("call-error");
    await told.waitFor({ timeout: 20_000 });
    assert.match(await told.innerText(), /Un animateur vous a retiré de l'appel/);
    await saveScreenshot(bob.page, "moderation-removed");
    // The offer to come back says the call ended for him, not that it broke.
    assert.equal(await bob.page.getByTestId("call-return").getAttribute("data-reason"), "moderated");
    await rowOf(bob).waitFor({ state: "detached", timeout: 30_000 });
    await rowOf(carol).waitFor();

    // Trying again at once: B's focus refuses him a token.
    await bob.page.getByTestId("call-rejoin").click();
    await bob.page.getByTestId("prejoin").waitFor();
    await bob.page.getByTestId("call-join").click();
    await waitUntil("bob's new join refused", async () => /refus|interdit|droit|autoris/i.test((await told.textContent().catch(() => "")) ?? ""), { timeoutMs: 30_000 });
    // His membership goes out before the refused token and is then withdrawn, so alice may list him
    // for a moment as joining; never with his media.
    const bobsMedia = alice.page.locator(`[data-testid="video-tile"][data-user-id="${bob.user.userId}"][data-waiting="false"]`);
    assert.equal(await bobsMedia.count(), 0, "bob is not back in alice's call");
    // His refused join leaves no membership behind: he is not listed as in the call, waiting for media.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await rowOf(bob).waitFor({ state: "detached", timeout: 30_000 });
  });

  it("ends the call for everyone, after a confirmation: carol is told why, and the meeting says so", async () => {
    await alice.page.getByTestId("moderation-end").click();
    await alice.page.getByTestId("moderation-end-confirm").waitFor();
    await saveScreenshot(alice.page, "moderation-end-confirm");
    await alice.page.getByTestId("moderation-end-confirm").click();
    const told = carol.page.getByTestId("call-error");
    await told.waitFor({ timeout: 20_000 });
    assert.match(await told.innerText(), /L'appel a été terminé par un animateur/);
    await alice.page.getByTestId("call-return").waitFor({ timeout: 20_000 });
    // Element Call's participant too: B's SFU has nobody left in the meeting's call.
    await waitUntil("nobody left on B's SFU", async () => (await livekitB.listRooms([liveKitRoomAlias(meeting.roomId, CALL_SLOT)])).every((r) => r.numParticipants === 0), { timeoutMs: 20_000 });
    const notices = async () =>
      (
        await matrixRequest<{ chunk: { content: Record<string, unknown> }[] }>(
          testbed.ministries.b.clientUrl,
          carol.user.accessToken,
          "GET",
          `/_matrix/client/v3/rooms/${encodeURIComponent(meeting.roomId)}/messages?dir=b&limit=50`,
        )
      ).chunk.filter((e) => e.content.body === "L'animateur a mis fin à l'appel");
    await waitUntil("the end announced in the meeting", async () => (await notices()).length === 1, { timeoutMs: 20_000 });
  });
});
