// Builds the focus API from the `focus` config section; the appservice mounts it when present.
import { readFile } from "node:fs/promises";
import { ConfigError } from "../../../config/load.ts";
import type { AppserviceConfig } from "../../../config/schema.ts";
import type { Logger } from "../log.ts";
import type { CallStore } from "../calls/call-store.ts";
import type { CallExclusions } from "../moderation/call-exclusions.ts";
import type { Store } from "../storage/store.ts";
import type { RoomMembership } from "./room-membership.ts";
import { createFederationGet, type FederationGet } from "./federation-client.ts";
import { requestLimits } from "../rate-limiter.ts";
import { createFocusApi, type FocusApi } from "./focus-api.ts";
import type { KnownRooms } from "./known-rooms.ts";
import { createOpenIdVerifier, type OpenIdVerifier } from "./openid-verifier.ts";
import { createTokenIssuer, type LiveKitRooms } from "./token-issuer.ts";

export type FocusConfig = NonNullable<AppserviceConfig["focus"]>;

export interface FocusFromConfigDeps {
  membership: RoomMembership;
  identities?: Pick<CallStore, "recordIdentity">;
  /** Where delegated leaves are kept; absent, the focus takes none. */
  delegatedLeaves?: Pick<CallStore, "delegateLeave">;
  log: Logger;
  /** The ministry's LiveKit server API (the app's one client); required when the config has a focus. */
  rooms?: LiveKitRooms;
  /** Override for tests; by default real federation HTTPS. */
  federationGet?: FederationGet;
  knownRooms?: KnownRooms;
  /** Users a moderator removed, calls a moderator ended: refused a token for a while. */
  exclusions?: Pick<CallExclusions, "refuses">;
  prefix?: string;
  /** Shared with other endpoints that take OpenID tokens; built from the config when absent. */
  verifier?: OpenIdVerifier;
}

/** LiveKit's server API listens where its WebSocket does: same host and port, http(s) instead of ws(s). */
export function liveKitApiUrl(focus: FocusConfig): string {
  if (focus.livekit.api_url) return focus.livekit.api_url;
  const url = new URL(focus.livekit.url);
  url.protocol = url.protocol === "wss:" ? "https:" : "http:";
  return url.toString().replace(/\/$/, "");
}

async function readCa(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new ConfigError(`focus.federation_ca_file: cannot read ${path}: ${(err as Error).message}`);
  }
}

/**
 * Checks OpenID tokens over federation with the focus section's settings (CA, timeout, cache), or
 * the defaults when the appservice runs without a focus.
 */
export async function openIdVerifierFromConfig(config: AppserviceConfig, federationGet?: FederationGet): Promise<OpenIdVerifier> {
  const focus = config.focus;
  const ca = focus?.federation_ca_file ? await readCa(focus.federation_ca_file) : undefined;
  return createOpenIdVerifier({
    get: federationGet ?? createFederationGet({ ca, timeoutMs: focus?.federation_timeout_ms ?? 5000 }),
    cacheTtlMs: (focus?.openid_cache_seconds ?? 60) * 1000,
  });
}

/** The focus API, or null when the config has no `focus` section. */
export async function focusApiFromConfig(config: AppserviceConfig, deps: FocusFromConfigDeps): Promise<FocusApi | null> {
  const focus = config.focus;
  if (!focus) return null;
  const ownServer = config.homeserver.server_name;
  const log = deps.log.child({ component: "focus" });
  const verifier = deps.verifier ?? (await openIdVerifierFromConfig(config, deps.federationGet));
  if (!deps.rooms) throw new Error("the focus needs the LiveKit server API client (deps.rooms)");
  const issuer = createTokenIssuer({
    url: focus.livekit.url,
    apiKey: focus.livekit.api_key,
    apiSecret: focus.livekit.api_secret,
    ttlSeconds: focus.token_ttl_seconds,
    sfuSelection: focus.sfu_selection,
    fullAccessServers: focus.full_access_servers ?? [ownServer],
    ...(deps.knownRooms ? { knownRooms: deps.knownRooms } : {}),
    rooms: deps.rooms,
    log,
  });
  return createFocusApi({
    verifier,
    issuer,
    membership: deps.membership,
    ...(deps.identities ? { identities: deps.identities } : {}),
    ...(deps.delegatedLeaves ? { delegatedLeaves: { store: deps.delegatedLeaves, localServer: ownServer } } : {}),
    ...(deps.exclusions ? { exclusions: deps.exclusions } : {}),
    allowedServers: [ownServer, ...config.federation.allowlist],
    log,
    ...(deps.prefix ? { prefix: deps.prefix } : {}),
    ...(config.rate_limits.enabled ? { limits: requestLimits(config.rate_limits.focus, "focus") } : {}),
  });
}
