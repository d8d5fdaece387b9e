// The deployment's settings for the web client, read at start from `config.json` beside index.html
// (an operator drops it there; none means the defaults), as Element Call reads its own.
import type { FetchLike } from "./matrix/homeserver-discovery.ts";

/**
 * How calls are joined, Element Call 0.26's two modes; a deployment picks the one its Element users'
 * Element Call runs in, so that both clients meet in the same call:
 * - `compatibility` (Element Call's default): call.member state events, LiveKit identity
 *   `<user id>:<device id>` from the focus's `/sfu/get`;
 * - `matrix_2_0`: sticky `m.rtc.member` events (MSC4354), a member ID per session and hashed
 *   identities from the focus's `/get_token` (MSC4195), `m.rtc.notification` when a call starts.
 */
export type MatrixRtcMode = "compatibility" | "matrix_2_0";

export interface ClientConfig {
  matrixRtcMode: MatrixRtcMode;
}

export const DEFAULT_CLIENT_CONFIG: ClientConfig = { matrixRtcMode: "compatibility" };

const MODES: readonly MatrixRtcMode[] = ["compatibility", "matrix_2_0"];

/** The settings of `json` (config.json's content); what it does not set, or sets wrong, keeps its default, named in `problems`. */
export function parseClientConfig(json: unknown): { config: ClientConfig; problems: string[] } {
  const problems: string[] = [];
  if (typeof json !== "object" || json === null || Array.isArray(json)) return { config: DEFAULT_CLIENT_CONFIG, problems: ["config.json is not a JSON object"] };
  const mode = (json as Record<string, unknown>).matrix_rtc_mode;
  if (mode !== undefined && !MODES.includes(mode as MatrixRtcMode)) problems.push(`matrix_rtc_mode must be one of ${MODES.join(", ")}`);
  return { config: { matrixRtcMode: MODES.includes(mode as MatrixRtcMode) ? (mode as MatrixRtcMode) : DEFAULT_CLIENT_CONFIG.matrixRtcMode }, problems };
}

/** Reads `config.json` next to the page; without one (404), the defaults. */
export async function loadClientConfig(fetchFn: FetchLike, pageUrl: string): Promise<{ config: ClientConfig; problems: string[] }> {
  let response: Response;
  try {
    response = await fetchFn(new URL("config.json", pageUrl).toString(), { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    return { config: DEFAULT_CLIENT_CONFIG, problems: [`config.json could not be read: ${String(error)}`] };
  }
  if (response.status === 404) return { config: DEFAULT_CLIENT_CONFIG, problems: [] };
  if (!response.ok) return { config: DEFAULT_CLIENT_CONFIG, problems: [`config.json: HTTP ${response.status}`] };
  try {
    return parseClientConfig(await response.json());
  } catch {
    return { config: DEFAULT_CLIENT_CONFIG, problems: ["config.json is not JSON"] };
  }
}
