// The bots mark their own room membership (org.visio.bot), so that every client, of every ministry,
// leaves them out of the people it lists and counts.
import assert from "node:assert/strict";
import { createHomeserverClient } from "../../appservice/src/homeserver-client.ts";
import { BOT_MEMBER_KEY } from "../../config/wire-types.ts";

interface Seen {
  method: string;
  path: string;
  body: unknown;
}

/** A homeserver answering by method and path; a membership it holds per room. */
function fakeHomeserver(members: Map<string, Record<string, unknown>>): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const answer = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  const fetchImpl = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const method = init?.method ?? "GET";
    const path = decodeURIComponent(url.pathname);
    const body = typeof init?.body === "string" ? (JSON.parse(init.body) as unknown) : undefined;
    seen.push({ method, path, body });
    if (path === "/_matrix/client/v3/account/whoami") return answer(200, { user_id: "@visio:a.test" });
    if (path === "/_matrix/client/v3/createRoom") {
      members.set("!new:a.test", { membership: "join", displayname: "Visio" });
      return answer(200, { room_id: "!new:a.test" });
    }
    const join = /^\/_matrix\/client\/v3\/join\/(.+)$/.exec(path);
    if (join?.[1] !== undefined) {
      members.set(join[1], members.get(join[1]) ?? { membership: "join" });
      return answer(200, { room_id: join[1] });
    }
    const member = /^\/_matrix\/client\/v3\/rooms\/([^/]+)\/state\/m\.room\.member\/@visio:a\.test$/.exec(path);
    if (member?.[1] !== undefined) {
      if (method === "PUT") {
        members.set(member[1], body as Record<string, unknown>);
        return answer(200, { event_id: "$m" });
      }
      const current = members.get(member[1]);
      return current === undefined ? answer(404, { errcode: "M_NOT_FOUND" }) : answer(200, current);
    }
    return answer(404, { errcode: "M_UNRECOGNIZED" });
  };
  return { fetch: fetchImpl as typeof fetch, seen };
}

describe("the bot's membership", () => {
  it("is marked as a bot's when it creates a room, keeping its display name", async () => {
    const members = new Map<string, Record<string, unknown>>();
    const { fetch, seen } = fakeHomeserver(members);
    const homeserver = createHomeserverClient({ baseUrl: "http://hs.test", asToken: "t".repeat(32), fetch });
    const { room_id: roomId } = await homeserver.createRoom({
      room_alias_name: "visio-x",
      name: "X",
      topic: "",
      preset: "public_chat",
      visibility: "private",
      creation_content: { "m.federate": true },
      initial_state: [],
      power_level_content_override: { events: {}, events_default: 0, state_default: 50, invite: 0 },
    });
    assert.deepEqual(members.get(roomId), { membership: "join", displayname: "Visio", [BOT_MEMBER_KEY]: true });
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.path}`),
      [
        "POST /_matrix/client/v3/createRoom",
        "GET /_matrix/client/v3/account/whoami",
        "GET /_matrix/client/v3/rooms/!new:a.test/state/m.room.member/@visio:a.test",
        "PUT /_matrix/client/v3/rooms/!new:a.test/state/m.room.member/@visio:a.test",
      ],
    );
  });

  it("is marked when it joins another ministry's room, once: a membership already marked is left alone", async () => {
    const members = new Map<string, Record<string, unknown>>();
    const { fetch, seen } = fakeHomeserver(members);
    const homeserver = createHomeserverClient({ baseUrl: "http://hs.test", asToken: "t".repeat(32), fetch });
    await homeserver.joinRoom("!b:b.test", ["b.test"]);
    assert.equal(members.get("!b:b.test")?.[BOT_MEMBER_KEY], true);
    const before = seen.length;
    await homeserver.joinRoom("!b:b.test", ["b.test"]);
    // The join, then one read; no rewrite, and the user ID is not asked again.
    assert.deepEqual(
      seen.slice(before).map((s) => s.method),
      ["POST", "GET"],
    );
  });
});
