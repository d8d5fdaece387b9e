// The one error a server-side process gets from a homeserver request: what was asked (method and
// path, never the token, the query or the user acted as), what came back, and how many tries it took.
import { isRetryableStatus } from "./retry-policy.ts";

export class MatrixHttpError extends Error {
  /** The HTTP status answered; 0 when no answer came (network error, timeout). */
  readonly status: number;
  /** The Matrix errcode of the answer, when it had one. */
  readonly errcode: string | undefined;
  /** How long the server asked to wait before trying again (429), when it did. */
  readonly requestedDelayMs: number | undefined;

  constructor(message: string, status: number, errcode?: string, requestedDelayMs?: number) {
    super(message);
    this.name = "MatrixHttpError";
    this.status = status;
    this.errcode = errcode;
    this.requestedDelayMs = requestedDelayMs;
  }

  /** Rate limited, a server failure or no answer: the same request may succeed later. */
  get retryable(): boolean {
    return this.status === 0 || isRetryableStatus(this.status);
  }
}
