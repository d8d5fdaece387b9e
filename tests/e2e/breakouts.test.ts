// Breakout groups across two ministries in Chromium: alice (A) moderates a meeting with carol (A), bob
// and dave (B), all in its call; she splits them into two groups of one person of each ministry.
// Each moves into their group's call and sees only their group; dave calls the moderator; when alice
// ends the groups everyone is back in the meeting's call and sees everyone again.
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { BREAKOUTS_STATE_EVENT, type BreakoutsContent } from "../../config/wire-types.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, SynapseServer, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { launchBrowser } from "../support/browser.ts";
import { joinCallOnNewPage, waitForRemoteFrames } from "../support/browser-call.ts";
import { saveScreenshot } from "../support/browser-screenshots.ts";
import { createMeeting, joinAlias } from "../harness/matrix-users.ts";

const PASSWORD = "correct horse battery staple";
const SERVER = { a: `${HOSTS.a.serverName}:${HOSTS.a.federationPort}`, b: `${HOSTS.b.serverName}:${HOSTS.b.federationPort}` };

interface Person {
  user: RegisteredUser;
  ministry: "a" | "b";
  page: Page;
}

/** The user IDs of the remote camera tiles a page shows. */
async function remoteTiles(page: Page): Promise<string[]> {
  const ids = await page.locator('[data-testid="video-tile"][data-local="false"][data-source="camera"]').evaluateAll((tiles) => tiles.map((t) => t.getAttribute("data-user-id") ?? ""));
  return [...new Set(ids)].sort();
}

async function tilesAre(page: Page, expected: string[], what: string): Promise<void> {
  const want = [...expected].sort();
  try {
    await waitUntil(what, async () => JSON.stringify(await remoteTiles(page)) === JSON.stringify(want), { timeoutMs: 45_000, intervalMs: 250 });
  } catch (err) {
    // What the page shows instead, for the failure.
    const shown = await page.evaluate(() =>
      ["room-title", "call-error", "breakout-banner", "call-return"].map((id) => `${id}: ${document.querySelector(`[data-testid="${id}"]`)?.textContent?.trim() ?? "-"}`).join("; "),
    );
    throw new Error(`${String(err)}; tiles ${JSON.stringify(await remoteTiles(page))}; ${shown}`);
  }
  for (const userId of want) await waitForRemoteFrames(page, { source: "camera", userId });
}

