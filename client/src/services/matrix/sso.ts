// Single sign-on through the homeserver (Matrix SSO, as Synapse offers it with its OIDC providers,
// ProConnect or a ministry's own): which providers a homeserver offers, where to send the browser,
// and how the sign-in is picked up when the homeserver sends it back with a one-time `loginToken`.
// The homeserver is remembered between leaving and coming back, in the tab's own storage (the round
// trip happens in one tab): a token is only ever exchanged with the homeserver this tab went to, and
// a link carrying someone else's token signs nobody in.
import type { DiscoveredHomeserver, FetchLike } from "./homeserver-discovery.ts";
import type { KeyValueStorage } from "./session-storage.ts";

export interface SsoProvider {
  /** Synapse's idp_id (e.g. "oidc-annuaire"); null when the homeserver names none (one provider). */
  id: string | null;
  name: string;
}

interface PendingSso {
  homeserver: DiscoveredHomeserver;
  startedAt: number;
}

const PENDING_KEY = "visio.sso-pending";
// Long enough for a password manager, a second factor or a forgotten password at the provider.
const PENDING_MAX_AGE_MS = 30 * 60 * 1000;
const TIMEOUT_MS = 10_000;
const LOGIN_TOKEN = "loginToken";

/** The SSO providers of a `GET /_matrix/client/v3/login` answer (none without `m.login.sso`). */
export function ssoProvidersOf(loginFlows: unknown, serverName: string): SsoProvider[] {
  const flows = (loginFlows as { flows?: unknown } | null)?.flows;
  if (!Array.isArray(flows)) return [];
  const sso = flows.find((flow): flow is { type: string; identity_providers?: unknown } => (flow as { type?: unknown } | null)?.type === "m.login.sso");
  if (sso === undefined) return [];
  if (!Array.isArray(sso.identity_providers) || sso.identity_providers.length === 0) return [{ id: null, name: serverName }];
  return sso.identity_providers.flatMap((entry: unknown) => {
    const { id, name } = (entry ?? {}) as { id?: unknown; name?: unknown };
    if (typeof id !== "string" || id === "") return [];
    return [{ id, name: typeof name === "string" && name.trim() !== "" ? name.trim() : id }];
  });
}

/** What the homeserver offers; [] when it offers no SSO or does not answer (the password remains). */
export async function fetchSsoProviders(homeserver: DiscoveredHomeserver, fetchFn: FetchLike): Promise<SsoProvider[]> {
  try {
    const response = await fetchFn(`${homeserver.baseUrl}/_matrix/client/v3/login`, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: { accept: "application/json" } });
    if (!response.ok) return [];
    return ssoProvidersOf(await response.json(), homeserver.serverName);
  } catch {
    return [];
  }
}

/** The page's own address as the homeserver should send the user back to: any old token removed, the meeting's fragment kept. */
export function ssoReturnUrl(pageUrl: string): string {
  const url = new URL(pageUrl);
  url.searchParams.delete(LOGIN_TOKEN);
  return url.toString();
}

export function ssoRedirectUrl(homeserver: DiscoveredHomeserver, provider: SsoProvider, pageUrl: string): string {
  const path = provider.id === null ? "" : `/${encodeURIComponent(provider.id)}`;
  return `${homeserver.baseUrl}/_matrix/client/v3/login/sso/redirect${path}?redirectUrl=${encodeURIComponent(ssoReturnUrl(pageUrl))}`;
}

/** The login token a page was opened with, and the address without it (for history.replaceState). */
export function loginTokenIn(pageUrl: string): { token: string; cleanUrl: string } | null {
  const url = new URL(pageUrl);
  const token = url.searchParams.get(LOGIN_TOKEN);
  if (token === null) return null;
  return { token, cleanUrl: ssoReturnUrl(pageUrl) };
}

export function savePendingSso(storage: KeyValueStorage, homeserver: DiscoveredHomeserver, now = Date.now()): void {
  storage.setItem(PENDING_KEY, JSON.stringify({ homeserver, startedAt: now } satisfies PendingSso));
}

/** The homeserver of the SSO sign-in this browser started, once: it is forgotten as it is read. */
export function takePendingSso(storage: KeyValueStorage, now = Date.now()): DiscoveredHomeserver | null {
  const raw = storage.getItem(PENDING_KEY);
  storage.removeItem(PENDING_KEY);
  if (raw === null) return null;
  try {
    const { homeserver, startedAt } = JSON.parse(raw) as Partial<PendingSso>;
    if (typeof startedAt !== "number" || now - startedAt > PENDING_MAX_AGE_MS || now < startedAt) return null;
    if (typeof homeserver?.baseUrl !== "string" || !/^https?:\/\//.test(homeserver.baseUrl) || typeof homeserver.serverName !== "string") return null;
    const wellKnown = typeof homeserver.wellKnown === "object" && homeserver.wellKnown !== null ? homeserver.wellKnown : {};
    return { serverName: homeserver.serverName, baseUrl: homeserver.baseUrl, wellKnown };
  } catch {
    return null;
  }
}
