import assert from "node:assert/strict";
import { TokenVerifier } from "livekit-server-sdk";
import { createLiveKitTokenSigner } from "../../appservice/src/focus/livekit-jwt.ts";

const API_KEY = "APIkey";
const API_SECRET = "a-secret-of-the-length-livekit-wants-32+";

describe("LiveKit access tokens", () => {
  const signer = createLiveKitTokenSigner(API_KEY, API_SECRET);
  const claims = {
    identity: "participant-1",
    ttlSeconds: 300,
    video: { room: "room-a", roomJoin: true, canPublish: false, canSubscribe: true },
    attributes: { "org.visio.matrix_user_id": "@alice:ministry-a.test" },
  };

  it("are accepted by livekit-server-sdk's verifier with the claims asked for", async () => {
    const now = Date.now();
    const verified = await new TokenVerifier(API_KEY, API_SECRET).verify(signer.sign(claims, now));
    assert.equal(verified.sub, "participant-1");
    assert.equal(verified.iss, API_KEY);
    assert.deepEqual(verified.video, claims.video);
    assert.deepEqual(verified.attributes, claims.attributes);
    assert.equal(verified.nbf, Math.floor(now / 1000));
    assert.equal((verified.exp ?? 0) - (verified.nbf ?? 0), 300);
  });

  it("are refused when signed with another secret or altered", async () => {
    const other = createLiveKitTokenSigner(API_KEY, "another-secret-of-sufficient-length-xx").sign(claims);
    await assert.rejects(new TokenVerifier(API_KEY, API_SECRET).verify(other));
    const [header, payload, signature] = signer.sign(claims).split(".");
    const widened = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, "base64url").toString()), video: { ...claims.video, canPublish: true } }),
    ).toString("base64url");
    await assert.rejects(new TokenVerifier(API_KEY, API_SECRET).verify(`${header}.${widened}.${signature}`));
  });

  it("expire after their time to live", async () => {
    const issuedLongAgo = signer.sign(claims, Date.now() - 3_600_000);
    await assert.rejects(new TokenVerifier(API_KEY, API_SECRET).verify(issuedLongAgo, 0));
  });
});
