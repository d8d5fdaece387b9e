// The web client's figures: click "join" → first decoded remote video frame (two Chromium, one per
// ministry, inside the test bed's namespaces, real Synapse A and B, LiveKit A and B, both foci), the
// production bundle's gzip size, and the memory of one tab in a two-person call.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { Page } from "playwright-core";
import { HOSTS } from "../../tests/harness/network.ts";
import { getTestbed, uniqueLocalpart } from "../../tests/harness/testbed.ts";
import { startAppservice } from "../../tests/support/appservice-process.ts";
import { buildClient } from "../../tests/harness/client-build.ts";
import { launchBrowser, openClient, signInThroughForm } from "../../tests/support/browser.ts";
import { openPrejoin } from "../../tests/support/browser-call.ts";
import { createMeeting, joinAlias } from "../../tests/harness/matrix-users.ts";

export interface BundleSize {
  /** What index.html loads before the app starts: its scripts and stylesheets. */
  initialGzipBytes: number;
  initialBytes: number;
  /** Chunks loaded only on demand (the SDK's end-to-end encryption, never used by meeting rooms). */
  lazyGzipBytes: number;
}

export interface TabMemory {
  jsHeapUsedBytes: number;
  /** The tab's renderer process. */
  rendererRssBytes: number;
  /** Every process of that Chromium instance (browser, GPU, network, renderer): RSS counts shared pages in each. */
  browserRssBytes: number;
}

export interface ClientBenchResult {
  joinToFirstFrameMs: number[];
  bundle: BundleSize;
  memory: TabMemory;
}

export function bundleSize(dist: string): BundleSize {
  const html = readFileSync(join(dist, "index.html"), "utf8");
  const initial = new Set([...html.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((m) => m[1] ?? ""));
  let initialGzipBytes = 0;
  let initialBytes = 0;
  let lazyGzipBytes = 0;
  for (const name of readdirSync(join(dist, "assets"))) {
    const body = readFileSync(join(dist, "assets", name));
    const gzipped = gzipSync(body, { level: 9 }).length;
    if (initial.has(`assets/${name}`)) {
      initialGzipBytes += gzipped;
      initialBytes += body.length;
    } else {
      lazyGzipBytes += gzipped;
    }
  }
  return { initialGzipBytes, initialBytes, lazyGzipBytes };
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

// The Chromium processes of one namespace: the bench runs exactly one browser in each.
function chromiumMemory(namespace: string): { renderer: number; total: number } {
  const pids = execFileSync("ip", ["netns", "pids", namespace], { encoding: "utf8" }).split("\n").map(Number).filter((p) => p > 0);
  let renderer = 0;
  let total = 0;
  for (const pid of pids) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmdline.includes("chromium")) continue;
      const rss = rssOf(pid);
      total += rss;
      if (cmdline.includes("--type=renderer")) renderer = Math.max(renderer, rss);
    } catch {
      // Gone meanwhile.
    }
  }
  return { renderer, total };
}

async function jsHeapUsed(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("HeapProfiler.collectGarbage");
  await cdp.send("Performance.enable");
  const { metrics } = await cdp.send("Performance.getMetrics");
  await cdp.detach();
  return metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? 0;
}

/** Milliseconds from the click on "join" to the first decoded frame of a remote camera. */
async function timeJoin(page: Page): Promise<number> {
  await page.evaluate(() => {
    const button = document.querySelector('[data-testid="call-join"]');
    button?.addEventListener("click", () => ((window as unknown as { visioJoinClick: number }).visioJoinClick = performance.now()), { capture: true, once: true });
  });
  await page.getByTestId("call-join").click();
  const handle = await page.waitForFunction(
    () => {
      const clicked = (window as unknown as { visioJoinClick?: number }).visioJoinClick;
      const videos = Array.from(document.querySelectorAll<HTMLVideoElement>('[data-testid="video-tile"][data-local="false"][data-source="camera"] video'));
      return clicked !== undefined && videos.some((v) => v.getVideoPlaybackQuality().totalVideoFrames > 0) ? performance.now() - clicked : false;
    },
    undefined,
    { timeout: 60_000, polling: "raf" },
  );
  return (await handle.jsonValue()) as number;
}

export async function benchClient(runs = 5): Promise<ClientBenchResult> {
  const bundle = bundleSize(buildClient());
  const testbed = await getTestbed();
  // Each ministry's focus: every caller publishes on their own (multi_sfu).
  const [appserviceA] = await Promise.all([startAppservice("a"), startAppservice("b")]);
  const password = "bench-password";
  const alice = await testbed.ministries.a.registerUser(uniqueLocalpart("alice"), { password });
  const bob = await testbed.ministries.b.registerUser(uniqueLocalpart("bob"), { password });
  const [browserA, browserB] = await Promise.all([
    launchBrowser({ namespace: HOSTS.a.namespace, runDir: testbed.runDir }),
    launchBrowser({ namespace: HOSTS.b.namespace, runDir: testbed.runDir }),
  ]);
  try {
    const { page: pageA } = await openClient(browserA);
    const { page: pageB } = await openClient(browserB);
    await Promise.all([
      signInThroughForm(pageA, `${HOSTS.a.serverName}:${HOSTS.a.federationPort}`, alice.userId, password),
      signInThroughForm(pageB, `${HOSTS.b.serverName}:${HOSTS.b.federationPort}`, bob.userId, password),
    ]);
    const joinToFirstFrameMs: number[] = [];
    let memory: TabMemory | undefined;
    for (let run = 0; run < runs; run += 1) {
      // A fresh meeting per run: no LiveKit room or membership left over from the previous one.
      const { alias } = await createMeeting(appserviceA, testbed.ministries.a, alice, "Mesure du client");
      await joinAlias(testbed.ministries.b, bob, alias);
      await pageA.getByTestId(`room-${alias}`).click({ timeout: 30_000 });
      await pageB.getByTestId(`room-${alias}`).click({ timeout: 30_000 });
      await openPrejoin(pageA);
      await pageA.getByTestId("call-join").click();
      await pageA.locator('[data-testid="video-tile"][data-local="true"]').waitFor({ timeout: 30_000 });
      // B joins once it sees A in the call (A's membership has crossed the federation).
      await pageB.getByTestId("call-count").waitFor({ timeout: 30_000 });
      await openPrejoin(pageB);
      joinToFirstFrameMs.push(await timeJoin(pageB));
      if (run === runs - 1) {
        // Ten seconds into the call, as a user would be.
        await pageB.waitForTimeout(10_000);
        const { renderer, total } = chromiumMemory(HOSTS.b.namespace);
        memory = { jsHeapUsedBytes: await jsHeapUsed(pageB), rendererRssBytes: renderer, browserRssBytes: total };
      }
      await pageB.getByTestId("call-leave").click();
      await pageA.getByTestId("call-leave").click();
      await pageA.getByTestId("call-open").waitFor();
    }
    if (memory === undefined) throw new Error("no run measured memory");
    return { joinToFirstFrameMs, bundle, memory };
  } finally {
    await Promise.all([browserA.close(), browserB.close()]);
  }
}
