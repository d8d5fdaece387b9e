// The optional `focus` config section and the router built from it.
import { createServer } from "node:http";
import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { Room, TokenVerifier } from "livekit-server-sdk";
import { ConfigError, parseConfig } from "../../config/load.ts";
import type { FederationGet } from "../../appservice/src/focus/federation-client.ts";
import { focusApiFromConfig, liveKitApiUrl } from "../../appservice/src/focus/focus-from-config.ts";
import type { LiveKitRooms } from "../../appservice/src/focus/token-issuer.ts";
import { createLogger } from "../../appservice/src/log.ts";
import { requestJson } from "../harness/http.ts";

const base = {
  homeserver: { server_name: "ministry-a.test", url: "http://synapse:8008" },
  appservice: { url: "http://visio:9000", as_token: "a".repeat(32), hs_token: "h".repeat(32) },
  federation: { allowlist: ["ministry-b.test"] },
};
const livekit = { url: "wss://lk.ministry-a.test", api_key: "key", api_secret: "s".repeat(32) };

describe("focus config", () => {
  it("is optional, and filled with defaults when present", () => {
    assert.equal(parseConfig(base).focus, undefined);
    const focus = parseConfig({ ...base, focus: { livekit } }).focus;
    assert.equal(focus?.sfu_selection, "oldest_membership");
    assert.equal(focus?.full_access_servers, undefined);
    assert.equal(focus?.token_ttl_seconds, 600);
    assert.equal(focus?.openid_cache_seconds, 60);
  });

  it("names wrong LiveKit settings", () => {
    const bad = { ...base, focus: { livekit: { ...livekit, url: "https://lk.example", api_secret: "short" }, sfu_selection: "nearest" } };
    assert.throws(
      () => parseConfig(bad),
      (err: Error) =>
        err instanceof ConfigError &&
        /focus\.livekit\.url: must be a ws:\/\/ or wss:\/\/ URL/.test(err.message) &&
        /focus\.livekit\.api_secret: must be at least 32/.test(err.message) &&
        /focus\.sfu_selection: /.test(err.message),
    );
  });

  it("derives the LiveKit API URL from the client URL unless given", () => {
    const focus = (lk: Record<string, string>) => {
      const parsed = parseConfig({ ...base, focus: { livekit: { ...livekit, ...lk } } }).focus;
      assert.ok(parsed);
      return parsed;
    };
    assert.equal(liveKitApiUrl(focus({ url: "wss://lk.ministry-a.test" })), "https://lk.ministry-a.test");
    assert.equal(liveKitApiUrl(focus({ url: "ws://127.0.0.1:7880" })), "http://127.0.0.1:7880");
    assert.equal(liveKitApiUrl(focus({ api_url: "http://livekit:7880" })), "http://livekit:7880");
  });

  it("builds no API without the section, and a working one with it", async () => {
    const log = createLogger("error");
    const membership = { membership: async () => "join" };
    assert.equal(await focusApiFromConfig(parseConfig(base), { membership, log }), null);

    const asked: string[] = [];
    const federationGet: FederationGet = async (target, path) => {
      asked.push(`${target.host}:${target.port}`);
      if (path.startsWith("/.well-known/")) return { status: 404, body: null };
      return { status: 200, body: { sub: "@bob:ministry-b.test" } };
    };
    const rooms: LiveKitRooms = {
      listRooms: async (names) => (names ?? []).map((name) => new Room({ name })),
      createRoom: async () => assert.fail("a remote user must not create rooms"),
    };
    const config = parseConfig({ ...base, focus: { livekit, sfu_selection: "multi_sfu" } });
    const focus = await focusApiFromConfig(config, { membership, log, rooms, federationGet, prefix: "/focus" });
    assert.ok(focus);
    const server = createServer((req, res) => focus.handle(req, res));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const res = await requestJson("POST", `http://127.0.0.1:${(server.address() as AddressInfo).port}/focus/get_token`, {
        body: {
          room_id: "!r:ministry-a.test",
          slot_id: "m.call#ROOM",
          openid_token: { access_token: "t", token_type: "Bearer", matrix_server_name: "ministry-b.test", expires_in: 3600 },
          member: { id: "m", claimed_user_id: "@bob:ministry-b.test", claimed_device_id: "D" },
        },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const claims = await new TokenVerifier("key", "s".repeat(32)).verify(String(res.body.jwt));
      assert.equal(claims.video?.canPublish, false);
      assert.deepEqual(asked, ["ministry-b.test:443", "ministry-b.test:8448"]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("reports an unreadable CA file as a config error", async () => {
    const config = parseConfig({ ...base, focus: { livekit, federation_ca_file: "/nonexistent/ca.pem" } });
    await assert.rejects(
      focusApiFromConfig(config, { membership: { membership: async () => null }, log: createLogger("error") }),
      (err: Error) => err instanceof ConfigError && /focus\.federation_ca_file/.test(err.message),
    );
  });
});
