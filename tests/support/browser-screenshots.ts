// Screenshots of the client for the README, written by the browser tests on every run so the
// README always shows the current interface.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { CLIENT_DIR } from "./browser-client-build.ts";

export const SCREENSHOTS_DIR = join(CLIENT_DIR, "screenshots");

export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  const path = join(SCREENSHOTS_DIR, `${name}.png`);
  await page.screenshot({ path, animations: "disabled" });
  return path;
}
