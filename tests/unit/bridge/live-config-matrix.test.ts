import { strict as assert } from "node:assert";
import { parseLiveBridgeConfig } from "../../../bridge/src/live/live-config.ts";

const livekit = { url: "ws://10.77.0.1:7880", api_key: "k", api_secret: "x".repeat(32) };

describe("live bridge config: matrix section", () => {
  it("is optional, and read when present", () => {
    assert.equal(parseLiveBridgeConfig({ livekit }).matrix, undefined);
    const matrix = { homeserver_url: "http://10.77.1.2:8008", access_token: "syt_x", room_id: "!abc" };
    assert.deepEqual(parseLiveBridgeConfig({ livekit, matrix }).matrix, matrix);
  });

  it("rejects a bad URL, an empty token, a room alias instead of an ID and unknown keys", () => {
    assert.throws(
      () => parseLiveBridgeConfig({ livekit, matrix: { homeserver_url: "ws://x", access_token: "", room_id: "#a:b", extra: 1 } }),
      (err: Error) =>
        /matrix\.homeserver_url/.test(err.message) && /matrix\.access_token/.test(err.message) && /matrix\.room_id/.test(err.message) && /extra/.test(err.message),
    );
  });
});
