// The bridge's Matrix client, as narrow as the poster needs: `PUT /rooms/{roomId}/send/{type}/{txnId}`
// with an access token. The homeserver deduplicates per txnId, so retrying a send is safe; 429 and 5xx
// answers are retried a few times, after the server's retry_after_ms when it gives one.
import type { MatrixErrorBody } from "../../../wire-types.ts";
import type { MatrixEventSender } from "./transcript-poster.ts";

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<Response>;

export interface MatrixSenderOptions {
  homeserverUrl: string;
  accessToken: string;
  fetch?: FetchLike;
  sleep?(ms: number): Promise<void>;
  /** Tries per event, first one included. */
  attempts?: number;
  /** Wait before a retry when the server names none; doubles per retry. */
  backoffMs?: number;
  requestTimeoutMs?: number;
}

export class MatrixSendError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.name = "MatrixSendError";
    this.status = status;
  }
}

const retryable = (status: number): boolean => status === 429 || status >= 500;

export class MatrixSender implements MatrixEventSender {
  #options: MatrixSenderOptions;

  constructor(options: MatrixSenderOptions) {
    this.#options = options;
  }

  async sendEvent(roomId: string, type: string, content: Record<string, unknown>, txnId: string): Promise<string> {
    const { homeserverUrl, accessToken, attempts = 4, backoffMs = 500, requestTimeoutMs = 30_000 } = this.#options;
    const doFetch = this.#options.fetch ?? fetch;
    const sleep = this.#options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const path = ["rooms", roomId, "send", type, txnId].map(encodeURIComponent).join("/");
    const url = `${homeserverUrl.replace(/\/+$/, "")}/_matrix/client/v3/${path}`;
    for (let attempt = 1; ; attempt += 1) {
      let status = 0;
      let message: string;
      let retryAfterMs: number | undefined;
      try {
        const res = await doFetch(url, {
          method: "PUT",
          headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
          body: JSON.stringify(content),
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
        status = res.status;
        const body = (await res.json().catch(() => ({}))) as Partial<MatrixErrorBody> & { event_id?: unknown };
        if (res.ok && typeof body.event_id === "string") return body.event_id;
        message = res.ok ? "answer has no event_id" : `${body.errcode ?? "error"}: ${body.error ?? res.statusText}`;
        retryAfterMs = typeof body.retry_after_ms === "number" ? body.retry_after_ms : undefined;
        if (!retryable(status)) throw new MatrixSendError(`sending ${type} to ${roomId}: ${status} ${message}`, status);
      } catch (err) {
        if (err instanceof MatrixSendError) throw err;
        // Network errors and timeouts: the event may or may not have landed; the txnId makes a retry safe.
        message = err instanceof Error ? err.message : String(err);
      }
      if (attempt >= attempts) throw new MatrixSendError(`sending ${type} to ${roomId}: ${status || "no answer"} ${message} (${attempt} tries)`, status);
      await sleep(retryAfterMs ?? backoffMs * 2 ** (attempt - 1));
    }
  }
}
