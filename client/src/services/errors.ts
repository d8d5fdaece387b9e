// One error type for everything the interface shows: a Matrix-style errcode (what went wrong, for
// code and tests) and a message key with its parameters (what the user reads, in their language).
import type { MessageKey } from "../i18n/fr.ts";

export class VisioError extends Error {
  readonly errcode: string;
  readonly messageKey: MessageKey;
  readonly params: Record<string, string | number>;
  /** Whether trying again later may succeed (server down, rate limited), as opposed to bad input. */
  readonly retryable: boolean;

  constructor(
    errcode: string,
    messageKey: MessageKey,
    options: { params?: Record<string, string | number>; retryable?: boolean; cause?: unknown; detail?: string } = {},
  ) {
    super(`${errcode}: ${options.detail ?? messageKey}`, { cause: options.cause });
    this.name = "VisioError";
    this.errcode = errcode;
    this.messageKey = messageKey;
    this.params = options.params ?? {};
    this.retryable = options.retryable ?? false;
  }
}

// Our own errcodes, namespaced as the spec asks of non-M_ codes.
export const ERRCODE = {
  unknownServer: "ORG.VISIO.UNKNOWN_SERVER",
  serverDown: "ORG.VISIO.SERVER_DOWN",
  invalidParam: "M_INVALID_PARAM",
  forbidden: "M_FORBIDDEN",
  notFound: "M_NOT_FOUND",
  unknownToken: "M_UNKNOWN_TOKEN",
  noFocus: "ORG.VISIO.NO_FOCUS",
  unknown: "M_UNKNOWN",
} as const;

/** Any thrown value as a VisioError, so the interface always has something translatable to show. */
export function asVisioError(error: unknown): VisioError {
  if (error instanceof VisioError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const errcode = typeof (error as { errcode?: unknown })?.errcode === "string" ? (error as { errcode: string }).errcode : ERRCODE.unknown;
  return new VisioError(errcode, "error.generic", { params: { message }, cause: error, detail: message });
}
