// Visio's HTTP APIs (focus, transcription control) answer failures with Matrix-style bodies
// ({errcode, error}): keep the errcode for code, and show the server's sentence to the user.
import type { MatrixErrorBody } from "../../../wire-types.ts";
import type { MessageKey } from "../i18n/fr.ts";
import { ERRCODE, VisioError } from "./errors.ts";

export async function errorFromResponse(response: Response, messageKey: MessageKey): Promise<VisioError> {
  let body: Partial<MatrixErrorBody> = {};
  try {
    body = (await response.json()) as Partial<MatrixErrorBody>;
  } catch {
    // Not JSON: the status says enough.
  }
  const message = typeof body.error === "string" ? body.error : `HTTP ${response.status}`;
  return new VisioError(typeof body.errcode === "string" ? body.errcode : ERRCODE.unknown, messageKey, {
    params: { message },
    retryable: response.status >= 500 || response.status === 429,
    detail: message,
  });
}
