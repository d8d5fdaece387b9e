// Single sign-on in the client: what a homeserver's login flows offer, the way out to the provider and
// back with a one-time login token (the meeting's fragment kept), the pending homeserver that alone
// may receive that token; then the sso and session stores together, with the real SDK against a fake
// homeserver (the browser test does it against Synapse and a real OpenID Connect provider).
import assert from "node:assert/strict";
import { createPinia } from "pinia";
import { createApp } from "vue";
import { DEFAULT_CLIENT_CONFIG } from "../../src/services/client-config.ts";
import { provideServices } from "../../src/services/index.ts";
import { createMatrixClientFactory } from "../../src/services/matrix/client-factory.ts";
import type { DiscoveredHomeserver, FetchLike } from "../../src/services/matrix/homeserver-discovery.ts";
import { loadSession } from "../../src/services/matrix/session-storage.ts";
import { loginTokenIn, savePendingSso, ssoProvidersOf, ssoRedirectUrl, takePendingSso } from "../../src/services/matrix/sso.ts";
import { fakeHomeserver, type FakeHomeserver } from "../../src/services/matrix/testing/fake-homeserver-fetch.ts";
import { useSessionStore } from "../../src/stores/session.ts";
import { useSsoStore } from "../../src/stores/sso.ts";
import { memoryStorage, noMedia, silentLogger, unrefLongTimers } from "./doubles.ts";

const HOMESERVER: DiscoveredHomeserver = { serverName: "ministry.test", baseUrl: "https://matrix.ministry.test", wellKnown: {} };
const PAGE = "https://visio.ministry.test/#/m/%23budget%3Aministry.test";

describe("single sign-on: login flows, redirect and return", () => {
  it("lists the identity providers of m.login.sso, and none when the server offers only passwords", () => {
    const flows = {
      flows: [
        { type: "m.login.password" },
        { type: "m.login.sso", identity_providers: [{ id: "oidc-annuaire", name: "Annuaire" }, { id: "oidc-proconnect", name: " " }, { name: "no id" }] },
      ],
    };
    assert.deepEqual(ssoProvidersOf(flows, "ministry.test"), [
      { id: "oidc-annuaire", name: "Annuaire" },
      { id: "oidc-proconnect", name: "oidc-proconnect" },
    ]);
    assert.deepEqual(ssoProvidersOf({ flows: [{ type: "m.login.password" }] }, "ministry.test"), []);
    assert.deepEqual(ssoProvidersOf({ flows: [{ type: "m.login.sso" }] }, "ministry.test"), [{ id: null, name: "ministry.test" }]);
    assert.deepEqual(ssoProvidersOf("garbage", "ministry.test"), []);
  });

  it("sends the browser to the homeserver's redirect for the provider, with the page (and its meeting) to come back to", () => {
    const url = new URL(ssoRedirectUrl(HOMESERVER, { id: "oidc-annuaire", name: "Annuaire" }, `${PAGE.replace("/#", "/?loginToken=old#")}`));
    assert.equal(url.origin + url.pathname, "https://matrix.ministry.test/_matrix/client/v3/login/sso/redirect/oidc-annuaire");
    assert.equal(url.searchParams.get("redirectUrl"), PAGE, "an old token is dropped, the fragment kept");
    const generic = new URL(ssoRedirectUrl(HOMESERVER, { id: null, name: "ministry.test" }, PAGE));
    assert.equal(generic.pathname, "/_matrix/client/v3/login/sso/redirect");
  });

  it("finds the login token of the page it comes back to, and the address without it", () => {
    const back = "https://visio.ministry.test/?loginToken=syl_abc&lang=fr#/m/%23budget%3Aministry.test";
    assert.deepEqual(loginTokenIn(back), { token: "syl_abc", cleanUrl: "https://visio.ministry.test/?lang=fr#/m/%23budget%3Aministry.test" });
    assert.equal(loginTokenIn(PAGE), null);
  });

  it("remembers the homeserver once, for half an hour at most, and ignores a damaged entry", () => {
    const storage = memoryStorage();
    savePendingSso(storage, HOMESERVER, 1000);
    assert.deepEqual(takePendingSso(storage, 2000), HOMESERVER);
    assert.equal(takePendingSso(storage, 2000), null, "once only");
    savePendingSso(storage, HOMESERVER, 0);
    assert.equal(takePendingSso(storage, 31 * 60 * 1000), null, "too old");
    storage.setItem("visio.sso-pending", JSON.stringify({ homeserver: { serverName: "x", baseUrl: "javascript:alert(1)" }, startedAt: 0 }));
    assert.equal(takePendingSso(storage, 1), null);
    storage.setItem("visio.sso-pending", "{not json");
    assert.equal(takePendingSso(storage, 1), null);
  });
});

