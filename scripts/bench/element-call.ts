// Click "join" → first decoded remote video frame, for each pairing of Element Call and the Visio
// client across the two ministries (Chromium per ministry in its namespace, real Synapse A and B,
// LiveKit A and B, both foci): the first caller of A is in the call, the one of B joins and is timed.
import type { Browser, Page } from "playwright-core";
import { HOSTS } from "../../tests/harness/network.ts";
import { getTestbed, uniqueLocalpart, type RegisteredUser } from "../../tests/harness/testbed.ts";
import { startAppservice } from "../../tests/support/appservice-process.ts";
import { ELEMENT_CALL_ORIGIN, launchBrowser, openClient, signInThroughForm } from "../../tests/support/browser.ts";
import { openPrejoin } from "../../tests/support/browser-call.ts";
import { elementCallVersion, openElementCall, waitForElementCallFrames, type ElementCallMode } from "../../tests/support/element-call.ts";
import { createMeeting, joinAlias } from "../../tests/harness/matrix-users.ts";

type Client = "visio" | "element-call";
export interface PairingBench {
  first: Client;
  joiner: Client;
  joinToFirstFrameMs: number[];
}

const PASSWORD = "bench-password";
const localpartOf = (user: RegisteredUser): string => user.userId.slice(1).split(":")[0] ?? "";

/** Records the click on the join button (in the page's clock) before it is clicked. */
async function markJoinClick(page: Page, testId: string): Promise<void> {
  await page.getByTestId(testId).waitFor({ timeout: 60_000 });
  await page.evaluate((id) => {
    document.querySelector(`[data-testid="${id}"]`)?.addEventListener("click", () => ((window as unknown as { joinClick: number }).joinClick = performance.now()), { capture: true, once: true });
  }, testId);
  await page.getByTestId(testId).click();
}

async function sinceJoinClick(page: Page): Promise<number> {
  return page.evaluate(() => performance.now() - ((window as unknown as { joinClick: number }).joinClick ?? NaN));
}

/** `mode`: Element Call's MatrixRTC mode, which both clients are configured for (their config.json). */
export async function benchElementCallPairings(runs = 5, mode: ElementCallMode = "compatibility"): Promise<{ version: string; mode: ElementCallMode; pairings: PairingBench[] }> {
  const testbed = await getTestbed();
  const [appserviceA] = await Promise.all([startAppservice("a"), startAppservice("b")]);
  const alice = await testbed.ministries.a.registerUser(uniqueLocalpart("alice"), { password: PASSWORD });
  const bob = await testbed.ministries.b.registerUser(uniqueLocalpart("bob"), { password: PASSWORD });
  // A browser per client and ministry, as separate people would have: no fake camera shared between them.
  const browsers = await Promise.all(
    [HOSTS.a, HOSTS.b, HOSTS.a, HOSTS.b].map((host) => launchBrowser({ namespace: host.namespace, runDir: testbed.runDir })),
  );
  const [visioA, visioB, ecA, ecB] = browsers as [Browser, Browser, Browser, Browser];
  try {
    const homeserverOf = (m: "a" | "b") => ({ baseUrl: testbed.ministries[m].federationUrl, serverName: HOSTS[m].serverName });
    const browserOf = { visio: { a: visioA, b: visioB }, "element-call": { a: ecA, b: ecB } };
    const users = { a: alice, b: bob };
    /** A fresh profile of that client, signed in: as a person opening it for this meeting. */
    const open = async (client: Client, m: "a" | "b"): Promise<Page> => {
      if (client === "element-call") return (await openElementCall(browserOf[client][m], homeserverOf(m), { localpart: localpartOf(users[m]), password: PASSWORD }, mode)).page;
      const { page } = await openClient(browserOf[client][m], { locale: "en", config: { matrix_rtc_mode: mode } });
      await signInThroughForm(page, `${HOSTS[m].serverName}:${HOSTS[m].federationPort}`, users[m].userId, PASSWORD);
      return page;
    };
    const pairings: PairingBench[] = [
      { first: "element-call", joiner: "visio", joinToFirstFrameMs: [] },
      { first: "visio", joiner: "element-call", joinToFirstFrameMs: [] },
      { first: "element-call", joiner: "element-call", joinToFirstFrameMs: [] },
      { first: "visio", joiner: "visio", joinToFirstFrameMs: [] },
    ];
    for (let run = 0; run < runs; run += 1) {
      for (const pairing of pairings) {
        // A fresh meeting per run: no LiveKit room or membership left over.
        const { alias } = await createMeeting(appserviceA, testbed.ministries.a, alice, "Mesure Element Call");
        await joinAlias(testbed.ministries.b, bob, alias);
        const [first, joiner] = await Promise.all([open(pairing.first, "a"), open(pairing.joiner, "b")]);
        try {
          if (pairing.first === "visio") {
            await first.getByTestId(`room-${alias}`).click({ timeout: 30_000 });
            await openPrejoin(first);
            await first.getByTestId("call-join").click();
            await first.locator('[data-testid="video-tile"][data-local="true"]').waitFor({ timeout: 30_000 });
          } else {
            await first.goto(`${ELEMENT_CALL_ORIGIN}/${alias.slice(1)}`);
            await first.getByTestId("lobby_joinCall").click({ timeout: 60_000 });
            await first.getByTestId("incall_leave").waitFor({ timeout: 30_000 });
          }
          if (pairing.joiner === "visio") {
            await joiner.getByTestId(`room-${alias}`).click({ timeout: 30_000 });
            // B joins once it sees A in the call (A's membership has crossed the federation).
            await joiner.getByTestId("call-count").waitFor({ timeout: 30_000 });
            await openPrejoin(joiner);
            await markJoinClick(joiner, "call-join");
            await joiner.waitForFunction(
              () => Array.from(document.querySelectorAll<HTMLVideoElement>('[data-testid="video-tile"][data-local="false"][data-source="camera"] video')).some((v) => v.getVideoPlaybackQuality().totalVideoFrames > 0),
              undefined,
              { timeout: 60_000, polling: "raf" },
            );
          } else {
            await joiner.goto(`${ELEMENT_CALL_ORIGIN}/${alias.slice(1)}`);
            await markJoinClick(joiner, "lobby_joinCall");
            await waitForElementCallFrames(joiner, localpartOf(alice), { pollingRaf: true });
          }
          pairing.joinToFirstFrameMs.push(await sinceJoinClick(joiner));
        } finally {
          await Promise.all([first.context().close(), joiner.context().close()]);
        }
      }
    }
    return { version: elementCallVersion(), mode, pairings };
  } finally {
    await Promise.all(browsers.map((browser) => browser.close()));
  }
}
