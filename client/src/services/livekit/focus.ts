// The MatrixRTC focus (MSC4143 discovery, MSC4195 token): which LiveKit service a call uses, and
// the LiveKit URL and token it hands out for an OpenID token of our homeserver.
import type { FocusGetTokenRequest, FocusTokenResponse, OpenIdToken } from "../../../../wire-types.ts";
import { ERRCODE, VisioError } from "../errors.ts";
import { errorFromResponse } from "../http-errors.ts";
import type { FetchLike } from "../matrix/homeserver-discovery.ts";

export interface LivekitTransport {
  type: "livekit";
  livekit_service_url: string;
}

/** The slot every MatrixRTC room call uses (Element Call's "m.call#ROOM"). */
export const CALL_SLOT_ID = "m.call#ROOM";
const WELL_KNOWN_FOCI = "org.matrix.msc4143.rtc_foci";

export function isLivekitTransport(value: unknown): value is LivekitTransport {
  if (typeof value !== "object" || value === null) return false;
  const { type, livekit_service_url: url } = value as Record<string, unknown>;
  return type === "livekit" && typeof url === "string" && /^https?:\/\//.test(url);
}

function livekitOnly(foci: unknown): LivekitTransport[] {
  return Array.isArray(foci) ? foci.filter(isLivekitTransport).map((f) => ({ type: "livekit", livekit_service_url: f.livekit_service_url })) : [];
}

/** The LiveKit foci a homeserver announces in its `.well-known/matrix/client`. */
export function fociFromWellKnown(wellKnown: Record<string, unknown>): LivekitTransport[] {
  return livekitOnly(wellKnown[WELL_KNOWN_FOCI]);
}

/**
 * The user's own focus: from `.well-known` (what Element Call reads), else from the homeserver's
 * MSC4143 transports endpoint (where the homeserver offers it).
 */
export async function ownFocus(
  wellKnown: Record<string, unknown>,
  transports: () => Promise<unknown[]>,
): Promise<LivekitTransport | undefined> {
  const [fromWellKnown] = fociFromWellKnown(wellKnown);
  if (fromWellKnown !== undefined) return fromWellKnown;
  try {
    return livekitOnly(await transports())[0];
  } catch {
    // M_NOT_FOUND or M_UNRECOGNIZED: the homeserver has no MSC4143 endpoint.
    return undefined;
  }
}

export interface FocusTokenRequestInput {
  serviceUrl: string;
  roomId: string;
  userId: string;
  deviceId: string;
  openIdToken: OpenIdToken;
}

export async function requestFocusToken(fetchFn: FetchLike, input: FocusTokenRequestInput): Promise<FocusTokenResponse> {
  const { openIdToken } = input;
  const body: FocusGetTokenRequest = {
    room_id: input.roomId,
    slot_id: CALL_SLOT_ID,
    // Only the four fields of the spec: the focus refuses unknown ones.
    openid_token: {
      access_token: openIdToken.access_token,
      token_type: openIdToken.token_type,
      matrix_server_name: openIdToken.matrix_server_name,
      expires_in: openIdToken.expires_in,
    },
    // The member ID matrix-js-sdk publishes for a device: "<user id>:<device id>".
    member: { id: `${input.userId}:${input.deviceId}`, claimed_user_id: input.userId, claimed_device_id: input.deviceId },
  };
  let response: Response;
  try {
    response = await fetchFn(`${input.serviceUrl.replace(/\/+$/, "")}/get_token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new VisioError(ERRCODE.serverDown, "call.failed", { params: { message: String(error) }, retryable: true, cause: error });
  }
  if (!response.ok) throw await errorFromResponse(response, "call.failed");
  const token = (await response.json()) as Partial<FocusTokenResponse>;
  if (typeof token.url !== "string" || typeof token.jwt !== "string") {
    throw new VisioError(ERRCODE.unknown, "call.failed", { params: { message: "focus answered without url and jwt" } });
  }
  return { url: token.url, jwt: token.jwt };
}
