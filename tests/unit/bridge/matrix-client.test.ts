import { strict as assert } from "node:assert";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MatrixClient } from "../../../bridge/src/matrix/matrix-client.ts";
import type { FetchLike } from "../../../config/matrix/matrix-http-client.ts";
import { MatrixHttpError } from "../../../config/matrix/matrix-http-error.ts";

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
}

function scripted(answers: (Response | Error)[]): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    fetch: async (url, init) => {
      calls.push({ url, method: init.method, headers: init.headers, body: init.body });
      const answer = answers.shift();
      if (answer === undefined) throw new Error("no more answers");
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

function sender(fetch: FetchLike, slept: number[], userId?: string): MatrixClient {
  return new MatrixClient({
    homeserverUrl: "http://hs.test:8008/",
    accessToken: "tok",
    userId,
    fetch,
    sleep: async (ms) => void slept.push(ms),
    retry: { attempts: 3, backoffMs: 100 },
  });
}

describe("MatrixClient", () => {
  it("PUTs the event to /rooms/{roomId}/send/{type}/{txnId} with the access token", async () => {
    const { fetch, calls } = scripted([json(200, { event_id: "$abc" })]);
    const eventId = await sender(fetch, []).sendEvent("!r:a.test", "m.room.message", { body: "hi" }, "visio-transcript.s1.root");
    assert.equal(eventId, "$abc");
    assert.deepEqual(calls, [
      {
        url: "http://hs.test:8008/_matrix/client/v3/rooms/!r%3Aa.test/send/m.room.message/visio-transcript.s1.root",
        method: "PUT",
        headers: { authorization: "Bearer tok", "content-type": "application/json" },
        body: JSON.stringify({ body: "hi" }),
      },
    ]);
  });

  it("acts as the appservice user with ?user_id=, except when registering that user; marks its membership as a bot's", async () => {
    const { fetch, calls } = scripted([
      json(400, { errcode: "M_USER_IN_USE", error: "taken" }),
      json(200, {}),
      json(200, { membership: "join", displayname: "Transcription" }),
      json(200, { event_id: "$member" }),
      json(200, { content_uri: "mxc://a.test/abc" }),
    ]);
    const client = sender(fetch, [], "@visio-transcriber:a.test");
    await client.ensureRegistered("visio-transcriber");
    await client.joinRoom("!r:a.test");
    const bytes = new TextEncoder().encode("WEBVTT\n");
    assert.equal(await client.upload(bytes, "text/vtt", "t.vtt"), "mxc://a.test/abc");
    assert.deepEqual(
      calls.map((c) => [c.method, c.url]),
      [
        ["POST", "http://hs.test:8008/_matrix/client/v3/register"],
        ["POST", "http://hs.test:8008/_matrix/client/v3/rooms/!r%3Aa.test/join?user_id=%40visio-transcriber%3Aa.test"],
        ["GET", "http://hs.test:8008/_matrix/client/v3/rooms/!r%3Aa.test/state/m.room.member/%40visio-transcriber%3Aa.test?user_id=%40visio-transcriber%3Aa.test"],
        ["PUT", "http://hs.test:8008/_matrix/client/v3/rooms/!r%3Aa.test/state/m.room.member/%40visio-transcriber%3Aa.test?user_id=%40visio-transcriber%3Aa.test"],
        ["POST", "http://hs.test:8008/_matrix/media/v3/upload?filename=t.vtt&user_id=%40visio-transcriber%3Aa.test"],
      ],
    );
    assert.deepEqual(JSON.parse(String(calls[0]?.body)), { type: "m.login.application_service", username: "visio-transcriber", inhibit_login: true });
    // The membership keeps its display name and gains the bot flag.
    assert.deepEqual(JSON.parse(String(calls[3]?.body)), { membership: "join", displayname: "Transcription", "org.visio.bot": true });
    assert.equal(calls[4]?.headers["content-type"], "text/vtt");
    assert.equal(calls[4]?.body, bytes);
  });

  it("fails registration on other errors, naming the errcode but never the token", async () => {
    const { fetch } = scripted([json(401, { errcode: "M_UNKNOWN_TOKEN", error: "bad as_token" })]);
    await assert.rejects(sender(fetch, [], "@visio-transcriber:a.test").ensureRegistered("visio-transcriber"), (err: unknown) => {
      assert.ok(err instanceof MatrixHttpError);
      assert.equal(err.errcode, "M_UNKNOWN_TOKEN");
      assert.doesNotMatch(err.message, /tok\b|user_id/);
      return true;
    });
  });

  it("downloads media as the appservice user into a file, retrying a 502, and refuses what passes the size limit", async () => {
    const dir = await mkdtemp(join(tmpdir(), "visio-download-"));
    try {
      const slept: number[] = [];
      const { fetch, calls } = scripted([json(502, {}), new Response(new Uint8Array([1, 2, 3, 4]), { status: 200 })]);
      const path = join(dir, "a");
      assert.equal(await sender(fetch, slept, "@bridge:hs.test").downloadToFile("mxc://other.test/abc", path, 10), 4);
      assert.deepEqual([...(await readFile(path))], [1, 2, 3, 4]);
      assert.equal(calls[1]?.url, "http://hs.test:8008/_matrix/client/v1/media/download/other.test/abc?user_id=%40bridge%3Ahs.test");
      assert.equal(calls[1]?.headers.authorization, "Bearer tok");
      assert.deepEqual(slept, [100]);

      const big = scripted([new Response(new Uint8Array(11), { status: 200 })]);
      await assert.rejects(sender(big.fetch, []).downloadToFile("mxc://other.test/big", join(dir, "b"), 10), (err: unknown) => err instanceof MatrixHttpError && err.status === 413);
      const missing = scripted([json(404, { errcode: "M_NOT_FOUND", error: "Not found" })]);
      await assert.rejects(sender(missing.fetch, []).downloadToFile("mxc://other.test/gone", join(dir, "c"), 10), (err: unknown) => err instanceof MatrixHttpError && err.status === 404);
      await assert.rejects(sender(missing.fetch, []).downloadToFile("https://other.test/x", join(dir, "d"), 10), MatrixHttpError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
