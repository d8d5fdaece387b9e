// A homeserver behind a fetch function, for unit tests of sign-in and session handling: just the
// endpoints matrix-js-sdk calls to log in, start syncing and log out. Integration and browser tests
// use the real Synapse instead.
import type { FetchLike } from "../homeserver-discovery.ts";

export interface FakeHomeserver {
  fetch: FetchLike;
  /** Access tokens the server still accepts. */
  validTokens: Set<string>;
  /** Paths requested, in order (no query strings, no secrets). */
  requests: string[];
}

export function fakeHomeserver(options: { serverName: string; baseUrl: string; users: Record<string, string> }): FakeHomeserver {
  const validTokens = new Set<string>();
  const requests: string[] = [];
  let issued = 0;
  const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  const tokenOf = (init?: RequestInit): string | undefined => {
    const header = new Headers(init?.headers).get("authorization");
    return header?.startsWith("Bearer ") ? header.slice(7) : undefined;
  };

  const fetchFn: FetchLike = async (input, init) => {
    const url = new URL(input);
    const path = url.pathname;
    requests.push(path);
    if (url.origin !== new URL(options.baseUrl).origin && path !== "/.well-known/matrix/client") throw new TypeError("Failed to fetch");
    if (path === "/.well-known/matrix/client") return json(200, { "m.homeserver": { base_url: options.baseUrl } });
    if (path === "/_matrix/client/versions") return json(200, { versions: ["v1.11"], unstable_features: {} });
    if (path === "/_matrix/client/v3/login" && init?.method === "POST") {
      const body = JSON.parse(String(init.body)) as { identifier?: { user?: string }; password?: string };
      const user = body.identifier?.user ?? "";
      const localpart = user.startsWith("@") ? user.slice(1).split(":")[0] ?? "" : user;
      if (options.users[localpart] === undefined || options.users[localpart] !== body.password) {
        return json(403, { errcode: "M_FORBIDDEN", error: "Invalid username or password" });
      }
      issued += 1;
      const token = `token-${issued}`;
      validTokens.add(token);
      return json(200, { user_id: `@${localpart}:${options.serverName}`, access_token: token, device_id: `DEVICE${issued}` });
    }
    const token = tokenOf(init);
    if (token === undefined || !validTokens.has(token)) return json(401, { errcode: "M_UNKNOWN_TOKEN", error: "Invalid access token", soft_logout: false });
    if (path === "/_matrix/client/v3/logout") {
      validTokens.delete(token);
      return json(200, {});
    }
    if (path === "/_matrix/client/v3/sync") {
      // The first sync answers at once; later ones long-poll until the client stops.
      if (url.searchParams.has("since")) {
        await new Promise<void>((resolve) => init?.signal?.addEventListener("abort", () => resolve(), { once: true }));
        throw new DOMException("aborted", "AbortError");
      }
      return json(200, { next_batch: "s1", rooms: {}, account_data: { events: [] }, presence: { events: [] } });
    }
    if (path.endsWith("/filter")) return json(200, { filter_id: "1" });
    if (path === "/_matrix/client/v3/pushrules/") return json(200, { global: {} });
    if (path === "/_matrix/client/v3/capabilities") return json(200, { capabilities: {} });
    return json(404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
  };
  return { fetch: fetchFn, validTokens, requests };
}
