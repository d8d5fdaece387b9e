// The session store with the real SDK against a fake homeserver (a fetch function), a fresh Pinia
// and a fresh app per test: sign-in, errors, reload, expired token, sign-out.
import assert from "node:assert/strict";
import { createPinia } from "pinia";
import { createApp } from "vue";
import { DEFAULT_CLIENT_CONFIG } from "../../src/services/client-config.ts";
import type { Services } from "../../src/services/index.ts";
import { provideServices } from "../../src/services/index.ts";
import { createMatrixClientFactory } from "../../src/services/matrix/client-factory.ts";
import { loadSession } from "../../src/services/matrix/session-storage.ts";
import { fakeHomeserver, type FakeHomeserver } from "../../src/services/matrix/testing/fake-homeserver-fetch.ts";
import { useSessionStore } from "../../src/stores/session.ts";
import { memoryStorage, noMedia, silentLogger, unrefLongTimers } from "./doubles.ts";

function sessionStore(server: FakeHomeserver, storage: Storage): ReturnType<typeof useSessionStore> {
  const app = createApp({});
  const services: Services = { fetch: server.fetch, storage, tabStorage: memoryStorage(), createMatrixClient: createMatrixClientFactory(server.fetch, { logger: silentLogger }), callMedia: noMedia, config: DEFAULT_CLIENT_CONFIG };
  provideServices(app, services);
  const pinia = createPinia();
  app.use(pinia);
  return app.runWithContext(() => useSessionStore(pinia));
}

describe("session store (real matrix-js-sdk, fake homeserver)", () => {
  unrefLongTimers();
  let server: FakeHomeserver;
  let storage: Storage;
  const stores: ReturnType<typeof useSessionStore>[] = [];
  const open = (): ReturnType<typeof useSessionStore> => {
    const store = sessionStore(server, storage);
    stores.push(store);
    return store;
  };

  beforeEach(() => {
    server = fakeHomeserver({ serverName: "ministry.test", baseUrl: "https://matrix.ministry.test", users: { alice: "right" } });
    storage = memoryStorage();
  });
  afterEach(() => {
    // Stops the SDK's sync loops.
    for (const store of stores.splice(0)) store.client?.stopClient();
  });

  it("signs in by server name and keeps the session for the next page load", async () => {
    const store = open();
    await store.signIn({ server: "ministry.test", username: "Alice", password: "right" });
    assert.equal(store.status, "signed-in");
    assert.equal(store.userId, "@alice:ministry.test");
    assert.equal(store.error, null);
    assert.equal(loadSession(storage)?.baseUrl, "https://matrix.ministry.test");

    const afterReload = open();
    await afterReload.restore();
    assert.equal(afterReload.status, "signed-in");
    assert.equal(afterReload.userId, "@alice:ministry.test");
  });

  it("refuses a wrong password with M_FORBIDDEN and stores nothing", async () => {
    const store = open();
    await store.signIn({ server: "ministry.test", username: "alice", password: "wrong" });
    assert.equal(store.status, "signed-out");
    assert.equal(store.error?.errcode, "M_FORBIDDEN");
    assert.equal(store.error?.messageKey, "error.wrongPassword");
    assert.equal(loadSession(storage), null);
  });

  it("signs in with the server inside the account, as alice@server, the server field left empty", async () => {
    const store = open();
    await store.signIn({ server: "", username: "Alice@ministry.test", password: "right" });
    assert.equal(store.status, "signed-in");
    assert.equal(store.userId, "@alice:ministry.test");
  });

  it("asks for a server when neither field names one, before asking any server", async () => {
    const store = open();
    await store.signIn({ server: "", username: "alice", password: "right" });
    assert.equal(store.error?.errcode, "M_INVALID_PARAM");
    assert.equal(store.error?.messageKey, "error.missingServer");
    assert.deepEqual(server.requests, []);
  });

  it("refuses empty fields before asking any server", async () => {
    const store = open();
    await store.signIn({ server: "ministry.test", username: " ", password: "" });
    assert.equal(store.error?.errcode, "M_INVALID_PARAM");
    assert.deepEqual(server.requests, []);
  });

  it("signs out: the server forgets the token and so does the browser", async () => {
    const store = open();
    await store.signIn({ server: "ministry.test", username: "alice", password: "right" });
    const token = loadSession(storage)?.accessToken ?? "";
    assert.ok(server.validTokens.has(token));
    await store.signOut();
    assert.equal(store.status, "signed-out");
    assert.equal(server.validTokens.has(token), false);
    assert.equal(loadSession(storage), null);
  });

  it("drops a stored session whose token the server no longer accepts, and says why", async () => {
    const first = open();
    await first.signIn({ server: "ministry.test", username: "alice", password: "right" });
    first.client?.stopClient();
    server.validTokens.clear();
    const afterReload = open();
    await afterReload.restore();
    assert.equal(afterReload.status, "signed-out");
    assert.equal(afterReload.error?.errcode, "M_UNKNOWN_TOKEN");
    assert.equal(loadSession(storage), null);
  });
});
