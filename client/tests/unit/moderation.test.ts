// The moderation requests of the client: where each goes (the target's ministry, or every ministry
// in the call), what they carry, refusals, a moderator's power level, and what a disconnection says.
import assert from "node:assert/strict";
import { DisconnectReason } from "livekit-client";
import type { OpenIdToken } from "../../../config/wire-types.ts";
import { WELL_KNOWN_APPSERVICE_KEY } from "../../../config/wire-types.ts";
import { VisioError } from "../../src/services/errors.ts";
import { callLostError } from "../../src/services/moderation/disconnect-reasons.ts";
import { requestModeration, serverOfUser, serversOf } from "../../src/services/moderation/moderation.ts";
import { appserviceOfServer } from "../../src/services/transcription/transcription-control.ts";
import { powerLevelOf } from "../../src/stores/moderation.ts";

const TOKEN: OpenIdToken = { access_token: "t", token_type: "Bearer", matrix_server_name: "ministry-a.test", expires_in: 60 };
const own = { serverName: "ministry-a.test", userId: "@alice:ministry-a.test", wellKnown: { [WELL_KNOWN_APPSERVICE_KEY]: { url: "http://as.a/" } } };

describe("moderation (client)", () => {
  it("sends an action on one participant to their ministry, on everyone to each ministry in the call once", async () => {
    assert.equal(serverOfUser("@bruno:ministry-b.test"), "ministry-b.test");
    assert.equal(serverOfUser("@bruno:ministry-b.test:8448"), "ministry-b.test:8448");
    assert.equal(serverOfUser("bruno"), null);
    assert.equal(serverOfUser(null), null);
    assert.deepEqual(serversOf(["@bruno:ministry-b.test", null, "@alice:ministry-a.test", "@clara:ministry-b.test"], ["ministry-a.test"]), ["ministry-a.test", "ministry-b.test"]);
    const asked: string[] = [];
    const fetchFn = async (url: string): Promise<Response> => {
      asked.push(url);
      return Response.json({ [WELL_KNOWN_APPSERVICE_KEY]: { url: "https://as.b" } });
    };
    assert.equal(await appserviceOfServer(fetchFn, "ministry-a.test", own), "http://as.a");
    assert.equal(await appserviceOfServer(fetchFn, "ministry-b.test", own), "https://as.b");
    assert.deepEqual(asked, ["https://ministry-b.test/.well-known/matrix/client"]);
  });

  it("posts the request, and says why the appservice refused", async () => {
    let sent: { url: string; body: unknown } | null = null;
    const ok = async (url: string, init?: RequestInit): Promise<Response> => {
      sent = { url, body: JSON.parse(String(init?.body)) };
      return Response.json({ affected: 1 });
    };
    assert.deepEqual(await requestModeration(ok, "http://as.b", { roomId: "!r:ministry-a.test", action: "mute", target: "@bruno:ministry-b.test", openIdToken: { ...TOKEN, extra: 1 } as OpenIdToken }), { affected: 1 });
    assert.deepEqual(sent, {
      url: "http://as.b/_visio/v1/moderation",
      body: { room_id: "!r:ministry-a.test", action: "mute", target: "@bruno:ministry-b.test", openid_token: TOKEN },
    });
    const refused = async (): Promise<Response> => Response.json({ errcode: "M_FORBIDDEN", error: "Moderation needs power level 50" }, { status: 403 });
    await assert.rejects(
      requestModeration(refused, "http://as.b", { roomId: "!r:ministry-a.test", action: "end", openIdToken: TOKEN }),
      (error: unknown) => error instanceof VisioError && error.errcode === "M_FORBIDDEN" && error.messageKey === "moderation.failed" && error.reasonKey === "reason.forbidden",
    );
  });

  it("knows a moderator by power level 50", () => {
    const content = { users: { "@alice:ministry-a.test": 50, "@bruno:ministry-b.test": 0 }, users_default: 10 };
    assert.equal(powerLevelOf(content, "@alice:ministry-a.test"), 50);
    assert.equal(powerLevelOf(content, "@bruno:ministry-b.test"), 0);
    assert.equal(powerLevelOf(content, "@clara:ministry-b.test"), 10);
    assert.equal(powerLevelOf(undefined, "@alice:ministry-a.test"), 0);
  });

  it("tells a removed participant, and everyone when the call was ended, instead of a lost connection", () => {
    assert.equal(callLostError(DisconnectReason.PARTICIPANT_REMOVED).messageKey, "call.removedByModerator");
    assert.equal(callLostError(DisconnectReason.ROOM_DELETED).messageKey, "call.endedByModerator");
    const lost = callLostError(DisconnectReason.SIGNAL_CLOSE);
    assert.equal(lost.messageKey, "call.quality.lost");
    assert.equal(lost.retryable, true);
    assert.equal(callLostError(undefined).messageKey, "call.quality.lost");
  });
});
