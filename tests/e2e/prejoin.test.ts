// The pre-join screen and the device menus in the web client (Chromium in ministry A's namespace,
// real Synapse A and LiveKit A): Chromium's fake microphone plays a silent file, so the meter stays
// down and « Aucun son détecté » shows; with the microphone and camera turned off the screen says how
// one will join, and the call starts so; in the call, the menu beside the microphone switches it.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { HOSTS } from "../harness/network.ts";
import { getTestbed, uniqueLocalpart, type RegisteredUser } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { startAppservice } from "../support/appservice-process.ts";
import { launchBrowser, openClient, signInThroughForm } from "../support/browser.ts";
import { openDeviceMenu, openPrejoin, sampleMicLevel } from "../support/browser-call.ts";
import { saveScreenshot } from "../support/browser-screenshots.ts";
import { createMeeting } from "../harness/matrix-users.ts";

const PASSWORD = "correct horse battery staple";

/** One second of digital silence: 48 kHz, mono, 16-bit PCM. */
function silentWav(): Buffer {
  const rate = 48_000;
  const data = rate * 2;
  const header = Buffer.alloc(44);
  header.write("RIFF", 0);
  header.writeUInt32LE(36 + data, 4);
  header.write("WAVE", 8);
  header.write("fmt ", 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36);
  header.writeUInt32LE(data, 40);
  return Buffer.concat([header, Buffer.alloc(data)]);
}

describe("web client: the pre-join screen and the device menus (Chromium with a silent microphone, Synapse A, LiveKit A)", function () {
  this.timeout(120_000);
  let browser: Browser;
  let page: Page;
  let alice: RegisteredUser;

  before(async function () {
    this.timeout(300_000);
    const testbed = await getTestbed();
    const appservice = await startAppservice("a");
    alice = await testbed.ministries.a.registerUser(uniqueLocalpart("alice"), { password: PASSWORD });
    const { alias } = await createMeeting(appservice, testbed.ministries.a, alice, "Réglages des appareils");
    const silence = join(testbed.runDir, "silence.wav");
    await writeFile(silence, silentWav());
    browser = await launchBrowser({ namespace: HOSTS.a.namespace, runDir: testbed.runDir, args: [`--use-file-for-fake-audio-capture=${silence}`] });
    ({ page } = await openClient(browser, { locale: "fr" }));
    await signInThroughForm(page, `${HOSTS.a.serverName}:${HOSTS.a.federationPort}`, alice.userId, PASSWORD);
    await page.getByTestId(`room-${alias}`).click();
  });
  after(async () => {
    await browser?.close();
  });

  it("a silent microphone: the meter stays down and « Aucun son détecté » shows after a few seconds", async () => {
    await openPrejoin(page);
    const levels = await sampleMicLevel(page, 1000);
    assert.ok(Math.max(...levels) < 10, `the meter stays down: ${levels.join(" ")}`);
    const hint = page.getByTestId("prejoin-no-sound");
    await hint.waitFor({ timeout: 10_000 });
    assert.match(await hint.innerText(), /^Aucun son détecté/);
    await saveScreenshot(page, "prejoin-no-sound");
  });

  it("microphone and camera off: the buttons keep their names, the screen says how one will join, and the call starts so", async () => {
    const mic = page.getByTestId("prejoin-mic");
    const cam = page.getByTestId("prejoin-cam");
    assert.deepEqual([await mic.getAttribute("aria-label"), await mic.getAttribute("aria-pressed")], ["Micro", "true"]);
    await mic.click();
    await cam.click();
    assert.deepEqual([await mic.getAttribute("aria-label"), await mic.getAttribute("aria-pressed")], ["Micro", "false"], "same name, state in aria-pressed");
    assert.deepEqual([await cam.getAttribute("aria-label"), await cam.getAttribute("aria-pressed")], ["Caméra", "false"]);
    assert.deepEqual(await page.getByTestId("prejoin-notes").locator("li").allInnerTexts(), ["Vous rejoindrez micro coupé.", "Vous rejoindrez caméra coupée."]);
    assert.equal(await page.getByTestId("prejoin-mic-level").count(), 0, "no meter for a microphone that is off");
    assert.equal(await page.getByTestId("prejoin-no-sound").count(), 0);
    await saveScreenshot(page, "prejoin-devices-off");

    await page.getByTestId("call-join").click();
    const callMic = page.getByTestId("call-mic");
    await callMic.waitFor({ timeout: 30_000 });
    assert.equal(await callMic.getAttribute("aria-pressed"), "false", "joined with the microphone off, as said");
    assert.equal(await page.getByTestId("call-cam").getAttribute("aria-pressed"), "false", "and the camera off");
  });

  it("in the call, the menu beside the microphone lists the microphones and switches the one published", async () => {
    const callMic = page.getByTestId("call-mic");
    await callMic.click();
    await waitUntil("the microphone on", async () => (await callMic.getAttribute("aria-pressed")) === "true", { timeoutMs: 10_000, intervalMs: 100 });
    const microphones = await openDeviceMenu(page, "audioinput");
    assert.ok(microphones.length >= 2, `the fake microphones listed: ${JSON.stringify(microphones)}`);
    await saveScreenshot(page, "call-device-menu");
    const other = microphones.find((m) => !m.checked)!;
    await page.getByTestId("device-menu-audioinput-list").getByRole("menuitemradio", { name: other.label, exact: true }).click();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-testid")), "device-menu-audioinput", "focus back on the chevron");
    // The choice is recorded once LiveKit has switched the published track.
    await waitUntil(
      "the other microphone current",
      async () => {
        const now = await openDeviceMenu(page, "audioinput");
        await page.keyboard.press("Escape");
        return now.find((m) => m.checked)?.label === other.label;
      },
      { timeoutMs: 10_000, intervalMs: 250 },
    );
    assert.equal(await page.getByTestId("call-error").count(), 0, "no error");
    assert.equal(await callMic.getAttribute("aria-pressed"), "true", "still on");
    await page.getByTestId("call-leave").click();
  });
});
