import assert from "node:assert/strict";
import type { OpenIdToken } from "../../../config/wire-types.ts";
import { VisioError } from "../../src/services/errors.ts";
import { focusVouchedBy, fociFromWellKnown, requestFocusToken, requestPublishToken, requestSubscribeToken } from "../../src/services/livekit/focus.ts";

const TOKEN: OpenIdToken = { access_token: "openid-secret", token_type: "Bearer", matrix_server_name: "ministry-b.test", expires_in: 3600 };

describe("focus discovery and token", () => {
  it("reads the LiveKit foci of .well-known and ignores other kinds", () => {
    const foci = fociFromWellKnown({
      "org.matrix.msc4143.rtc_foci": [{ type: "livekit", livekit_service_url: "https://focus.a/livekit/jwt" }, { type: "nextgen" }, { type: "livekit" }],
    });
    assert.deepEqual(foci, [{ type: "livekit", livekit_service_url: "https://focus.a/livekit/jwt" }]);
    assert.deepEqual(fociFromWellKnown({}), []);
  });

  it("asks /get_token with exactly the MSC4195 fields", async () => {
    let seen: { url: string; body: unknown } | undefined;
    const fetchFn = async (url: string, init?: RequestInit): Promise<Response> => {
      seen = { url, body: JSON.parse(String(init?.body)) };
      return Response.json({ url: "wss://sfu.a", jwt: "lk-jwt" });
    };
    const answer = await requestFocusToken(fetchFn, {
      serviceUrl: "https://focus.a/livekit/jwt/",
      roomId: "!room:ministry-a.test",
      userId: "@bob:ministry-b.test",
      deviceId: "DEV",
      memberId: "@bob:ministry-b.test:DEV",
      openIdToken: { ...TOKEN, extra: "dropped" } as OpenIdToken,
    });
    assert.deepEqual(answer, { url: "wss://sfu.a", jwt: "lk-jwt" });
    assert.equal(seen?.url, "https://focus.a/livekit/jwt/get_token");
    assert.deepEqual(seen?.body, {
      room_id: "!room:ministry-a.test",
      slot_id: "m.call#ROOM",
      openid_token: TOKEN,
      member: { id: "@bob:ministry-b.test:DEV", claimed_user_id: "@bob:ministry-b.test", claimed_device_id: "DEV" },
    });
  });

  it("turns the focus's Matrix-style refusal into an error that keeps its errcode, says why in plain words and keeps the sentence for the console", async () => {
    const fetchFn = async (): Promise<Response> => Response.json({ errcode: "M_FORBIDDEN", error: "You are not a member of this room" }, { status: 403 });
    await assert.rejects(
      requestFocusToken(fetchFn, { serviceUrl: "https://f", roomId: "!r:a", userId: "@u:a", deviceId: "D", memberId: "@u:a:D", openIdToken: TOKEN }),
      (error: unknown) => {
        assert.ok(error instanceof VisioError);
        assert.equal(error.errcode, "M_FORBIDDEN");
        assert.equal(error.messageKey, "call.failed");
        assert.equal(error.reasonKey, "reason.forbidden");
        assert.match(error.message, /You are not a member of this room/);
        assert.equal(error.retryable, false);
        return true;
      },
    );
  });
});

describe("own focus", () => {
  const FOCUS = { type: "livekit" as const, livekit_service_url: "https://focus.a/livekit/jwt" };
  it("prefers the MSC4143 transports endpoint (what Element Call reads), then .well-known, else none", async () => {
    const { ownFocus } = await import("../../src/services/livekit/focus.ts");
    const OTHER = { type: "livekit" as const, livekit_service_url: "https://other.a/livekit/jwt" };
    const transports = async (): Promise<unknown[]> => [{ type: "other" }, FOCUS];
    assert.deepEqual(await ownFocus({ "org.matrix.msc4143.rtc_foci": [OTHER] }, transports), FOCUS);
    assert.deepEqual(await ownFocus({ "org.matrix.msc4143.rtc_foci": [OTHER] }, async () => []), OTHER);
    assert.deepEqual(await ownFocus({ "org.matrix.msc4143.rtc_foci": [OTHER] }, () => Promise.reject(new Error("M_NOT_FOUND"))), OTHER);
    assert.equal(await ownFocus({}, () => Promise.reject(new Error("M_NOT_FOUND"))), undefined);
  });
});

