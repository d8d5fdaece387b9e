// Least privilege of the transcription worker, against the real Synapse A and appservice A: the
// worker's Matrix token (its own registration) acts as the bridge's user and nobody else, and its
// LiveKit key cannot sign a webhook the appservice accepts. Each check has its control beside it
// (the same request with the right credentials succeeds), so none of them can pass by accident.
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { AccessToken } from "livekit-server-sdk";
import { LIVEKIT_WEBHOOK_PATH } from "../../appservice/src/calls/livekit-webhook.ts";
import { HOSTS } from "../harness/network.ts";
import type { RegisteredUser, SynapseServer, Testbed } from "../harness/testbed.ts";
import { getTestbed, uniqueLocalpart } from "../harness/testbed.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import { createMeeting } from "../harness/matrix-users.ts";

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(server: SynapseServer, token: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${server.clientUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("least privilege of the transcription worker (real Synapse A, LiveKit A, appservice A)", function () {
  this.timeout(120_000);
  let testbed: Testbed;
  let appservice: AppserviceProcess;
  let alice: RegisteredUser;
  let roomId: string;
  let bot: string;

  before(async function () {
    this.timeout(600_000);
    testbed = await getTestbed();
    appservice = await startAppservice("a");
    bot = `@${appservice.config.appservice.sender_localpart}:${HOSTS.a.serverName}`;
    alice = await testbed.ministries.a.registerUser(uniqueLocalpart("alice"));
    ({ roomId } = await createMeeting(appservice, testbed.ministries.a, alice, "Moindre privilège"));
    // What the worker does at start: register its own user (an existing one is fine).
    const registered = await call(testbed.ministries.a, appservice.transcriber.asToken, "POST", "/_matrix/client/v3/register", {
      type: "m.login.application_service",
      username: appservice.transcriber.userId.slice(1, appservice.transcriber.userId.indexOf(":")),
      inhibit_login: true,
    });
    assert.ok(registered.status === 200 || registered.body.errcode === "M_USER_IN_USE", JSON.stringify(registered));
  });

  const send = (token: string, asUser: string | null): Promise<Answer> => {
    const query = asUser === null ? "" : `?user_id=${encodeURIComponent(asUser)}`;
    return call(testbed.ministries.a, token, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${randomUUID()}${query}`, {
      msgtype: "m.notice",
      body: "least-privilege probe",
    });
  };

  it("the worker's token is the bridge's user: it joins and posts as that user", async () => {
    const { asToken, userId } = appservice.transcriber;
    assert.deepEqual((await call(testbed.ministries.a, asToken, "GET", "/_matrix/client/v3/account/whoami")).body.user_id, userId);
    assert.equal((await call(testbed.ministries.a, asToken, "POST", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/join`, {})).status, 200);
    const sent = await send(asToken, userId);
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    const event = await call(testbed.ministries.a, alice.accessToken, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(String(sent.body.event_id))}`);
    assert.equal(event.body.sender, userId);
  });

  it("the worker's token cannot act as the meeting bot, nor as a member, nor create users of the bot's namespace", async () => {
    const { asToken } = appservice.transcriber;
    // Control: the appservice's own token posts as the bot.
    assert.equal((await send(appservice.config.appservice.as_token, bot)).status, 200);
    for (const user of [bot, alice.userId]) {
      const refused = await send(asToken, user);
      assert.equal(refused.status, 403, `posting as ${user} with the worker's token: ${JSON.stringify(refused.body)}`);
    }
    const botNamespaceUser = await call(testbed.ministries.a, asToken, "POST", "/_matrix/client/v3/register", {
      type: "m.login.application_service",
      username: `${appservice.config.appservice.sender_localpart}-${uniqueLocalpart("x")}`,
      inhibit_login: true,
    });
    assert.notEqual(botNamespaceUser.status, 200, JSON.stringify(botNamespaceUser.body));
    assert.equal(botNamespaceUser.body.errcode, "M_EXCLUSIVE");
  });

  it("the appservice's token no longer acts as the bridge's user either: the two namespaces are disjoint", async () => {
    const refused = await send(appservice.config.appservice.as_token, appservice.transcriber.userId);
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
  });

  it("a webhook signed with the worker's LiveKit key is refused; the same one signed with the appservice's key is taken", async () => {
    const livekit = testbed.livekit.a;
    if (livekit === undefined) throw new Error("LiveKit A missing");
    const body = JSON.stringify({
      event: "participant_left",
      id: `EV_${uniqueLocalpart("probe")}`,
      createdAt: String(Math.floor(Date.now() / 1000)),
      room: { sid: "RM_probe", name: `probe-${uniqueLocalpart("room")}` },
      participant: { sid: "PA_probe", identity: "probe" },
    });
    const signed = async (key: { apiKey: string; apiSecret: string }): Promise<number> => {
      const token = new AccessToken(key.apiKey, key.apiSecret, { ttl: "5m" });
      token.sha256 = createHash("sha256").update(body).digest("base64");
      const res = await fetch(`${appservice.url}${LIVEKIT_WEBHOOK_PATH}`, {
        method: "POST",
        headers: { authorization: await token.toJwt(), "content-type": "application/webhook+json" },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      return res.status;
    };
    assert.notEqual(livekit.workerKey.apiKey, livekit.apiKey);
    assert.equal(await signed(livekit.workerKey), 401);
    assert.equal(await signed({ apiKey: livekit.apiKey, apiSecret: livekit.apiSecret }), 200);
  });
});
