import assert from "node:assert/strict";
import { ERRCODE, VisioError } from "../../src/services/errors.ts";
import { discoverHomeserver, parseServerInput, type FetchLike } from "../../src/services/matrix/homeserver-discovery.ts";
import { parseAccountInput } from "../../src/services/matrix/account.ts";

// A fake network: URL → answer; anything else fails as an unreachable host does.
function network(routes: Record<string, { status: number; body?: unknown } | "down">): FetchLike & { calls: string[] } {
  const calls: string[] = [];
  const fetchFn = async (url: string): Promise<Response> => {
    calls.push(url);
    const route = routes[url];
    if (route === undefined || route === "down") throw new TypeError("Failed to fetch");
    return new Response(route.body === undefined ? "" : JSON.stringify(route.body), { status: route.status });
  };
  return Object.assign(fetchFn, { calls });
}

async function rejectsWith(promise: Promise<unknown>, errcode: string, messageKey: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof VisioError, String(error));
    assert.equal(error.errcode, errcode);
    assert.equal(error.messageKey, messageKey);
    return true;
  });
}

const VERSIONS = { status: 200, body: { versions: ["v1.11"] } };

describe("homeserver discovery", () => {
  it("follows .well-known/matrix/client to the announced base URL", async () => {
    const fetchFn = network({
      "https://ministry.test/.well-known/matrix/client": { status: 200, body: { "m.homeserver": { base_url: "https://matrix.ministry.test/" }, "org.visio.appservice": { url: "https://as" } } },
      "https://matrix.ministry.test/_matrix/client/versions": VERSIONS,
    });
    const found = await discoverHomeserver(" Ministry.test ", fetchFn);
    assert.equal(found.serverName, "ministry.test");
    assert.equal(found.baseUrl, "https://matrix.ministry.test");
    assert.deepEqual(found.wellKnown["org.visio.appservice"], { url: "https://as" });
  });

  it("uses the name itself when the server publishes no .well-known", async () => {
    const fetchFn = network({
      "https://ministry.test:8448/.well-known/matrix/client": { status: 404, body: { errcode: "M_NOT_FOUND" } },
      "https://ministry.test:8448/_matrix/client/versions": VERSIONS,
    });
    const found = await discoverHomeserver("ministry.test:8448", fetchFn);
    assert.equal(found.baseUrl, "https://ministry.test:8448");
    assert.deepEqual(found.wellKnown, {});
  });

  it("accepts a URL and a full user ID", async () => {
    assert.deepEqual(parseServerInput("http://127.0.0.1:8008/"), { serverName: "127.0.0.1:8008", origin: "http://127.0.0.1:8008" });
    assert.deepEqual(parseServerInput("@alice:ministry-a.test"), { serverName: "ministry-a.test", origin: "https://ministry-a.test" });
  });

  it("refuses what is not a server name, before any request", async () => {
    const fetchFn = network({});
    await rejectsWith(discoverHomeserver("not a server", fetchFn), ERRCODE.invalidParam, "error.badServerName");
    await rejectsWith(discoverHomeserver("", fetchFn), ERRCODE.invalidParam, "error.badServerName");
    assert.deepEqual(fetchFn.calls, []);
  });

  it("says the server is unknown when nothing answers at that name", async () => {
    await rejectsWith(discoverHomeserver("nowhere.test", network({})), ERRCODE.unknownServer, "error.unknownServer");
  });

  it("says the server is unknown when a web server answers but no Matrix API", async () => {
    const fetchFn = network({
      "https://web.test/.well-known/matrix/client": { status: 404 },
      "https://web.test/_matrix/client/versions": { status: 404 },
    });
    await rejectsWith(discoverHomeserver("web.test", fetchFn), ERRCODE.unknownServer, "error.unknownServer");
  });

  it("says the server is down when its .well-known names a homeserver that does not answer", async () => {
    const fetchFn = network({
      "https://ministry.test/.well-known/matrix/client": { status: 200, body: { "m.homeserver": { base_url: "https://hs.ministry.test" } } },
      "https://hs.ministry.test/_matrix/client/versions": "down",
    });
    await rejectsWith(discoverHomeserver("ministry.test", fetchFn), ERRCODE.serverDown, "error.serverDown");
  });

  it("says the server is down when its API answers 5xx", async () => {
    const fetchFn = network({
      "https://ministry.test/.well-known/matrix/client": "down",
      "https://ministry.test/_matrix/client/versions": { status: 502 },
    });
    await rejectsWith(discoverHomeserver("ministry.test", fetchFn), ERRCODE.serverDown, "error.serverDown");
  });
});

describe("parseAccountInput: the account as a person types it", () => {
  it("takes the server from alice@server or @alice:server when the server field is empty", () => {
    assert.deepEqual(parseAccountInput("Alice@ministry-a.test", ""), { user: "alice", server: "ministry-a.test" });
    assert.deepEqual(parseAccountInput(" @alice:ministry-a.test ", " "), { user: "@alice:ministry-a.test", server: "ministry-a.test" });
  });
  it("keeps the server field when one is typed, and a bare name needs it", () => {
    assert.deepEqual(parseAccountInput("alice@ministry-a.test", "https://matrix.ministry-a.test"), { user: "alice", server: "https://matrix.ministry-a.test" });
    assert.deepEqual(parseAccountInput("Alice", "ministry-a.test"), { user: "alice", server: "ministry-a.test" });
    assert.deepEqual(parseAccountInput("alice", ""), { user: "alice", server: "" });
  });
});
