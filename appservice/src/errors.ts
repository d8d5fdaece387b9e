// One error type for every HTTP API of the appservice, one middleware that renders it.
import type { Middleware } from "koa";
import type { MatrixErrorBody } from "../../config/wire-types.ts";
import type { Logger } from "./log.ts";

const STATUS_BY_ERRCODE = {
  M_BAD_JSON: 400,
  M_NOT_JSON: 400,
  M_INVALID_PARAM: 400,
  M_TOO_LARGE: 413,
  M_MISSING_TOKEN: 401,
  M_UNKNOWN_TOKEN: 401,
  M_UNAUTHORIZED: 401,
  M_FORBIDDEN: 403,
  M_NOT_FOUND: 404,
  M_UNRECOGNIZED: 404,
  M_LIMIT_EXCEEDED: 429,
  M_UNKNOWN: 500,
  M_UNAVAILABLE: 503,
  // Transcription control: the room is already / not transcribed (a state conflict, not bad input),
  // and a room this appservice follows but did not create (another ministry's appservice controls it).
  "ORG.VISIO.TRANSCRIPTION_ACTIVE": 409,
  "ORG.VISIO.TRANSCRIPTION_INACTIVE": 409,
  "ORG.VISIO.ROOM_NOT_HOSTED": 404,
  // Breakout groups: already running / none running.
  "ORG.VISIO.BREAKOUTS_ACTIVE": 409,
  "ORG.VISIO.BREAKOUTS_INACTIVE": 409,
} as const;

export type Errcode = keyof typeof STATUS_BY_ERRCODE;

/**
 * Why a request was refused, for the bot's replies in the server's language (the error's message is
 * the API's, in English). Parameters fill the sentence.
 */
export interface Refusal {
  reason:
    | "server_not_allowed"
    | "not_joined"
    | "power_level"
    | "already_transcribed"
    | "not_transcribed"
    | "command_usage"
    | "bad_language"
    | "not_a_recording"
    | "encrypted_recording"
    | "no_media"
    | "recording_too_large"
    | "no_such_message";
  params?: Record<string, string | number>;
}

export class MatrixError extends Error {
  readonly errcode: Errcode;
  readonly status: number;
  /** For M_LIMIT_EXCEEDED: when the client may try again. */
  readonly retryAfterMs: number | undefined;
  /** Set where the bot may answer the refusal in a chat reply. */
  readonly refusal: Refusal | undefined;
  constructor(errcode: Errcode, message: string, retryAfterMs?: number, refusal?: Refusal) {
    super(message);
    this.name = "MatrixError";
    this.errcode = errcode;
    this.status = STATUS_BY_ERRCODE[errcode];
    this.retryAfterMs = retryAfterMs;
    this.refusal = refusal;
  }

  toBody(): MatrixErrorBody {
    return { errcode: this.errcode, error: this.message, ...(this.retryAfterMs === undefined ? {} : { retry_after_ms: this.retryAfterMs }) };
  }
}

/**
 * The Matrix error to answer for anything a handler threw, logged in one short line: unexpected
 * errors become a bare M_UNKNOWN (their details go to the log, never to the client).
 */
export function matrixErrorFor(err: unknown, log: Logger, request: { method: string; path: string }): MatrixError {
  const error = err instanceof MatrixError ? err : new MatrixError("M_UNKNOWN", "Internal server error");
  if (error.status >= 500) log.error("request failed", { ...request, err });
  else log.info("request refused", { ...request, errcode: error.errcode, reason: error.message });
  return error;
}

/** Renders any thrown error as a Matrix error body (see matrixErrorFor). */
export function errorMiddleware(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new MatrixError("M_UNRECOGNIZED", "Unrecognized request");
      }
    } catch (err) {
      const error = matrixErrorFor(err, log, { method: ctx.method, path: ctx.path });
      ctx.status = error.status;
      ctx.body = error.toBody();
    }
  };
}
