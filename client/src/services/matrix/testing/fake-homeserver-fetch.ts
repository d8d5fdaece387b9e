// A homeserver behind a fetch function, for unit tests of sign-in, session handling and the call
// store: the endpoints matrix-js-sdk calls to log in (password, or the token of a single sign-on), sync rooms given at the start, send events
// and state (delayed too), hand out OpenID tokens and log out; and a focus that answers any token.
// Integration and browser tests use the real Synapse instead.
import type { FetchLike } from "../homeserver-discovery.ts";

export interface FakeHomeserver {
  fetch: FetchLike;
  /** Access tokens the server still accepts. */
  validTokens: Set<string>;
  /** Paths requested, in order (no query strings, no secrets). */
  requests: string[];
  /** Events and state sent (PUT …/send/… and …/state/…), with their query parameters. */
  sent: { path: string; query: Record<string, string>; content: Record<string, unknown> }[];
  /** Bodies POSTed to the focus, by endpoint (`get_token`, `sfu/get`). */
  focusRequests: { endpoint: string; body: Record<string, unknown> }[];
}

export interface FakeHomeserverOptions {
  serverName: string;
  baseUrl: string;
  users: Record<string, string>;
  /** Rooms the users are joined to at the first sync, by ID, with their state events. */
  rooms?: Record<string, Record<string, unknown>[]>;
  /** A focus this server announces in its .well-known, answered by `focusToken` under that URL. */
  focusUrl?: string;
  /** Single sign-on providers listed by GET /login (m.login.sso); none: password only. */
  identityProviders?: { id: string; name: string }[];
  /** One-time login tokens (as single sign-on hands out) and whose they are: token → localpart. */
  loginTokens?: Map<string, string>;
}

export function fakeHomeserver(options: FakeHomeserverOptions): FakeHomeserver {
  const validTokens = new Set<string>();
  const requests: string[] = [];
  const sent: FakeHomeserver["sent"] = [];
  const focusRequests: FakeHomeserver["focusRequests"] = [];
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
    if (path === "/.well-known/matrix/client") {
      const foci = options.focusUrl === undefined ? {} : { "org.matrix.msc4143.rtc_foci": [{ type: "livekit", livekit_service_url: options.focusUrl }] };
      return json(200, { "m.homeserver": { base_url: options.baseUrl }, ...foci });
    }
    // The focus answers any OpenID token: it is the call store's handling of the answer that is tested.
    if (options.focusUrl !== undefined && url.href.startsWith(`${options.focusUrl}/`) && init?.method === "POST") {
      focusRequests.push({ endpoint: url.href.slice(options.focusUrl.length + 1), body: JSON.parse(String(init.body)) as Record<string, unknown> });
      return json(200, { url: "wss://livekit.ministry.test", jwt: "livekit-jwt" });
    }
    // As Synapse with MSC4140 delayed events and MSC4354 sticky events on (our test bed's).
    if (path === "/_matrix/client/versions") return json(200, { versions: ["v1.11"], unstable_features: { "org.matrix.msc4140": true, "org.matrix.msc4354": true } });
    if (path === "/_matrix/client/v3/login" && (init?.method ?? "GET") === "GET") {
      const sso = options.identityProviders === undefined ? [] : [{ type: "m.login.sso", identity_providers: options.identityProviders }];
      return json(200, { flows: [{ type: "m.login.password" }, ...sso, { type: "m.login.token" }] });
    }
    if (path === "/_matrix/client/v3/login" && init?.method === "POST") {
      const body = JSON.parse(String(init.body)) as { type?: string; identifier?: { user?: string }; password?: string; token?: string };
      let localpart: string;
      if (body.type === "m.login.token") {
        // As Synapse: a token is good once.
        const owner = options.loginTokens?.get(body.token ?? "");
        if (owner === undefined) return json(403, { errcode: "M_FORBIDDEN", error: "Invalid login token" });
        options.loginTokens?.delete(body.token ?? "");
        localpart = owner;
      } else {
        const user = body.identifier?.user ?? "";
        localpart = user.startsWith("@") ? user.slice(1).split(":")[0] ?? "" : user;
        if (options.users[localpart] === undefined || options.users[localpart] !== body.password) {
          return json(403, { errcode: "M_FORBIDDEN", error: "Invalid username or password" });
        }
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
      const join = Object.fromEntries(
        Object.entries(options.rooms ?? {}).map(([roomId, state]) => [roomId, { state: { events: state }, timeline: { events: [], limited: false }, ephemeral: { events: [] }, account_data: { events: [] } }]),
      );
      return json(200, { next_batch: "s1", rooms: { join }, account_data: { events: [] }, presence: { events: [] } });
    }
    if (/\/openid\/request_token$/.test(path)) return json(200, { access_token: `openid-${token}`, token_type: "Bearer", matrix_server_name: options.serverName, expires_in: 3600 });
    if (init?.method === "PUT" && /\/rooms\/[^/]+\/(state|send)\//.test(path)) {
      issued += 1;
      sent.push({ path: decodeURIComponent(path), query: Object.fromEntries(url.searchParams), content: JSON.parse(String(init.body ?? "{}")) as Record<string, unknown> });
      return json(200, url.searchParams.has("org.matrix.msc4140.delay") ? { delay_id: `delay-${issued}` } : { event_id: `$event-${issued}` });
    }
    if (path.includes("/org.matrix.msc4140/delayed_events")) return json(200, {});
    if (path.endsWith("/filter")) return json(200, { filter_id: "1" });
    if (path === "/_matrix/client/v3/pushrules/") return json(200, { global: {} });
    if (path === "/_matrix/client/v3/capabilities") return json(200, { capabilities: {} });
    return json(404, { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" });
  };
  return { fetch: fetchFn, validTokens, requests, sent, focusRequests };
}
