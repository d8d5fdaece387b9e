import assert from "node:assert/strict";
import type { OpenIdToken } from "../../../config/wire-types.ts";
import { MEETINGS_API_PATH } from "../../../config/wire-types.ts";
import { VisioError } from "../../src/services/errors.ts";
import { createMeeting } from "../../src/services/meetings/meeting-creation.ts";

const TOKEN: OpenIdToken = { access_token: "t", token_type: "Bearer", matrix_server_name: "ministry-a.test", expires_in: 60 };
const isError = (key: string) => (error: unknown) => error instanceof VisioError && error.messageKey === key;

describe("meeting creation (Nouvelle réunion)", () => {
  it("posts the tidied title with the OpenID token to the own appservice and returns the meeting", async () => {
    const asked: { url: string; body: unknown }[] = [];
    const fetchFn = async (url: string, init?: RequestInit): Promise<Response> => {
      asked.push({ url, body: JSON.parse(String(init?.body)) });
      return Response.json({ room_id: "!m:ministry-a.test", room_alias: "#visio-comite-ab12:ministry-a.test", name: "Comité" });
    };
    const meeting = await createMeeting(fetchFn, "https://as.a", "  Comité \n ", TOKEN);
    assert.equal(meeting.room_id, "!m:ministry-a.test");
    assert.deepEqual(asked, [{ url: `https://as.a${MEETINGS_API_PATH}`, body: { title: "Comité", openid_token: TOKEN } }]);
  });

  it("says what is wrong before any request: no title, or one too long", async () => {
    const fetchFn = async (): Promise<Response> => assert.fail("no request expected");
    await assert.rejects(createMeeting(fetchFn, "https://as.a", "   ", TOKEN), isError("meetings.titleMissing"));
    await assert.rejects(createMeeting(fetchFn, "https://as.a", "x".repeat(101), TOKEN), isError("meetings.titleTooLong"));
  });

  it("surfaces the appservice's refusal and an unreachable appservice, each retryable or not", async () => {
    const refused = async (): Promise<Response> => Response.json({ errcode: "M_FORBIDDEN", error: "Meetings here are created by users of ministry-a.test" }, { status: 403 });
    await assert.rejects(createMeeting(refused, "https://as.a", "x", TOKEN), (error: unknown) => {
      assert.ok(error instanceof VisioError);
      assert.equal(error.messageKey, "meetings.createFailed");
      assert.equal(error.errcode, "M_FORBIDDEN");
      assert.equal(error.retryable, false);
      return true;
    });
    const down = async (): Promise<Response> => {
      throw new TypeError("fetch failed");
    };
    await assert.rejects(createMeeting(down, "https://as.a", "x", TOKEN), (error: unknown) => error instanceof VisioError && error.retryable && error.messageKey === "meetings.createFailed");
  });
});
