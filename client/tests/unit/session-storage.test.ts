import assert from "node:assert/strict";
import { clearSession, loadSession, saveSession, type StoredSession } from "../../src/services/matrix/session-storage.ts";
import { memoryStorage } from "./doubles.ts";

const SESSION: StoredSession = {
  serverName: "ministry-a.test",
  baseUrl: "https://ministry-a.test:8448",
  userId: "@alice:ministry-a.test",
  deviceId: "DEVICE",
  accessToken: "secret",
  wellKnown: { "org.matrix.msc4143.rtc_foci": [] },
};

describe("session storage", () => {
  it("keeps a session across a reload and forgets it at sign-out", () => {
    const storage = memoryStorage();
    saveSession(storage, SESSION);
    assert.deepEqual(loadSession(storage), SESSION);
    clearSession(storage);
    assert.equal(loadSession(storage), null);
  });

  it("treats a damaged or incomplete entry as no session", () => {
    const storage = memoryStorage();
    storage.setItem("visio.session", "{not json");
    assert.equal(loadSession(storage), null);
    storage.setItem("visio.session", JSON.stringify({ ...SESSION, accessToken: "" }));
    assert.equal(loadSession(storage), null);
  });
});
