// What the browser tests and the bench do in a call: open the pre-join screen, join, and wait
// until a remote tile has actually decoded video frames (not just a tile drawn).
import type { Browser, Page } from "playwright-core";
import { openClient, signInThroughForm } from "./browser.ts";

export async function openPrejoin(page: Page): Promise<void> {
  await page.getByTestId("call-open").click();
  await page.getByTestId("prejoin").waitFor();
  // The preview shows the fake camera: wait for its first frame so the screenshot is real.
  await page.waitForFunction(() => {
    const video = document.querySelector<HTMLVideoElement>('[data-testid="prejoin-video"]');
    return video !== null && video.getVideoPlaybackQuality().totalVideoFrames > 0;
  }, undefined, { timeout: 30_000 });
}

/** A new page of the client: signs in through the form, opens the meeting and joins its call from the pre-join. */
export async function joinCallOnNewPage(browser: Browser, server: string, userId: string, password: string, alias: string): Promise<Page> {
  const { page } = await openClient(browser);
  await signInThroughForm(page, server, userId, password);
  await page.getByTestId(`room-${alias}`).click();
  await openPrejoin(page);
  await page.getByTestId("call-join").click();
  return page;
}

/** Resolves with the frames decoded so far in the first remote tile of that source (and user). */
export async function waitForRemoteFrames(
  page: Page,
  options: { source: "camera" | "screen"; userId?: string; minFrames?: number; timeoutMs?: number },
): Promise<number> {
  const handle = await page.waitForFunction(
    ({ source, userId, minFrames }) => {
      const selector = `[data-testid="video-tile"][data-local="false"][data-source="${source}"]${userId ? `[data-user-id="${userId}"]` : ""} video`;
      for (const video of Array.from(document.querySelectorAll<HTMLVideoElement>(selector))) {
        const frames = video.getVideoPlaybackQuality().totalVideoFrames;
        if (frames >= minFrames && video.videoWidth > 0) return frames;
      }
      return false;
    },
    { source: options.source, userId: options.userId, minFrames: options.minFrames ?? 1 },
    { timeout: options.timeoutMs ?? 45_000, polling: "raf" },
  );
  return (await handle.jsonValue()) as number;
}

/** The pre-join's microphone meter, sampled every 100 ms for durationMs: its aria-valuenow values. */
export async function sampleMicLevel(page: Page, durationMs = 3000): Promise<number[]> {
  await page.getByTestId("prejoin-mic-level").waitFor();
  return page.evaluate(async (duration) => {
    const values: number[] = [];
    for (let t = 0; t < duration; t += 100) {
      values.push(Number(document.querySelector('[data-testid="prejoin-mic-level"]')?.getAttribute("aria-valuenow") ?? -1));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return values;
  }, durationMs);
}

/** Opens a device menu (by its chevron) and reads its entries: label and whether it is the current one. */
export async function openDeviceMenu(page: Page, kind: "audioinput" | "videoinput" | "audiooutput"): Promise<{ label: string; checked: boolean }[]> {
  await page.getByTestId(`device-menu-${kind}`).click();
  const items = page.getByTestId(`device-menu-${kind}-list`).getByRole("menuitemradio");
  await items.first().waitFor();
  const all = await items.all();
  return Promise.all(all.map(async (item) => ({ label: (await item.innerText()).trim(), checked: (await item.getAttribute("aria-checked")) === "true" })));
}
