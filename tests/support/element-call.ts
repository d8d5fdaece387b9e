// Element Call, the reference MatrixRTC client (npm @element-hq/element-call-embedded, pinned as a dev
// dependency), run standalone from its dist/ in the test bed's Chromium: served by request
// interception on its own origin, with a config.json naming the ministry's homeserver, and driven
// through its own UI (its data-testids), as a user of Element would.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ELEMENT_CALL_ORIGIN, fulfillWithFile } from "./browser.ts";
import { fileInside } from "../harness/client-server.ts";

const require = createRequire(import.meta.url);
const DIST = join(dirname(require.resolve("@element-hq/element-call-embedded/package.json")), "dist");

export function elementCallVersion(): string {
  return (require("@element-hq/element-call-embedded/package.json") as { version: string }).version;
}

export interface ElementCallHomeserver {
  /** The homeserver's client API as the browser reaches it. */
  baseUrl: string;
  serverName: string;
}

/** Element Call's two MatrixRTC modes; `compatibility` is its default. */
export type ElementCallMode = "compatibility" | "matrix_2_0";

/** Element Call's config.json for a ministry: its homeserver and mode; foci come from the homeserver (MSC4143). */
export function elementCallConfig(homeserver: ElementCallHomeserver, mode: ElementCallMode = "compatibility"): Record<string, unknown> {
  return {
    default_server_config: { "m.homeserver": { base_url: homeserver.baseUrl, server_name: homeserver.serverName } },
    // Said out loud even for its default: call.member state events, multi_sfu.
    matrix_rtc_mode: mode,
    matrix_rtc_session: { wait_for_key_rotation_ms: 5000 },
  };
}

async function serveElementCall(context: BrowserContext, homeserver: ElementCallHomeserver, mode: ElementCallMode): Promise<void> {
  const config = JSON.stringify(elementCallConfig(homeserver, mode));
  await context.route(`${ELEMENT_CALL_ORIGIN}/**`, async (route) => {
    const { pathname } = new URL(route.request().url());
    if (pathname.endsWith("/config.json")) {
      await route.fulfill({ status: 200, body: config, headers: { "content-type": "application/json" } });
      return;
    }
    // A single-page app: its assets, and index.html for every route (/login, /<room alias>).
    await fulfillWithFile(route, pathname.includes("/assets/") ? fileInside(DIST, pathname.slice(pathname.indexOf("/assets/"))) : join(DIST, "index.html"));
  });
}

export interface ElementCallPage {
  context: BrowserContext;
  page: Page;
}

/** A fresh profile with Element Call signed in (its login page: user name and password). */
export async function openElementCall(
  browser: Browser,
  homeserver: ElementCallHomeserver,
  user: { localpart: string; password: string },
  mode: ElementCallMode = "compatibility",
): Promise<ElementCallPage> {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 800 },
    locale: "en-GB",
    permissions: ["camera", "microphone"],
  });
  await serveElementCall(context, homeserver, mode);
  const page = await context.newPage();
  if (process.env.VISIO_E2E_CONSOLE === "1") page.on("console", (message) => console.log(`[element-call] ${message.type()}: ${message.text()}`));
  await page.goto(`${ELEMENT_CALL_ORIGIN}/login`);
  await page.getByTestId("login_username").fill(user.localpart);
  await page.getByTestId("login_password").fill(user.password);
  await page.getByTestId("login_login").click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"), { timeout: 30_000 });
  return { context, page };
}

/** Opens the meeting by its alias (Element Call joins the Matrix room itself) and joins its call from the lobby. */
export async function joinElementCall(page: Page, alias: string): Promise<void> {
  // The path form: Element Call adds the "#"; assets then resolve from the origin's root.
  await page.goto(`${ELEMENT_CALL_ORIGIN}/${alias.slice(1)}`);
  const join = page.getByTestId("lobby_joinCall");
  await join.waitFor({ timeout: 60_000 });
  // As a user does: join once the lobby shows our own camera. Element Call draws its join button
  // before its media devices are enumerated, and a click then can be lost (the call never starts).
  await page.waitForFunction(
    () => Array.from(document.querySelectorAll("video")).some((video) => video.videoWidth > 0 && video.getVideoPlaybackQuality().totalVideoFrames > 0),
    undefined,
    { timeout: 60_000 },
  );
  await join.click();
  await join.waitFor({ state: "detached", timeout: 30_000 });
}

/**
 * Resolves with the frames decoded so far in Element Call's tile of a member (by the display name
 * its name tag shows), once it shows live video and not "Waiting for media".
 */
export async function waitForElementCallFrames(page: Page, name: string, options: { minFrames?: number; timeoutMs?: number; pollingRaf?: boolean } = {}): Promise<number> {
  const handle = await page.waitForFunction(
    ({ name, minFrames }) => {
      for (const tile of Array.from(document.querySelectorAll('[data-testid="videoTile"]'))) {
        const tag = tile.querySelector('[data-testid="name_tag"]');
        if (tag === null || !(tag.textContent ?? "").includes(name)) continue;
        if ((tile.textContent ?? "").includes("Waiting for media")) continue;
        const video = tile.querySelector("video");
        const frames = video?.getVideoPlaybackQuality().totalVideoFrames ?? 0;
        if (video !== null && frames >= minFrames && video.videoWidth > 0) return frames;
      }
      return false;
    },
    { name, minFrames: options.minFrames ?? 1 },
    { timeout: options.timeoutMs ?? 60_000, polling: options.pollingRaf === true ? "raf" : 250 },
  );
  return (await handle.jsonValue()) as number;
}
