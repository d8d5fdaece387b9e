// Calling Visio's HTTP APIs (focus, transcription control, meetings): a JSON POST with a timeout, and
// failures, which they answer with Matrix-style bodies ({errcode, error}): the errcode is kept for code
// and picks the plain reason the user reads; the server's own sentence stays in the error's message.
import type { MatrixErrorBody, OpenIdToken } from "../../../config/wire-types.ts";
import type { MessageKey } from "../i18n/fr.ts";
import { ERRCODE, VisioError, reasonOf } from "./errors.ts";
import type { FetchLike } from "./matrix/homeserver-discovery.ts";

/** Only the four fields of the spec: the APIs refuse unknown ones, and the SDK's token may carry more. */
export const openIdFields = (token: OpenIdToken): OpenIdToken => ({
  access_token: token.access_token,
  token_type: token.token_type,
  matrix_server_name: token.matrix_server_name,
  expires_in: token.expires_in,
});

export async function errorFromResponse(response: Response, messageKey: MessageKey): Promise<VisioError> {
  let body: Partial<MatrixErrorBody> = {};
  try {
    body = (await response.json()) as Partial<MatrixErrorBody>;
  } catch {
    // Not JSON: the status says enough.
  }
  const message = typeof body.error === "string" ? body.error : `HTTP ${response.status}`;
  const errcode = typeof body.errcode === "string" ? body.errcode : ERRCODE.unknown;
  return new VisioError(errcode, messageKey, {
    reason: reasonOf({ errcode, httpStatus: response.status }),
    retryable: response.status >= 500 || response.status === 429,
    detail: message,
  });
}

/**
 * POSTs `body` as JSON and answers the parsed JSON reply. An unreachable server is a retryable
 * VisioError under `messageKey`; a refusal, the server's own (errorFromResponse).
 */
export async function postJson(fetchFn: FetchLike, url: string, body: unknown, messageKey: MessageKey): Promise<unknown> {
  let response: Response;
  try {
    response = await fetchFn(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new VisioError(ERRCODE.serverDown, messageKey, { reason: "reason.unreachable", retryable: true, cause: error, detail: String(error) });
  }
  if (!response.ok) throw await errorFromResponse(response, messageKey);
  return response.json();
}
