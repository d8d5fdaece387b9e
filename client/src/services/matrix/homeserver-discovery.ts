// Finds a homeserver's client API from what a user types: a server name (discovered through
// `.well-known/matrix/client`, as the spec says) or a URL. Tells "no Matrix server there" apart from
// "a known server that does not answer", since the user can fix the first and must wait for the second.
import { MATRIX_USER_ID } from "../../../../config/wire-types.ts";
import { ERRCODE, VisioError } from "../errors.ts";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface DiscoveredHomeserver {
  /** What the user typed, normalised: host[:port]. */
  serverName: string;
  /** Client-server API base URL, without a trailing slash. */
  baseUrl: string;
  /** The `.well-known/matrix/client` document, `{}` when the server has none. */
  wellKnown: Record<string, unknown>;
}

const TIMEOUT_MS = 10_000;
// Host names, IPv4 and bracketed IPv6, with an optional port (Matrix server-name grammar).
const SERVER_NAME = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

type Probe<T> = { kind: "ok"; value: T } | { kind: "absent" } | { kind: "unreachable" } | { kind: "failing" };

export function parseServerInput(input: string): { serverName: string; origin: string } {
  const trimmed = input.trim().replace(/\/+$/, "");
  if (/^https?:\/\//i.test(trimmed)) {
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      throw new VisioError(ERRCODE.invalidParam, "error.badServerName", { detail: "not a URL" });
    }
    const path = url.pathname.replace(/\/+$/, "");
    return { serverName: url.host, origin: `${url.origin}${path}` };
  }
  // "@user:server" pasted whole: the server part is what we need.
  const fromUserId = MATRIX_USER_ID.exec(trimmed)?.[2];
  const name = (fromUserId ?? trimmed).toLowerCase();
  if (!SERVER_NAME.test(name)) throw new VisioError(ERRCODE.invalidParam, "error.badServerName", { detail: "not a server name" });
  return { serverName: name, origin: `https://${name}` };
}

async function probeJson(fetchFn: FetchLike, url: string): Promise<Probe<Record<string, unknown>>> {
  let response: Response;
  try {
    response = await fetchFn(url, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: { accept: "application/json" } });
  } catch {
    return { kind: "unreachable" };
  }
  if (response.status >= 500) return { kind: "failing" };
  if (!response.ok) return { kind: "absent" };
  try {
    const body: unknown = await response.json();
    return typeof body === "object" && body !== null && !Array.isArray(body) ? { kind: "ok", value: body as Record<string, unknown> } : { kind: "absent" };
  } catch {
    return { kind: "absent" };
  }
}

function baseUrlOf(wellKnown: Record<string, unknown>): string | undefined {
  const homeserver = wellKnown["m.homeserver"];
  if (typeof homeserver !== "object" || homeserver === null) return undefined;
  const baseUrl = (homeserver as { base_url?: unknown }).base_url;
  if (typeof baseUrl !== "string" || !/^https?:\/\//i.test(baseUrl)) return undefined;
  return baseUrl.replace(/\/+$/, "");
}

export async function discoverHomeserver(input: string, fetchFn: FetchLike): Promise<DiscoveredHomeserver> {
  const { serverName, origin } = parseServerInput(input);
  const wellKnownProbe = await probeJson(fetchFn, `${origin}/.well-known/matrix/client`);
  const wellKnown = wellKnownProbe.kind === "ok" ? wellKnownProbe.value : {};
  const announced = baseUrlOf(wellKnown);
  const baseUrl = announced ?? origin;

  const versions = await probeJson(fetchFn, `${baseUrl}/_matrix/client/versions`);
  if (versions.kind === "ok" && Array.isArray(versions.value.versions)) return { serverName, baseUrl, wellKnown };
  // A .well-known naming a homeserver proves the server exists: its API not answering means it is down.
  if (announced !== undefined && versions.kind !== "absent") {
    throw new VisioError(ERRCODE.serverDown, "error.serverDown", { params: { server: serverName }, retryable: true, detail: `${versions.kind} API` });
  }
  if (versions.kind === "failing") {
    throw new VisioError(ERRCODE.serverDown, "error.serverDown", { params: { server: serverName }, retryable: true, detail: "5xx" });
  }
  throw new VisioError(ERRCODE.unknownServer, "error.unknownServer", { params: { server: serverName }, detail: `${versions.kind} API` });
}
