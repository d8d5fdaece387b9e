// Screenshots of the client for the README, written by the browser tests on every run so the
// README always shows the current interface; each screen is also checked for accessibility by
// axe-core at both sizes (client/screenshots/axe/<name>.json), and a serious or critical violation
// fails the test that saved it.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Page } from "playwright-core";
import type { AxeScreenReport, ThirdPartyPage } from "./axe-check.ts";
import { blockingViolations, checkAccessibility, describeViolations, writeAxeReport } from "./axe-check.ts";
import { CLIENT_DIR } from "../harness/client-build.ts";

export const SCREENSHOTS_DIR = join(CLIENT_DIR, "screenshots");

/** A phone held upright (the size La Suite Meet and Element Call are checked at): 390×844 CSS pixels. */
export const PHONE_VIEWPORT = { width: 390, height: 844 };

export interface ScreenshotOptions {
  /** false: the page's own size only (another client's page, whose layout resizing would change). */
  phone?: boolean;
  /** Another product's page: the accessibility rules it is known to break, and why they cannot be fixed here. */
  thirdParty?: ThirdPartyPage;
}

/**
 * `<name>.png` at the page's own size (1280×800 by default) and, for the Visio client's screens,
 * `<name>-phone.png` at 390×844, the page given back its size afterwards. Another client's page
 * (Element Call) is taken at its own size only: resizing it changes its layout for the rest of the test.
 * axe-core checks the page at each size; the screenshots are saved before a violation fails the test.
 */
export async function saveScreenshot(page: Page, name: string, options: ScreenshotOptions = {}): Promise<string> {
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  const path = join(SCREENSHOTS_DIR, `${name}.png`);
  await page.screenshot({ path, animations: "disabled" });
  const reports: AxeScreenReport[] = [await checkAccessibility(page, options.thirdParty)];
  const size = page.viewportSize();
  if (size !== null && options.phone !== false) {
    await page.setViewportSize(PHONE_VIEWPORT);
    try {
      // One frame for the layout to follow the new width.
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
      await page.screenshot({ path: join(SCREENSHOTS_DIR, `${name}-phone.png`), animations: "disabled" });
      reports.push(await checkAccessibility(page, options.thirdParty));
    } finally {
      await page.setViewportSize(size);
    }
  }
  await writeAxeReport(SCREENSHOTS_DIR, name, reports, options.thirdParty);
  const blocking = blockingViolations(reports);
  if (blocking.length > 0) throw new Error(describeViolations(name, blocking));
  return path;
}
