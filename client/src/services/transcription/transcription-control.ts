// Starting and stopping a meeting's transcription: `POST <appservice>/_visio/v1/transcription` on the
// appservice of the ministry hosting the room (named in the `.well-known/matrix/client` of the server
// of the room's canonical alias), authenticated by an OpenID token from the user's own homeserver.
import type { OpenIdToken, TranscriptionControlRequest, TranscriptionControlResponse, WellKnownAppservice } from "../../../../config/wire-types.ts";
import { TRANSCRIPTION_API_PATH, WELL_KNOWN_APPSERVICE_KEY } from "../../../../config/wire-types.ts";
import type { MessageKey } from "../../i18n/fr.ts";
import { ERRCODE, VisioError } from "../errors.ts";
import { openIdFields, postJson } from "../visio-api.ts";
import type { FetchLike } from "../matrix/homeserver-discovery.ts";

export function appserviceUrlFromWellKnown(wellKnown: Record<string, unknown>): string | null {
  const entry = wellKnown[WELL_KNOWN_APPSERVICE_KEY] as Partial<WellKnownAppservice> | undefined;
  return typeof entry?.url === "string" && /^https?:\/\//.test(entry.url) ? entry.url.replace(/\/+$/, "") : null;
}

export function serverOfAlias(alias: string): string | null {
  const colon = alias.indexOf(":");
  return alias.startsWith("#") && colon > 1 ? alias.slice(colon + 1) : null;
}

/**
 * The appservice URL for a room hosted on `aliasServer`. When that server is the user's own, the
 * `.well-known` read at sign-in answers (no second request); otherwise the hosting server's is read.
 */
export async function findAppserviceUrl(
  fetchFn: FetchLike,
  aliasServer: string,
  own: { serverName: string; userId: string; wellKnown: Record<string, unknown> },
  /** What the user is told when that server announces none: what they wanted could not be done. */
  noService: MessageKey = "transcription.noService",
): Promise<string> {
  const ownServer = own.userId.slice(own.userId.indexOf(":") + 1);
  if (aliasServer === ownServer || aliasServer === own.serverName) {
    const url = appserviceUrlFromWellKnown(own.wellKnown);
    if (url !== null) return url;
  }
  try {
    const response = await fetchFn(`https://${aliasServer}/.well-known/matrix/client`, { signal: AbortSignal.timeout(10_000) });
    if (response.ok) {
      const url = appserviceUrlFromWellKnown((await response.json()) as Record<string, unknown>);
      if (url !== null) return url;
    }
  } catch {
    // Falls through to the clear error below.
  }
  throw new VisioError(ERRCODE.notFound, noService, { detail: `no ${WELL_KNOWN_APPSERVICE_KEY} for ${aliasServer}` });
}

/**
 * The appservice of the ministry hosting a room: the server of its canonical alias (whose appservice
 * created it), else of its ID. `signedIn` is the user's session (their `.well-known` read at sign-in).
 */
export function appserviceOfRoom(
  fetchFn: FetchLike,
  room: { alias: string | null; roomId: string },
  signedIn: { serverName: string | null; userId: string | null; wellKnown: Record<string, unknown> },
  noService?: MessageKey,
): Promise<string> {
  const hostingServer = serverOfAlias(room.alias ?? "") ?? room.roomId.slice(room.roomId.indexOf(":") + 1);
  const own = { serverName: signedIn.serverName ?? "", userId: signedIn.userId ?? "", wellKnown: signedIn.wellKnown };
  return findAppserviceUrl(fetchFn, hostingServer, own, noService);
}

/**
 * The appservice of a ministry by its server name (a participant's, for what only their ministry's
 * SFU can do), found as for a room: the user's own `.well-known` for their own server.
 */
export function appserviceOfServer(
  fetchFn: FetchLike,
  serverName: string,
  signedIn: { serverName: string | null; userId: string | null; wellKnown: Record<string, unknown> },
  noService?: MessageKey,
): Promise<string> {
  const own = { serverName: signedIn.serverName ?? "", userId: signedIn.userId ?? "", wellKnown: signedIn.wellKnown };
  return findAppserviceUrl(fetchFn, serverName, own, noService);
}

export async function controlTranscription(
  fetchFn: FetchLike,
  appserviceUrl: string,
  request: { roomId: string; action: "start" | "stop"; openIdToken: OpenIdToken; language?: string },
): Promise<TranscriptionControlResponse> {
  const body: TranscriptionControlRequest = {
    room_id: request.roomId,
    action: request.action,
    openid_token: openIdFields(request.openIdToken),
    ...(request.language === undefined ? {} : { language: request.language }),
  };
  return (await postJson(fetchFn, `${appserviceUrl}${TRANSCRIPTION_API_PATH}`, body, "transcription.failed")) as TranscriptionControlResponse;
}
