// Screenshots of the client for the README, written by the browser tests on every run so the
// README always shows the current interface.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { CLIENT_DIR } from "./browser-client-build.ts";

export const SCREENSHOTS_DIR = join(CLIENT_DIR, "screenshots");

/** A phone held upright (the size La Suite Meet and Element Call are checked at): 390×844 CSS pixels. */
export const PHONE_VIEWPORT = { width: 390, height: 844 };

/**
 * `<name>.png` at the page's own size (1280×800 by default) and, for the Visio client's screens,
 * `<name>-phone.png` at 390×844, the page given back its size afterwards. Another client's page
 * (Element Call) is taken at its own size only: resizing it changes its layout for the rest of the test.
 */
export async function saveScreenshot(page: Page, name: string, options: { phone?: boolean } = {}): Promise<string> {
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  const path = join(SCREENSHOTS_DIR, `${name}.png`);
  await page.screenshot({ path, animations: "disabled" });
  const size = page.viewportSize();
  if (size !== null && options.phone !== false) {
    await page.setViewportSize(PHONE_VIEWPORT);
    try {
      // One frame for the layout to follow the new width.
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
      await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}-phone.png`), animations: "disabled" });
    } finally {
      await page.setViewportSize(size);
    }
  }
  return path;
}
