// Chromium for the browser tests: Debian's /usr/bin/chromium started inside a ministry's network
// namespace (media must never use loopback or the machine's own address), driven by playwright-core
// over a pipe, fake camera and microphone. The built client is served to it by request interception
// on its own origin, so no web server has to run in the namespaces.
import { readFile, writeFile, chmod } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page, type Route } from "playwright-core";
import { buildClient } from "../harness/client-build.ts";
import { contentTypeOf, fileInside } from "../harness/client-server.ts";
import { clientSecurityHeaders } from "../../config/client-security-headers.ts";
import { TEST_CLIENT_ORIGIN } from "../harness/testbed.ts";

/** Where the client is served in tests: a name no DNS knows, answered by interception only. */
export const CLIENT_ORIGIN = TEST_CLIENT_ORIGIN;
/** Where Element Call is served in tests (support/element-call.ts), the same way. */
export const ELEMENT_CALL_ORIGIN = "http://element-call.test";
const CHROMIUM = "/usr/bin/chromium";

export interface BrowserOptions {
  /** Network namespace to run in (visio-a, visio-b). */
  namespace: string;
  /** A directory of this run for the wrapper script. */
  runDir: string;
  /** Extra Chromium flags (e.g. --use-file-for-fake-audio-capture=…). */
  args?: string[];
}

export async function launchBrowser(options: BrowserOptions): Promise<Browser> {
  // playwright starts "the browser" with its pipe on fds 3 and 4; `ip netns exec` keeps them open.
  const wrapper = join(options.runDir, `chromium-${options.namespace}.sh`);
  await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${options.namespace} ${CHROMIUM} "$@"\n`);
  await chmod(wrapper, 0o755);
  return chromium.launch({
    executablePath: wrapper,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
      "--no-proxy-server",
      // getUserMedia needs a secure context; the test origins are plain http.
      `--unsafely-treat-insecure-origin-as-secure=${CLIENT_ORIGIN},${ELEMENT_CALL_ORIGIN}`,
      // The test origin has no address, so Chromium counts it as public and would refuse its requests
      // to the ministries' private 10.77.0.x addresses (Local Network Access); a deployed client and
      // its homeserver are on the same side of that line.
      "--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,BlockInsecurePrivateNetworkRequests",
      // Screen sharing without a picker: the fake capture stands in for the screen.
      "--auto-select-desktop-capture-source=Entire screen",
      ...(options.args ?? []),
    ],
  });
}

/** Answers an intercepted request with a file (null: outside what is served), or 404. */
export async function fulfillWithFile(route: Route, path: string | null, headers: Record<string, string> = {}): Promise<void> {
  try {
    if (path === null) throw new Error("outside what is served");
    await route.fulfill({ status: 200, body: await readFile(path), headers: { ...headers, "content-type": contentTypeOf(path) } });
  } catch {
    await route.fulfill({ status: 404, body: "not found" });
  }
}

/** Serves client/dist at CLIENT_ORIGIN for every page of the context, with the headers production sends. */
export async function serveClient(context: BrowserContext): Promise<void> {
  const dist = buildClient();
  const headers = clientSecurityHeaders({ plainHttp: true });
  await context.route(`${CLIENT_ORIGIN}/**`, (route) => fulfillWithFile(route, fileInside(dist, new URL(route.request().url()).pathname), headers));
}

export interface ClientPage {
  context: BrowserContext;
  page: Page;
}

/** A fresh browser profile (its own localStorage) with the client open. */
export async function openClient(
  browser: Browser,
  options: {
    locale?: "fr" | "en";
    viewport?: { width: number; height: number };
    /** The deployment's config.json (none by default: the client's defaults). */
    config?: { matrix_rtc_mode?: "compatibility" | "matrix_2_0" };
  } = {},
): Promise<ClientPage> {
  const context = await browser.newContext({
    // The homeservers' certificates come from the test run's own CA.
    ignoreHTTPSErrors: true,
    viewport: options.viewport ?? { width: 1280, height: 800 },
    locale: options.locale === "en" ? "en-GB" : "fr-FR",
    permissions: ["camera", "microphone"],
  });
  await serveClient(context);
  const config = options.config;
  if (config !== undefined) {
    // Registered after serveClient: Playwright asks the newest route first.
    await context.route(`${CLIENT_ORIGIN}/config.json`, (route) =>
      route.fulfill({ status: 200, body: JSON.stringify(config), headers: { "content-type": "application/json" } }),
    );
  }
  if (options.locale !== undefined) {
    await context.addInitScript((locale) => {
      if (window.localStorage.getItem("visio.locale") === null) window.localStorage.setItem("visio.locale", locale);
    }, options.locale);
  }
  const page = await context.newPage();
  // The page's own console, for failures: VISIO_E2E_CONSOLE=1 prints it.
  if (process.env.VISIO_E2E_CONSOLE === "1") page.on("console", (message) => console.log(`[browser] ${message.type()}: ${message.text()}`));
  await page.goto(`${CLIENT_ORIGIN}/`);
  return { context, page };
}

/** Signs in through the form and waits for the signed-in workspace. */
export async function signInThroughForm(page: Page, server: string, username: string, password: string): Promise<void> {
  await page.getByTestId("sign-in-server").fill(server);
  await page.getByTestId("sign-in-username").fill(username);
  await page.getByTestId("sign-in-password").fill(password);
  await page.getByTestId("sign-in-submit").click();
  await page.getByTestId("workspace").waitFor({ timeout: 30_000 });
}

export async function joinMeeting(page: Page, alias: string): Promise<void> {
  await page.getByTestId("join-alias").fill(alias);
  await page.getByTestId("join-submit").click();
  await page.getByTestId("room-alias").filter({ hasText: alias }).waitFor({ timeout: 30_000 });
}
