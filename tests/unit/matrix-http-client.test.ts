// The server sides' Matrix client against a homeserver stand-in on loopback, which answers each
// request with the next of its scripted answers. Waits between tries are recorded, not slept.
import { strict as assert } from "node:assert";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { MatrixHttpClient, type MatrixHttpClientOptions } from "../../config/matrix/matrix-http-client.ts";
import { MatrixHttpError } from "../../config/matrix/matrix-http-error.ts";
import { markMembershipAsBot } from "../../config/matrix/bot-membership.ts";

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Never answer (the client's timeout has to end the try). */
  hang?: boolean;
}

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

interface Homeserver {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

async function homeserver(answers: Answer[]): Promise<Homeserver> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization, contentType: req.headers["content-type"], body: Buffer.concat(chunks).toString() });
      const answer = answers.shift() ?? { status: 599, body: { errcode: "M_UNKNOWN", error: "no more scripted answers" } };
      if (answer.hang === true) return;
      res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const TOKEN = "syt_secret_token_value";

function client(url: string, slept: number[], options: Partial<MatrixHttpClientOptions> = {}): MatrixHttpClient {
  return new MatrixHttpClient({ homeserverUrl: url, accessToken: TOKEN, sleep: async (ms) => void slept.push(ms), ...options, retry: { backoffMs: 100, ...options.retry } });
}

const send = (txnId: string) => ({ method: "PUT" as const, path: ["_matrix", "client", "v3", "rooms", "!r:a.test", "send", "m.room.message", txnId], json: { body: "hi" } });