describe("breakout groups across two ministries (Chromium, real Synapse A and B, LiveKit A and B, both appservices)", function () {
  this.timeout(240_000);
  let testbed: Testbed;
  let appserviceA: AppserviceProcess;
  const browsers: Browser[] = [];
  let meeting: { roomId: string; alias: string };
  let alice: Person;
  let carol: Person;
  let bob: Person;
  let dave: Person;

  const state = async (server: SynapseServer, user: RegisteredUser): Promise<BreakoutsContent | null> =>
    matrixRequest<BreakoutsContent>(server.clientUrl, user.accessToken, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(meeting.roomId)}/state/${BREAKOUTS_STATE_EVENT}/`).catch(() => null);

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    [appserviceA] = await Promise.all([startAppservice("a"), startAppservice("b")]);
    const { a, b } = testbed.ministries;
    const [aliceUser, carolUser, bobUser, daveUser] = await Promise.all([
      a.registerUser(uniqueLocalpart("alice"), { password: PASSWORD }),
      a.registerUser(uniqueLocalpart("carol"), { password: PASSWORD }),
      b.registerUser(uniqueLocalpart("bob"), { password: PASSWORD }),
      b.registerUser(uniqueLocalpart("dave"), { password: PASSWORD }),
    ]);
    meeting = await createMeeting(appserviceA, a, aliceUser, "Séminaire");
    await Promise.all([joinAlias(a, carolUser, meeting.alias), joinAlias(b, bobUser, meeting.alias), joinAlias(b, daveUser, meeting.alias)]);
    const [browserA, browserB] = await Promise.all([
      launchBrowser({ namespace: HOSTS.a.namespace, runDir: testbed.runDir }),
      launchBrowser({ namespace: HOSTS.b.namespace, runDir: testbed.runDir }),
    ]);
    browsers.push(browserA, browserB);
    const person = async (user: RegisteredUser, ministry: "a" | "b"): Promise<Person> => ({
      user,
      ministry,
      page: await joinCallOnNewPage(ministry === "a" ? browserA : browserB, SERVER[ministry], user.userId, PASSWORD, meeting.alias),
    });
    // One after the other: four pages starting their cameras at once is a lot for this machine.
    alice = await person(aliceUser, "a");
    carol = await person(carolUser, "a");
    bob = await person(bobUser, "b");
    dave = await person(daveUser, "b");
    await tilesAre(alice.page, [carol, bob, dave].map((p) => p.user.userId), "alice sees the three others in the meeting's call");
  });
  after(async () => {
    await Promise.all(browsers.map((browser) => browser.close()));
  });

  it("a member who is not a moderator is not offered breakout groups", async () => {
    await bob.page.getByTestId("tab-members").click();
    await bob.page.getByTestId(`member-${alice.user.userId}`).waitFor();
    assert.equal(await bob.page.getByTestId("breakout-setup").count(), 0);
    await bob.page.getByTestId("tab-chat").click();
  });

  it("the moderator splits the call into groups of both ministries and stays free; each group sees only itself, in its own room; she visits one", async () => {
    const { page } = alice;
    await page.getByTestId("tab-members").click();
    await page.getByTestId("breakout-setup").waitFor();
    // By hand: carol (A) and bob (B) together, dave (B) on his own, alice in no group.
    for (const [person, group] of [[bob, 0], [carol, 0], [dave, 1], [alice, -1]] as const) {
      await page.getByTestId(`breakout-of-${person.user.userId}`).selectOption(String(group));
    }
    await page.getByTestId("breakout-duration").selectOption("15");
    await saveScreenshot(page, "breakout-setup");
    await page.getByTestId("breakout-start").click();

    for (const person of [bob, carol, dave]) {
      await person.page.getByTestId("breakout-my-group").waitFor({ timeout: 30_000 });
    }
    assert.match(await carol.page.getByTestId("breakout-my-group").innerText(), /Séminaire · Groupe 1/);
    assert.match(await dave.page.getByTestId("breakout-my-group").innerText(), /Séminaire · Groupe 2/);
    assert.match(await carol.page.getByTestId("breakout-time-left").innerText(), /fin dans 1[45]:\d\d/);
    await tilesAre(bob.page, [carol.user.userId], "bob sees only carol");
    await tilesAre(carol.page, [bob.user.userId], "carol sees only bob");
    await tilesAre(dave.page, [], "dave, alone in his group, sees nobody");
    await tilesAre(alice.page, [], "alice, in no group, stays in the meeting's emptied call");
    assert.match(await dave.page.getByTestId("room-title").innerText(), /Séminaire · Groupe 2/, "dave's page shows his group's room");
    await saveScreenshot(carol.page, "breakout-group");

    // The moderator goes to see the second group.
    await alice.page.getByTestId("breakout-visit-1").click();
    await tilesAre(alice.page, [dave.user.userId], "alice, visiting, sees dave");
    await tilesAre(dave.page, [alice.user.userId], "dave sees alice come in");
    await tilesAre(bob.page, [carol.user.userId], "the first group is left as it was");

    const groups = (await state(testbed.ministries.b, bob.user))?.groups ?? [];
    assert.equal(groups.length, 2);
    for (const group of groups) {
      // Read as A's bot: alice is invited to every group but joined to the one she visited only.
      const parent = await matrixRequest<{ canonical?: boolean }>(
        testbed.ministries.a.clientUrl,
        appserviceA.config.appservice.as_token,
        "GET",
        `/_matrix/client/v3/rooms/${encodeURIComponent(group.room_id)}/state/m.space.parent/${encodeURIComponent(meeting.roomId)}`,
      );
      assert.equal(parent.canonical, true, "each group is a child of the meeting");
    }
  });

  it("a participant calls the moderator: a message in the meeting that mentions her", async () => {
    await dave.page.getByTestId("breakout-call-moderator").click();
    await waitUntil(
      "dave's call for the moderator in the meeting",
      async () => {
        const { chunk } = await matrixRequest<{ chunk: { sender: string; content: { body?: string; "m.mentions"?: { user_ids?: string[] } } }[] }>(
          testbed.ministries.a.clientUrl,
          alice.user.accessToken,
          "GET",
          `/_matrix/client/v3/rooms/${encodeURIComponent(meeting.roomId)}/messages?dir=b&limit=20`,
        );
        return chunk.some((e) => e.sender === dave.user.userId && /demande l'animateur dans « Séminaire · Groupe 2 »/.test(e.content.body ?? "") && e.content["m.mentions"]?.user_ids?.includes(alice.user.userId) === true);
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
  });

  it("the moderator ends them: everyone is back in the meeting's call and sees everyone", async () => {
    await alice.page.getByTestId("breakout-end").click();
    for (const person of [alice, carol, bob, dave]) {
      const others = [alice, carol, bob, dave].filter((p) => p !== person).map((p) => p.user.userId);
      await tilesAre(person.page, others, `${person.user.userId} sees the three others again`).catch(async (err: unknown) => {
        const members = await matrixRequest<{ type: string; state_key: string; content: Record<string, unknown> }[]>(
          testbed.ministries.a.clientUrl,
          alice.user.accessToken,
          "GET",
          `/_matrix/client/v3/rooms/${encodeURIComponent(meeting.roomId)}/state`,
        );
        const inCall = members.filter((e) => e.type === "org.matrix.msc3401.call.member" && Object.keys(e.content).length > 0).map((e) => e.state_key);
        const pages = await Promise.all(
          [alice, carol, bob, dave].map(async (p) =>
            p.page.evaluate(
              (tag) =>
                `${tag}: ${Array.from(document.querySelectorAll('[data-testid="video-tile"]')).map((t) => `${t.getAttribute("data-user-id")}/${t.getAttribute("data-source")}/local=${t.getAttribute("data-local")}/waiting=${t.getAttribute("data-waiting")}`).join(", ")} error=${document.querySelector('[data-testid="call-error"]')?.textContent ?? "-"}`,
              p.user.userId,
            ),
          ),
        );
        throw new Error(`${String(err)}; call memberships in the meeting at A: ${JSON.stringify(inCall)}; pages: ${pages.join(" | ")}`);
      });
      assert.match(await person.page.getByTestId("room-title").innerText(), /^Séminaire$/);
    }
    assert.equal((await state(testbed.ministries.a, alice.user))?.active, false);
    assert.equal(await carol.page.getByTestId("breakout-banner").count(), 0);
  });
});
