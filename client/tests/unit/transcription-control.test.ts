import assert from "node:assert/strict";
import type { OpenIdToken } from "../../../config/wire-types.ts";
import { WELL_KNOWN_APPSERVICE_KEY } from "../../../config/wire-types.ts";
import { VisioError } from "../../src/services/errors.ts";
import { controlTranscription, findAppserviceUrl, serverOfAlias } from "../../src/services/transcription/transcription-control.ts";

const TOKEN: OpenIdToken = { access_token: "t", token_type: "Bearer", matrix_server_name: "ministry-b.test", expires_in: 60 };
const own = { serverName: "ministry-b.test:8448", userId: "@bob:ministry-b.test", wellKnown: { [WELL_KNOWN_APPSERVICE_KEY]: { url: "http://as.b/" } } };

describe("transcription control", () => {
  it("finds the hosting ministry's appservice: ours from sign-in, another's from its .well-known", async () => {
    const asked: string[] = [];
    const fetchFn = async (url: string): Promise<Response> => {
      asked.push(url);
      return Response.json({ [WELL_KNOWN_APPSERVICE_KEY]: { url: "https://as.a" } });
    };
    assert.equal(await findAppserviceUrl(fetchFn, "ministry-b.test", own), "http://as.b");
    assert.deepEqual(asked, []);
    assert.equal(await findAppserviceUrl(fetchFn, "ministry-a.test", own), "https://as.a");
    assert.deepEqual(asked, ["https://ministry-a.test/.well-known/matrix/client"]);
    assert.equal(serverOfAlias("#visio-x:ministry-a.test"), "ministry-a.test");
  });

  it("says clearly when the hosting server announces no appservice", async () => {
    const fetchFn = async (): Promise<Response> => Response.json({});
    await assert.rejects(findAppserviceUrl(fetchFn, "ministry-c.test", own), (error: unknown) => error instanceof VisioError && error.messageKey === "transcription.noService");
  });

  it("posts the control request and surfaces the appservice's refusal", async () => {
    let body: unknown;
    const ok = async (_url: string, init?: RequestInit): Promise<Response> => {
      body = JSON.parse(String(init?.body));
      return Response.json({ state: { active: true, requested_by: "@bob:ministry-b.test", language: "en", engine: "pocketsphinx" } });
    };
    const answer = await controlTranscription(ok, "http://as.a", { roomId: "!r:ministry-a.test", action: "start", openIdToken: TOKEN });
    assert.equal(answer.state.active, true);
    assert.deepEqual(body, { room_id: "!r:ministry-a.test", action: "start", openid_token: TOKEN });

    const refused = async (): Promise<Response> => Response.json({ errcode: "M_FORBIDDEN", error: "Only moderators may start transcription" }, { status: 403 });
    await assert.rejects(controlTranscription(refused, "http://as.a", { roomId: "!r:a", action: "stop", openIdToken: TOKEN }), (error: unknown) => {
      assert.ok(error instanceof VisioError);
      assert.equal(error.errcode, "M_FORBIDDEN");
      assert.equal(error.reasonKey, "reason.forbidden", "said in plain words of ours");
      assert.match(error.message, /Only moderators may start transcription/, "the server's sentence kept for the console");
      return true;
    });
  });
});
