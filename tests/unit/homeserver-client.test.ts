// The appservice's homeserver calls on the server sides' Matrix client: what each call makes of the
// homeserver's answers (absent is null or false, an invitee already there is no error, a join is
// tried once), with the as_token on every request.
import { strict as assert } from "node:assert";
import { createHomeserverClient, type HomeserverClient } from "../../appservice/src/homeserver-client.ts";
import type { FetchLike } from "../../config/matrix/matrix-http-client.ts";
import { MatrixHttpError } from "../../config/matrix/matrix-http-error.ts";

const AS_TOKEN = "a".repeat(32);

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
}

function scripted(answers: [number, unknown][]): { homeserver: HomeserverClient; seen: Seen[]; slept: number[] } {
  const seen: Seen[] = [];
  const slept: number[] = [];
  const fetch: FetchLike = async (url, init) => {
    seen.push({ method: init.method, url, authorization: init.headers.authorization });
    const [status, body] = answers.shift() ?? [599, { errcode: "M_UNKNOWN", error: "no more scripted answers" }];
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  };
  const homeserver = createHomeserverClient({ baseUrl: "http://hs.test:8008", asToken: AS_TOKEN, fetch, sleep: async (ms) => void slept.push(ms) });
  return { homeserver, seen, slept };
}

const notFound: [number, unknown] = [404, { errcode: "M_NOT_FOUND", error: "Event not found" }];

describe("the appservice's homeserver client", () => {
  it("reads absent state, events and delayed events as null or false, other errors as errors", async () => {
    const { homeserver, seen } = scripted([notFound, notFound, notFound, [403, { errcode: "M_FORBIDDEN", error: "not in room" }], [200, {}]]);
    assert.equal(await homeserver.getState("!r:a.test", "org.visio.transcription", ""), null);
    assert.equal(await homeserver.getEvent("!r:a.test", "$gone"), null);
    assert.equal(await homeserver.sendDelayedEvent("d1"), false);
    await assert.rejects(homeserver.getState("!r:a.test", "m.room.name", ""), (err: unknown) => err instanceof MatrixHttpError && err.errcode === "M_FORBIDDEN");
    assert.equal(await homeserver.sendDelayedEvent("d2"), true);
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.url}`),
      [
        "GET http://hs.test:8008/_matrix/client/v3/rooms/!r%3Aa.test/state/org.visio.transcription/",
        "GET http://hs.test:8008/_matrix/client/v3/rooms/!r%3Aa.test/event/%24gone",
        "POST http://hs.test:8008/_matrix/client/unstable/org.matrix.msc4140/delayed_events/d1",
        "GET http://hs.test:8008/_matrix/client/v3/rooms/!r%3Aa.test/state/m.room.name/",
        "POST http://hs.test:8008/_matrix/client/unstable/org.matrix.msc4140/delayed_events/d2",
      ],
    );
    assert.ok(seen.every((s) => s.authorization === `Bearer ${AS_TOKEN}`));
  });

  it("takes an invitee already in the room as invited, and fails on other refusals", async () => {
    const { homeserver } = scripted([
      [403, { errcode: "M_FORBIDDEN", error: "@bob:b.test is already in the room." }],
      [403, { errcode: "M_FORBIDDEN", error: "You don't have permission to invite users" }],
    ]);
    await homeserver.invite("!r:a.test", "@bob:b.test");
    await assert.rejects(homeserver.invite("!r:a.test", "@carol:b.test"), /403 M_FORBIDDEN: You don't have permission/);
  });

  it("joins through the servers named, once: a failed join is not tried again", async () => {
    const { homeserver, seen } = scripted([[502, {}]]);
    await assert.rejects(homeserver.joinRoom("!r:b.test", ["b.test", "c.test"]), (err: unknown) => err instanceof MatrixHttpError && err.status === 502);
    assert.deepEqual(
      seen.map((s) => s.url),
      ["http://hs.test:8008/_matrix/client/v3/join/!r%3Ab.test?server_name=b.test&server_name=c.test"],
    );
  });

  it("sends a notice again under the same transaction ID after the wait a rate limit asks for", async () => {
    const { homeserver, seen, slept } = scripted([
      [429, { errcode: "M_LIMIT_EXCEEDED", error: "Too Many Requests", retry_after_ms: 700 }],
      [200, { event_id: "$n" }],
    ]);
    const notice = { msgtype: "m.notice" as const, body: "Appel démarré", "org.visio.call": { call_id: "c", state: "started" as const, started_at: 1 } };
    assert.deepEqual(await homeserver.sendNotice("!r:a.test", "visio-call-c-started", notice), { event_id: "$n" });
    assert.deepEqual(slept, [700]);
    assert.equal(seen[0]?.url, seen[1]?.url);
    assert.match(seen[0]?.url ?? "", /\/send\/m\.room\.message\/visio-call-c-started$/);
  });
});