describe("publish and subscribe tokens (multi_sfu, as Element Call)", () => {
  const input = {
    serviceUrl: "https://focus.b/livekit/jwt",
    roomId: "!room:ministry-a.test",
    userId: "@bob:ministry-b.test",
    deviceId: "DEV",
    memberId: "@bob:ministry-b.test:DEV",
    openIdToken: TOKEN,
  };

  it("compatibility mode: publishes with the legacy /sfu/get token, the identity <user id>:<device id> of a call.member state event", async () => {
    const seen: { url: string; body: unknown }[] = [];
    const fetchFn = async (url: string, init?: RequestInit): Promise<Response> => {
      seen.push({ url, body: JSON.parse(String(init?.body)) });
      return Response.json({ url: "wss://sfu.b", jwt: "lk-jwt" });
    };
    assert.deepEqual(await requestPublishToken(fetchFn, input, "compatibility"), { url: "wss://sfu.b", jwt: "lk-jwt" });
    assert.deepEqual(seen, [{ url: "https://focus.b/livekit/jwt/sfu/get", body: { room: "!room:ministry-a.test", openid_token: TOKEN, device_id: "DEV" } }]);
  });

  it("compatibility mode: subscribes with /get_token, and with /sfu/get on a focus that has only that", async () => {
    const asked: string[] = [];
    const fetchFn = async (url: string): Promise<Response> => {
      asked.push(url.slice(url.lastIndexOf("/jwt/") + 5));
      return url.endsWith("/get_token") ? new Response("404 page not found", { status: 404 }) : Response.json({ url: "wss://sfu.b", jwt: "legacy" });
    };
    assert.deepEqual(await requestSubscribeToken(fetchFn, input, "compatibility"), { url: "wss://sfu.b", jwt: "legacy" });
    assert.deepEqual(asked, ["get_token", "sfu/get"]);
    const refusing = async (): Promise<Response> => Response.json({ errcode: "M_FORBIDDEN", error: "The call has not been started on this SFU" }, { status: 403 });
    await assert.rejects(requestSubscribeToken(refusing, input, "compatibility"), (error: unknown) => error instanceof VisioError && error.errcode === "M_FORBIDDEN");
  });
});

describe("publish and subscribe tokens in matrix_2_0 mode (m.rtc.member, hashed identities)", () => {
  const input = {
    serviceUrl: "https://focus.b/livekit/jwt",
    roomId: "!room:ministry-a.test",
    userId: "@bob:ministry-b.test",
    deviceId: "DEV",
    memberId: "5f0c7d1e-member",
    openIdToken: TOKEN,
  };

  it("publishes and subscribes with /get_token for the membership's member ID, never the legacy endpoint", async () => {
    const seen: { url: string; body: Record<string, unknown> }[] = [];
    const fetchFn = async (url: string, init?: RequestInit): Promise<Response> => {
      seen.push({ url, body: JSON.parse(String(init?.body)) as Record<string, unknown> });
      return url.endsWith("/get_token") ? Response.json({ url: "wss://sfu.b", jwt: "lk-jwt" }) : Response.json({ url: "wss://sfu.b", jwt: "legacy" });
    };
    assert.deepEqual(await requestPublishToken(fetchFn, input, "matrix_2_0"), { url: "wss://sfu.b", jwt: "lk-jwt" });
    assert.deepEqual(await requestSubscribeToken(fetchFn, input, "matrix_2_0"), { url: "wss://sfu.b", jwt: "lk-jwt" });
    assert.deepEqual(
      seen.map((r) => [r.url, r.body.member]),
      [
        ["https://focus.b/livekit/jwt/get_token", { id: "5f0c7d1e-member", claimed_user_id: "@bob:ministry-b.test", claimed_device_id: "DEV" }],
        ["https://focus.b/livekit/jwt/get_token", { id: "5f0c7d1e-member", claimed_user_id: "@bob:ministry-b.test", claimed_device_id: "DEV" }],
      ],
    );
    const refusing = async (url: string): Promise<Response> =>
      url.endsWith("/get_token") ? Response.json({ errcode: "M_FORBIDDEN", error: "no" }, { status: 403 }) : Response.json({ url: "wss://sfu.b", jwt: "legacy" });
    await assert.rejects(requestSubscribeToken(refusing, input, "matrix_2_0"), (error: unknown) => error instanceof VisioError && error.errcode === "M_FORBIDDEN");
  });
});

describe("a member's focus, vouched for by their homeserver", () => {
  const REAL = "https://matrix.ministry-b.test/livekit/jwt";
  const wellKnownOf = (body: unknown, status = 200) => {
    const asked: string[] = [];
    const fetchFn = async (url: string): Promise<Response> => {
      asked.push(url);
      return Response.json(body, { status });
    };
    return { fetchFn, asked };
  };

  it("takes a focus the member's homeserver announces, and refuses one it does not (a membership naming a focus of the member's choosing)", async () => {
    const { fetchFn, asked } = wellKnownOf({ "org.matrix.msc4143.rtc_foci": [{ type: "livekit", livekit_service_url: `${REAL}/` }] });
    assert.equal(await focusVouchedBy(fetchFn, "ministry-b.test", REAL), true);
    assert.equal(await focusVouchedBy(fetchFn, "ministry-b.test", "https://collector.example/livekit/jwt"), false);
    assert.deepEqual(asked, ["https://ministry-b.test/.well-known/matrix/client", "https://ministry-b.test/.well-known/matrix/client"]);
  });

  it("gives no verdict against a server that announces no foci or has no readable .well-known", async () => {
    assert.equal(await focusVouchedBy(wellKnownOf({ "m.homeserver": { base_url: "https://hs" } }).fetchFn, "ministry-b.test", REAL), true);
    assert.equal(await focusVouchedBy(wellKnownOf({}, 404).fetchFn, "ministry-b.test", REAL), true);
    assert.equal(await focusVouchedBy(async () => Promise.reject(new TypeError("failed to fetch")), "ministry-b.test", REAL), true);
  });
});