// The SDK logs every request at debug level; tests only care about what the stores do.

describe("single sign-on: the sso and session stores (real matrix-js-sdk, fake homeserver)", () => {
  unrefLongTimers();

  let server: FakeHomeserver;
  let loginTokens: Map<string, string>;
  let storage: ReturnType<typeof memoryStorage>;
  let tabStorage: ReturnType<typeof memoryStorage>;
  const sessions: ReturnType<typeof useSessionStore>[] = [];

  // A page load in the same tab: a fresh app and Pinia over the same browser and tab storage.
  function pageLoad(): { sso: ReturnType<typeof useSsoStore>; session: ReturnType<typeof useSessionStore> } {
    const app = createApp({});
    // nowhere.test: no server at all (the fake answers any .well-known).
    const fetchFn: FetchLike = (input, init) => (new URL(input).hostname === "nowhere.test" ? Promise.reject(new TypeError("Failed to fetch")) : server.fetch(input, init));
    provideServices(app, { fetch: fetchFn, storage, tabStorage, createMatrixClient: createMatrixClientFactory(fetchFn, { logger: silentLogger }), callMedia: noMedia, config: DEFAULT_CLIENT_CONFIG });
    const pinia = createPinia();
    app.use(pinia);
    const stores = app.runWithContext(() => ({ sso: useSsoStore(pinia), session: useSessionStore(pinia) }));
    sessions.push(stores.session);
    return stores;
  }

  beforeEach(() => {
    loginTokens = new Map([["syl_camille", "camille"]]);
    server = fakeHomeserver({
      serverName: "ministry.test",
      baseUrl: "https://matrix.ministry.test",
      users: {},
      identityProviders: [{ id: "oidc-annuaire", name: "Annuaire du ministère" }],
      loginTokens,
    });
    storage = memoryStorage();
    tabStorage = memoryStorage();
  });
  afterEach(() => {
    for (const session of sessions.splice(0)) session.client?.stopClient();
  });

  it("offers the homeserver's provider once the account names it; the token that comes back signs in on that homeserver", async () => {
    const before = pageLoad();
    await before.sso.lookUp("camille@ministry.test", "");
    assert.deepEqual(before.sso.providers, [{ id: "oidc-annuaire", name: "Annuaire du ministère" }]);
    const [provider] = before.sso.providers;
    assert.ok(provider !== undefined);
    const target = new URL(before.sso.redirectUrl(provider, PAGE));
    assert.equal(target.origin, "https://matrix.ministry.test");

    const after = pageLoad();
    await after.session.signInWithSso("syl_camille");
    assert.equal(after.session.status, "signed-in");
    assert.equal(after.session.userId, "@camille:ministry.test");
    assert.equal(loadSession(storage)?.baseUrl, "https://matrix.ministry.test");
    assert.equal(tabStorage.getItem("visio.sso-pending"), null, "the pending sign-in is used up");
  });

  it("a token used already is refused with a message of its own, and nothing is stored", async () => {
    loginTokens.clear();
    savePendingSso(tabStorage, HOMESERVER);
    const { session } = pageLoad();
    await session.signInWithSso("syl_camille");
    assert.equal(session.status, "signed-out");
    assert.equal(session.error?.errcode, "M_FORBIDDEN");
    assert.equal(session.error?.messageKey, "error.ssoTokenInvalid");
    assert.equal(loadSession(storage), null);
  });

  it("a token this tab did not ask for is sent nowhere", async () => {
    const { session } = pageLoad();
    await session.signInWithSso("syl_camille");
    assert.equal(session.error?.messageKey, "error.ssoNotStarted");
    assert.deepEqual(server.requests, []);
    assert.ok(loginTokens.has("syl_camille"), "the token was not spent");
  });

  it("offers nothing for a server that is not one, or while the account names no server, and keeps only the latest answer", async () => {
    const { sso } = pageLoad();
    await sso.lookUp("camille@nowhere.test", "");
    assert.deepEqual(sso.providers, []);
    await sso.lookUp("camille", "");
    assert.deepEqual(sso.providers, []);
    // The user typed on: the answer for the earlier server comes after the later lookup began.
    const earlier = sso.lookUp("camille@ministry.test", "");
    const later = sso.lookUp("camille@nowhere.test", "");
    await Promise.all([earlier, later]);
    assert.deepEqual(sso.providers, []);
  });
});
