// One error type for everything the interface shows: a Matrix-style errcode (what went wrong, for
// code and tests) and a message key with its parameters (what the user reads, in their language).
// What failed underneath is told in plain words of ours (a reason key picked by the errcode, the HTTP
// status or the browser's error name), never in the server's or the browser's own sentence: those are
// English and full of protocol words; they stay in the error's message for the console.
import type { MessageKey } from "../i18n/fr.ts";

export class VisioError extends Error {
  readonly errcode: string;
  readonly messageKey: MessageKey;
  readonly params: Record<string, string | number>;
  /** Why it failed, in plain words: shown as the message's {message}. */
  readonly reasonKey: MessageKey | null;
  /** Whether trying again later may succeed (server down, rate limited), as opposed to bad input. */
  readonly retryable: boolean;

  constructor(
    errcode: string,
    messageKey: MessageKey,
    options: { params?: Record<string, string | number>; reason?: MessageKey; retryable?: boolean; cause?: unknown; detail?: string } = {},
  ) {
    super(`${errcode}: ${options.detail ?? messageKey}`, { cause: options.cause });
    this.name = "VisioError";
    this.errcode = errcode;
    this.messageKey = messageKey;
    this.params = options.params ?? {};
    this.reasonKey = options.reason ?? null;
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

const REASON_BY_ERRCODE: Record<string, MessageKey> = {
  M_FORBIDDEN: "reason.forbidden",
  M_NOT_FOUND: "reason.notFound",
  M_LIMIT_EXCEEDED: "reason.rateLimited",
  M_UNKNOWN_TOKEN: "reason.sessionExpired",
  M_MISSING_TOKEN: "reason.sessionExpired",
  M_UNAUTHORIZED: "reason.sessionExpired",
  M_BAD_JSON: "reason.invalid",
  M_NOT_JSON: "reason.invalid",
  M_INVALID_PARAM: "reason.invalid",
  M_TOO_LARGE: "reason.invalid",
  [ERRCODE.serverDown]: "reason.unreachable",
};

const REASON_BY_NAME: Record<string, MessageKey> = {
  // fetch's network failure, matrix-js-sdk's, and a timeout.
  TypeError: "reason.unreachable",
  ConnectionError: "reason.unreachable",
  TimeoutError: "reason.unreachable",
  // getUserMedia's.
  NotAllowedError: "reason.mediaDenied",
  SecurityError: "reason.mediaDenied",
  NotFoundError: "reason.noDevice",
  OverconstrainedError: "reason.noDevice",
  NotReadableError: "reason.deviceBusy",
};

/** What failed, in plain words, from an error of any origin (a Matrix error, fetch, the browser's media). */
export function reasonOf(error: unknown): MessageKey {
  const fields = (typeof error === "object" && error !== null ? error : {}) as { errcode?: unknown; httpStatus?: unknown; name?: unknown };
  const byErrcode = typeof fields.errcode === "string" ? REASON_BY_ERRCODE[fields.errcode] : undefined;
  if (byErrcode !== undefined) return byErrcode;
  if (typeof fields.httpStatus === "number" && fields.httpStatus >= 500) return "reason.unreachable";
  return (typeof fields.name === "string" ? REASON_BY_NAME[fields.name] : undefined) ?? "reason.unknown";
}

/** Any thrown value as a VisioError, so the interface always has something translatable to show. */
export function asVisioError(error: unknown): VisioError {
  if (error instanceof VisioError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const errcode = typeof (error as { errcode?: unknown })?.errcode === "string" ? (error as { errcode: string }).errcode : ERRCODE.unknown;
  return new VisioError(errcode, "error.generic", { reason: reasonOf(error), cause: error, detail: message });
}
