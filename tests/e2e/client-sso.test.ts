// Single sign-on in the web client (Chromium inside ministry A's namespace) against the real Synapse A
// and ministry A's identity provider, a real OpenID Connect provider (npm's oidc-provider, started by
// the test bed): the button Synapse's login flows call for, the provider's own login page, the way
// back with a one-time login token, a shared meeting link that survives the round trip; and what
// goes wrong: a wrong password at the provider, a login token that was used already or forged, a
// token this tab never asked for.
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { matrixRequest } from "../harness/matrix-client.ts";
import { HOSTS } from "../harness/network.ts";
import { SYNAPSE_IDP_ID } from "../harness/oidc-provider.ts";
import type { IdentityProvider, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { CLIENT_ORIGIN, launchBrowser, openClient } from "../support/browser.ts";
import { saveScreenshot } from "../support/browser-screenshots.ts";

const SSO_BUTTON = `sign-in-sso-oidc-${SYNAPSE_IDP_ID}`;

describe("web client: single sign-on through ministry A's OpenID Connect provider (Chromium, real Synapse A, oidc-provider)", function () {
  this.timeout(120_000);
  let testbed: Testbed;
  let browser: Browser;
  let idp: IdentityProvider;
  let account: IdentityProvider["accounts"][number];
  /** The login tokens Synapse sent the browser back with (the client's page, as it was navigated to). */
  const loginTokens: string[] = [];

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    idp = testbed.identityProvider;
    const first = idp.accounts[0];
    if (first === undefined) throw new Error("the identity provider has no account");
    account = first;
    browser = await launchBrowser({ namespace: HOSTS.a.namespace, runDir: testbed.runDir });
  });
  after(async () => {
    await browser?.close();
  });

  function recordLoginTokens(page: Page): void {
    page.on("request", (request) => {
      const token = new URL(request.url()).searchParams.get("loginToken");
      // Chromium asks for an intercepted redirect's target twice: count tokens, not requests.
      if (token !== null && request.url().startsWith(CLIENT_ORIGIN) && !loginTokens.includes(token)) loginTokens.push(token);
    });
  }

  /** Types the account's address, waits for the provider's button and follows it to the provider's login page. */
  async function goToProvider(page: Page): Promise<void> {
    await page.getByTestId("sign-in-username").fill(`${account.username}@${HOSTS.a.serverName}`);
    await page.getByTestId(SSO_BUTTON).click({ timeout: 30_000 });
    await page.waitForURL(`${idp.issuer}/interaction/**`, { timeout: 30_000 });
  }

  async function storedSession(page: Page): Promise<string | null> {
    return page.evaluate(() => window.localStorage.getItem("visio.session"));
  }

  it("SSO sign-in through the test OIDC provider: the address typed, the provider's button, its login page, back signed in, in the meeting of the shared link", async () => {
    // A room on A that the link names: public, with an alias outside the appservice's exclusive
    // #visio-… namespace (this test needs no appservice), made by a user of A.
    const owner = await testbed.ministries.a.registerUser(uniqueLocalpart("owner"));
    const aliasName = `sso-e2e-${uniqueLocalpart("room")}`;
    const alias = `#${aliasName}:${HOSTS.a.serverName}`;
    await matrixRequest(testbed.ministries.a.clientUrl, owner.accessToken, "POST", "/_matrix/client/v3/createRoom", {
      preset: "public_chat",
      room_alias_name: aliasName,
      name: "Réunion SSO",
    });
    const link = `${CLIENT_ORIGIN}/#/m/${encodeURIComponent(alias)}`;

    const { page, context } = await openClient(browser);
    recordLoginTokens(page);
    await page.goto(link);
    await page.getByTestId("sign-in-username").fill(`${account.username}@${HOSTS.a.serverName}`);
    const button = page.getByTestId(SSO_BUTTON);
    await button.waitFor({ timeout: 30_000 });
    assert.equal((await button.innerText()).trim(), `Se connecter avec ${idp.name}`);
    assert.equal(await page.getByTestId("sign-in-password").isVisible(), true, "the password stays available");
    // sign-in-sso.png at 1280×800 and sign-in-sso-phone.png at 390×844.
    await saveScreenshot(page, "sign-in-sso");

    await button.click();
    await page.waitForURL(`${idp.issuer}/interaction/**`, { timeout: 30_000 });
    await page.locator("#idp-username").fill(account.username);
    await page.locator("#idp-password").fill(account.password);
    await page.locator("#idp-submit").click();

    await page.getByTestId("workspace").waitFor({ timeout: 30_000 });
    assert.match(await page.getByTestId("signed-in-as").innerText(), new RegExp(`@${account.username.replaceAll(".", "\\.")}:ministry-a\\.test`));
    await page.getByTestId("room-alias").filter({ hasText: alias }).waitFor({ timeout: 30_000 });
    const landed = new URL(page.url());
    assert.equal(landed.searchParams.has("loginToken"), false, "the one-time token leaves the address bar");
    assert.equal(landed.hash, `#/m/${encodeURIComponent(alias)}`, "the meeting link survives the round trip");
    assert.equal(loginTokens.length, 1, "Synapse sent the browser back once, with a login token");

    // Synapse made the account from the provider's claims: preferred_username and name.
    const userId = `@${account.username}:${HOSTS.a.serverName}`;
    const profile = await matrixRequest<{ displayname?: string }>(testbed.ministries.a.clientUrl, owner.accessToken, "GET", `/_matrix/client/v3/profile/${encodeURIComponent(userId)}`);
    assert.equal(profile.displayname, account.name);
    await context.close();
  });

  it("a wrong password at the provider: the provider's own error, and nobody is signed in", async () => {
    const { page, context } = await openClient(browser);
    await goToProvider(page);
    await page.locator("#idp-username").fill(account.username);
    await page.locator("#idp-password").fill("not the password");
    await page.locator("#idp-submit").click();
    const error = page.locator("#idp-error");
    await error.waitFor({ timeout: 30_000 });
    assert.equal(await error.innerText(), "Identifiant ou mot de passe incorrect.");
    assert.ok(page.url().startsWith(`${idp.issuer}/interaction/`), "still at the provider");

    await page.goto(`${CLIENT_ORIGIN}/`);
    await page.getByTestId("sign-in-username").waitFor();
    assert.equal(await storedSession(page), null);
    assert.equal(await page.getByTestId("workspace").count(), 0);
    await context.close();
  });

  it("a login token used already, or forged, gives a clear error on the sign-in form and signs nobody in", async () => {
    const used = loginTokens[0];
    assert.ok(used !== undefined, "the first test recorded the token it signed in with");
    for (const token of [used, "syl_forged_token"]) {
      const { page, context } = await openClient(browser);
      await goToProvider(page);
      // Back at the client with a token, instead of signing in at the provider.
      await page.goto(`${CLIENT_ORIGIN}/?loginToken=${encodeURIComponent(token)}#/m/${encodeURIComponent(`#x:${HOSTS.a.serverName}`)}`);
      const error = page.getByTestId("sign-in-error");
      await error.waitFor({ timeout: 30_000 });
      assert.equal(await error.getAttribute("data-errcode"), "M_FORBIDDEN");
      assert.match(await error.innerText(), /La connexion unique n'a pas abouti : son lien de retour est invalide, expiré ou a déjà servi/);
      assert.equal(new URL(page.url()).searchParams.has("loginToken"), false, "the token leaves the address bar");
      assert.equal(await storedSession(page), null);
      await context.close();
    }
  });

  it("a login token that this tab did not ask for is never sent anywhere", async () => {
    const { page, context } = await openClient(browser, { locale: "en" });
    const sent: string[] = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && request.url().includes("/login")) sent.push(request.url());
    });
    await page.goto(`${CLIENT_ORIGIN}/?loginToken=syl_someone_elses`);
    const error = page.getByTestId("sign-in-error");
    await error.waitFor({ timeout: 30_000 });
    assert.match(await error.innerText(), /This single sign-on was not started from this tab/);
    assert.deepEqual(sent, []);
    await context.close();
  });
});
