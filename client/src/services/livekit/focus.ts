// The MatrixRTC focus (MSC4143 discovery, MSC4195 token): which LiveKit service a call uses, and
// the LiveKit URL and token it hands out for an OpenID token of our homeserver.
import type { FocusGetTokenRequest, FocusLegacySfuRequest, FocusTokenResponse, OpenIdToken } from "../../../../config/wire-types.ts";
import type { MatrixRtcMode } from "../client-config.ts";
import { ERRCODE, VisioError } from "../errors.ts";
import { openIdFields, postJson } from "../visio-api.ts";
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
 * The user's own focus, where they publish: from the homeserver's MSC4143 transports endpoint (what
 * Element Call reads), else from `.well-known` (older deployments).
 */
export async function ownFocus(
  wellKnown: Record<string, unknown>,
  transports: () => Promise<unknown[]>,
): Promise<LivekitTransport | undefined> {
  try {
    const [announced] = livekitOnly(await transports());
    if (announced !== undefined) return announced;
  } catch {
    // M_NOT_FOUND or M_UNRECOGNIZED: the homeserver has no MSC4143 endpoint.
  }
  return fociFromWellKnown(wellKnown)[0];
}

const sameUrl = (a: string, b: string): boolean => a.replace(/\/+$/, "") === b.replace(/\/+$/, "");

/**
 * Whether a member's homeserver vouches for the focus their membership names: the foci its public
 * `.well-known/matrix/client` lists include it. A member can write any URL in their membership, and
 * every caller sends an OpenID token to the focus of each other member: only foci their own ministry
 * announces get one. A server whose `.well-known` lists no foci (or cannot be read) gives no answer
 * either way: then the focus is used, as other clients do.
 */
export async function focusVouchedBy(fetchFn: FetchLike, serverName: string, serviceUrl: string): Promise<boolean> {
  let wellKnown: Record<string, unknown>;
  try {
    const response = await fetchFn(`https://${serverName}/.well-known/matrix/client`, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) return true;
    wellKnown = (await response.json()) as Record<string, unknown>;
  } catch {
    return true;
  }
  const announced = fociFromWellKnown(wellKnown);
  return announced.length === 0 || announced.some((focus) => sameUrl(focus.livekit_service_url, serviceUrl));
}

export interface FocusTokenRequestInput {
  serviceUrl: string;
  roomId: string;
  userId: string;
  deviceId: string;
  /** Our membership's member ID: `/get_token` derives the LiveKit identity from it. */
  memberId: string;
  openIdToken: OpenIdToken;
}

/**
 * The token to publish with, on the user's own focus. Compatibility mode: `POST /sfu/get`, whose
 * LiveKit identity is `<user id>:<device id>`, what Element Call (and matrix-js-sdk's
 * CallMembership.rtcBackendIdentity) expects of a member whose membership is a call.member state
 * event. matrix_2_0: `POST /get_token`, whose hashed identity is what an m.rtc.member event implies.
 */
export function requestPublishToken(fetchFn: FetchLike, input: FocusTokenRequestInput, mode: MatrixRtcMode, delay?: DelegatedDelay): Promise<FocusTokenResponse> {
  if (mode === "matrix_2_0") return requestFocusToken(fetchFn, input, delay);
  return requestLegacyToken(fetchFn, input, delay);
}

/**
 * Our delayed leave event (MSC4140), handed to the focus we publish on with a token request, as
 * Element Call does: the focus has our homeserver send it as soon as our LiveKit connection goes, so
 * a closed tab leaves the call at once rather than when the delay runs out.
 */
export interface DelegatedDelay {
  delayId: string;
  timeoutMs: number;
}

const delayFields = (delay: DelegatedDelay | undefined): Pick<FocusGetTokenRequest, "delay_id" | "delay_timeout"> =>
  delay === undefined ? {} : { delay_id: delay.delayId, delay_timeout: delay.timeoutMs };

function requestLegacyToken(fetchFn: FetchLike, input: FocusTokenRequestInput, delay?: DelegatedDelay): Promise<FocusTokenResponse> {
  const body: FocusLegacySfuRequest = { room: input.roomId, openid_token: openIdFields(input.openIdToken), device_id: input.deviceId, ...delayFields(delay) };
  return askFocus(fetchFn, input.serviceUrl, "sfu/get", body);
}

/**
 * A token to subscribe on another member's focus (multi_sfu): `POST /get_token` (MSC4195), and in
 * compatibility mode the legacy `/sfu/get` where the focus has only that, as Element Call does.
 */
export async function requestSubscribeToken(fetchFn: FetchLike, input: FocusTokenRequestInput, mode: MatrixRtcMode): Promise<FocusTokenResponse> {
  if (mode === "matrix_2_0") return requestFocusToken(fetchFn, input);
  try {
    return await requestFocusToken(fetchFn, input);
  } catch {
    // Whatever went wrong (no such endpoint, an older focus): the legacy endpoint says its own reason.
    return requestLegacyToken(fetchFn, input);
  }
}

export function requestFocusToken(fetchFn: FetchLike, input: FocusTokenRequestInput, delay?: DelegatedDelay): Promise<FocusTokenResponse> {
  const body: FocusGetTokenRequest = {
    room_id: input.roomId,
    slot_id: CALL_SLOT_ID,
    openid_token: openIdFields(input.openIdToken),
    member: { id: input.memberId, claimed_user_id: input.userId, claimed_device_id: input.deviceId },
    ...delayFields(delay),
  };
  return askFocus(fetchFn, input.serviceUrl, "get_token", body);
}

async function askFocus(fetchFn: FetchLike, serviceUrl: string, endpoint: string, body: unknown): Promise<FocusTokenResponse> {
  const token = (await postJson(fetchFn, `${serviceUrl.replace(/\/+$/, "")}/${endpoint}`, body, "call.failed")) as Partial<FocusTokenResponse>;
  if (typeof token.url !== "string" || typeof token.jwt !== "string") {
    throw new VisioError(ERRCODE.unknown, "call.failed", { reason: "reason.unknown", detail: "focus answered without url and jwt" });
  }
  return { url: token.url, jwt: token.jwt };
}