describe("the server sides' Matrix HTTP client", () => {
  let hs: Homeserver | undefined;
  afterEach(async () => {
    await hs?.close();
    hs = undefined;
  });

  it("authenticates every request with its token, acting as its user unless told not to", async () => {
    hs = await homeserver([{ status: 200, body: { event_id: "$e" } }, { status: 200, body: {} }, { status: 200, body: { user_id: "@bot:a.test" } }]);
    const asUser = client(hs.url, [], { userId: "@visio-transcriber:a.test" });
    assert.deepEqual(await asUser.request(send("t1")), { event_id: "$e" });
    await asUser.request({ method: "POST", path: ["_matrix", "client", "v3", "join", "!r:b.test"], query: { server_name: ["b.test", "c.test"] }, json: {}, masquerade: false });
    assert.equal(await client(hs.url, []).ownUserId(), "@bot:a.test");
    assert.deepEqual(
      hs.seen.map((s) => [s.method, s.url, s.authorization]),
      [
        ["PUT", "/_matrix/client/v3/rooms/!r%3Aa.test/send/m.room.message/t1?user_id=%40visio-transcriber%3Aa.test", `Bearer ${TOKEN}`],
        ["POST", "/_matrix/client/v3/join/!r%3Ab.test?server_name=b.test&server_name=c.test", `Bearer ${TOKEN}`],
        ["GET", "/_matrix/client/v3/account/whoami", `Bearer ${TOKEN}`],
      ],
    );
    assert.equal(hs.seen[0]?.contentType, "application/json");
    assert.equal(hs.seen[0]?.body, JSON.stringify({ body: "hi" }));
  });

  it("waits what a 429 asks for (retry_after_ms, else Retry-After), then sends the same request again", async () => {
    hs = await homeserver([
      { status: 429, body: { errcode: "M_LIMIT_EXCEEDED", error: "Too Many Requests", retry_after_ms: 1234 } },
      { status: 429, body: { errcode: "M_LIMIT_EXCEEDED", error: "Too Many Requests" }, headers: { "retry-after": "2" } },
      { status: 200, body: { event_id: "$e" } },
    ]);
    const slept: number[] = [];
    assert.deepEqual(await client(hs.url, slept).request(send("txn-1")), { event_id: "$e" });
    assert.deepEqual(slept, [1234, 2000]);
    assert.equal(new Set(hs.seen.map((s) => `${s.method} ${s.url} ${s.body}`)).size, 1, "the same transaction ID each try");
  });

  it("caps the wait a 429 asks for", async () => {
    hs = await homeserver([{ status: 429, body: { errcode: "M_LIMIT_EXCEEDED", error: "Too Many Requests", retry_after_ms: 3_600_000 } }, { status: 200, body: {} }]);
    const slept: number[] = [];
    await client(hs.url, slept, { retry: { maxDelayMs: 5000 } }).request(send("t"));
    assert.deepEqual(slept, [5000]);
  });

  it("retries server failures after a doubling backoff, then gives up with an error naming the request, the answer and the tries", async () => {
    hs = await homeserver([{ status: 500 }, { status: 502 }, { status: 503 }, { status: 504, body: { errcode: "M_UNKNOWN", error: "Gateway Timeout" } }]);
    const slept: number[] = [];
    const failure = await client(hs.url, slept, { userId: "@bot:a.test" })
      .request(send("t"))
      .then(() => assert.fail("a homeserver failing four times must fail the request"), (err: unknown) => err);
    assert.ok(failure instanceof MatrixHttpError);
    assert.equal(failure.status, 504);
    assert.equal(failure.errcode, "M_UNKNOWN");
    assert.equal(failure.message, "PUT /_matrix/client/v3/rooms/…: 504 M_UNKNOWN: Gateway Timeout (4 tries)");
    assert.doesNotMatch(failure.message, /secret|user_id|@bot|!r/);
    assert.deepEqual(slept, [100, 200, 400]);
    assert.equal(hs.seen.length, 4);
  });

  it("never retries a refusal: a 403 fails at once, with the homeserver's errcode and reason", async () => {
    hs = await homeserver([{ status: 403, body: { errcode: "M_FORBIDDEN", error: "User @x:a.test is already in the room" } }]);
    const slept: number[] = [];
    await assert.rejects(client(hs.url, slept).request(send("t")), (err: unknown) => {
      assert.ok(err instanceof MatrixHttpError);
      assert.equal(err.status, 403);
      assert.equal(err.errcode, "M_FORBIDDEN");
      assert.equal(err.retryable, false);
      assert.equal(err.message, "PUT /_matrix/client/v3/rooms/…: 403 M_FORBIDDEN: User @x:a.test is already in the room");
      return true;
    });
    assert.equal(hs.seen.length, 1);
    assert.deepEqual(slept, []);
  });

  it("tries a request once when it says so", async () => {
    hs = await homeserver([{ status: 502 }]);
    await assert.rejects(client(hs.url, []).request({ method: "POST", path: ["_matrix", "client", "v3", "join", "!r:b.test"], json: {}, attempts: 1 }), {
      message: "POST /_matrix/client/v3/join/…: 502 error: Bad Gateway",
    });
    assert.equal(hs.seen.length, 1);
  });

  it("retries when no answer comes: a closed port, a try past its timeout", async () => {
    hs = await homeserver([]);
    const closedUrl = hs.url;
    await hs.close();
    hs = undefined;
    const slept: number[] = [];
    await assert.rejects(client(closedUrl, slept, { retry: { attempts: 2 } }).request(send("t")), (err: unknown) => {
      assert.ok(err instanceof MatrixHttpError);
      assert.equal(err.status, 0);
      assert.match(err.message, /^PUT \/_matrix\/client\/v3\/rooms\/…: no answer: fetch failed \(ECONNREFUSED\) \(2 tries\)$/);
      return true;
    });
    assert.deepEqual(slept, [100]);

    hs = await homeserver([{ status: 200, hang: true }, { status: 200, body: { event_id: "$late" } }]);
    assert.deepEqual(await client(hs.url, [], { requestTimeoutMs: 200 }).request(send("t")), { event_id: "$late" });
    assert.equal(hs.seen.length, 2);
  });

  it("streams the body of a download, and asks whoami once for the user it marks as a bot", async () => {
    hs = await homeserver([
      { status: 502 },
      { status: 200, body: [1, 2, 3] },
      { status: 200, body: { user_id: "@visio:a.test" } },
      { status: 200, body: { membership: "join", displayname: "Visio" } },
      { status: 200, body: { event_id: "$m" } },
      { status: 200, body: { membership: "join", "org.visio.bot": true } },
    ]);
    const bot = client(hs.url, []);
    const stream = await bot.requestStream({ method: "GET", path: ["_matrix", "client", "v1", "media", "download", "a.test", "abc"], timeoutMs: 1000 });
    assert.equal(await new Response(stream).text(), "[1,2,3]");
    await markMembershipAsBot(bot, "!r:a.test");
    await markMembershipAsBot(bot, "!r:a.test");
    assert.deepEqual(
      hs.seen.slice(2).map((s) => `${s.method} ${decodeURIComponent(s.url)}`),
      [
        "GET /_matrix/client/v3/account/whoami",
        "GET /_matrix/client/v3/rooms/!r:a.test/state/m.room.member/@visio:a.test",
        "PUT /_matrix/client/v3/rooms/!r:a.test/state/m.room.member/@visio:a.test",
        "GET /_matrix/client/v3/rooms/!r:a.test/state/m.room.member/@visio:a.test",
      ],
    );
    assert.deepEqual(JSON.parse(hs.seen[4]?.body ?? ""), { membership: "join", displayname: "Visio", "org.visio.bot": true });
  });

  it("refuses a homeserver URL or a token it could not use", () => {
    assert.throws(() => new MatrixHttpClient({ homeserverUrl: "hs.test:8008", accessToken: TOKEN }), /must be an http:\/\/ or https:\/\/ URL/);
    assert.throws(() => new MatrixHttpClient({ homeserverUrl: "http://hs.test", accessToken: "" }), /access token is empty/);
  });
});
