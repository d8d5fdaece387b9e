// The bridge's Matrix client, as narrow as the bridge needs. It authenticates with the worker's own
// appservice token (a registration whose namespace is the bridge's user alone) and acts as that user
// (`?user_id=`), so the bridge has no password or device of its own. Requests that may be repeated safely (reads, joins, txnId sends,
// uploads) are retried a few times on 429 (after the server's retry_after_ms), 5xx and network errors.
import { open } from "node:fs/promises";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { BOT_MEMBER_KEY, type MatrixErrorBody } from "../../../config/wire-types.ts";
import type { MatrixEventSender } from "./transcript-poster.ts";

export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string | Uint8Array<ArrayBuffer> | undefined; signal: AbortSignal },
) => Promise<Response>;

export interface MatrixClientOptions {
  homeserverUrl: string;
  /** The worker's appservice token (or, for a plain account, its access token). */
  accessToken: string;
  /** The appservice user to act as; absent for a plain account. */
  userId?: string;
  fetch?: FetchLike;
  sleep?(ms: number): Promise<void>;
  /** Tries per request, first one included. */
  attempts?: number;
  /** Wait before a retry when the server names none; doubles per retry. */
  backoffMs?: number;
  requestTimeoutMs?: number;
}

export class MatrixRequestError extends Error {
  readonly status: number;
  readonly errcode: string | undefined;
  constructor(message: string, status: number, errcode?: string) {
    super(message);
    this.name = "MatrixRequestError";
    this.status = status;
    this.errcode = errcode;
  }
}

export interface MatrixRequest {
  method: "GET" | "POST" | "PUT";
  /** Path segments after the homeserver URL, each URL-encoded here (e.g. ["_matrix", "client", "v3", "rooms", roomId]). */
  path: readonly string[];
  query?: Record<string, string | undefined>;
  json?: unknown;
  /** Raw body (an upload), with its content type. */
  bytes?: { data: Uint8Array<ArrayBuffer>; contentType: string };
  /** false: as the appservice itself, without `user_id` (registering the user it will act as). */
  masquerade?: boolean;
}

const retryable = (status: number): boolean => status === 429 || status >= 500;

export class MatrixClient implements MatrixEventSender {
  #options: MatrixClientOptions;

  constructor(options: MatrixClientOptions) {
    this.#options = options;
  }

  get userId(): string | undefined {
    return this.#options.userId;
  }

  async request<T = Record<string, unknown>>(request: MatrixRequest): Promise<T> {
    const { homeserverUrl, accessToken, userId, attempts = 4, backoffMs = 500, requestTimeoutMs = 30_000 } = this.#options;
    const doFetch = this.#options.fetch ?? fetch;
    const sleep = this.#options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) query.set(key, value);
    if (userId !== undefined && request.masquerade !== false) query.set("user_id", userId);
    const search = query.size > 0 ? `?${query.toString()}` : "";
    const url = `${homeserverUrl.replace(/\/+$/, "")}/${request.path.map(encodeURIComponent).join("/")}${search}`;
    const headers: Record<string, string> = { authorization: `Bearer ${accessToken}` };
    let body: string | Uint8Array<ArrayBuffer> | undefined;
    if (request.bytes !== undefined) {
      headers["content-type"] = request.bytes.contentType;
      body = request.bytes.data;
    } else if (request.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(request.json);
    }
    // Never the user_id or token in messages: the path without the query names the request well enough.
    const what = `${request.method} /${request.path.slice(0, 4).join("/")}/…`;
    for (let attempt = 1; ; attempt += 1) {
      let status = 0;
      let message: string;
      let retryAfterMs: number | undefined;
      try {
        const res = await doFetch(url, { method: request.method, headers, body, signal: AbortSignal.timeout(requestTimeoutMs) });
        status = res.status;
        const answer = (await res.json().catch(() => ({}))) as Partial<MatrixErrorBody> & Record<string, unknown>;
        if (res.ok) return answer as T;
        message = `${answer.errcode ?? "error"}: ${answer.error ?? res.statusText}`;
        retryAfterMs = typeof answer.retry_after_ms === "number" ? answer.retry_after_ms : undefined;
        if (!retryable(status)) throw new MatrixRequestError(`${what}: ${status} ${message}`, status, answer.errcode);
      } catch (err) {
        if (err instanceof MatrixRequestError) throw err;
        // Network errors and timeouts: the request may or may not have landed; only idempotent requests come here.
        message = err instanceof Error ? err.message : String(err);
      }
      if (attempt >= attempts) throw new MatrixRequestError(`${what}: ${status || "no answer"} ${message} (${attempt} tries)`, status);
      await sleep(retryAfterMs ?? backoffMs * 2 ** (attempt - 1));
    }
  }

  /** `PUT /rooms/{roomId}/send/{type}/{txnId}`: the homeserver deduplicates per txnId, so retries are safe. */
  async sendEvent(roomId: string, type: string, content: Record<string, unknown>, txnId: string): Promise<string> {
    const answer = await this.request<{ event_id?: unknown }>({
      method: "PUT",
      path: ["_matrix", "client", "v3", "rooms", roomId, "send", type, txnId],
      json: content,
    });
    if (typeof answer.event_id !== "string") throw new MatrixRequestError(`sending ${type}: the answer has no event_id`, 200);
    return answer.event_id;
  }

  /** `POST /_matrix/media/v3/upload`: the content's mxc:// URI. */
  async upload(data: Uint8Array<ArrayBuffer>, contentType: string, filename: string): Promise<string> {
    const answer = await this.request<{ content_uri?: unknown }>({
      method: "POST",
      path: ["_matrix", "media", "v3", "upload"],
      query: { filename },
      bytes: { data, contentType },
    });
    if (typeof answer.content_uri !== "string") throw new MatrixRequestError("upload: the answer has no content_uri", 200);
    return answer.content_uri;
  }

  /**
   * Downloads an mxc:// media into a file (the authenticated media API), streaming: refused with a
   * MatrixRequestError (status 413) past `maxBytes`, whatever the server announced.
   */
  async downloadToFile(mxc: string, path: string, maxBytes: number): Promise<number> {
    const match = /^mxc:\/\/([^/]+)\/([^/]+)$/.exec(mxc);
    if (match === null) throw new MatrixRequestError(`not an mxc:// URI`, 400);
    const [, server = "", mediaId = ""] = match;
    const { homeserverUrl, accessToken, userId, attempts = 4, backoffMs = 500, requestTimeoutMs = 30_000 } = this.#options;
    const query = userId !== undefined ? `?${new URLSearchParams({ user_id: userId }).toString()}` : "";
    const url = `${homeserverUrl.replace(/\/+$/, "")}/_matrix/client/v1/media/download/${encodeURIComponent(server)}/${encodeURIComponent(mediaId)}${query}`;
    const doFetch = this.#options.fetch ?? fetch;
    const sleep = this.#options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    for (let attempt = 1; ; attempt += 1) {
      let status = 0;
      let message: string;
      try {
        const res = await doFetch(url, {
          method: "GET",
          headers: { authorization: `Bearer ${accessToken}` },
          body: undefined,
          signal: AbortSignal.timeout(requestTimeoutMs * 10),
        });
        status = res.status;
        if (res.ok && res.body !== null) return await writeLimited(res.body, path, maxBytes);
        const answer = (await res.json().catch(() => ({}))) as Partial<MatrixErrorBody>;
        message = `${answer.errcode ?? "error"}: ${answer.error ?? res.statusText}`;
        if (!retryable(status)) throw new MatrixRequestError(`downloading the media: ${status} ${message}`, status, answer.errcode);
      } catch (err) {
        if (err instanceof MatrixRequestError) throw err;
        message = err instanceof Error ? err.message : String(err);
      }
      if (attempt >= attempts) throw new MatrixRequestError(`downloading the media: ${status || "no answer"} ${message} (${attempt} tries)`, status);
      await sleep(backoffMs * 2 ** (attempt - 1));
    }
  }

  /**
   * Joins a room (a no-op when already joined), the membership marked as a bot's (BOT_MEMBER_KEY) so
   * that clients do not count the bridge among the people; join takes no custom fields, so the
   * membership is rewritten with the flag, keeping what was there.
   */
  async joinRoom(roomId: string): Promise<void> {
    await this.request({ method: "POST", path: ["_matrix", "client", "v3", "rooms", roomId, "join"], json: {} });
    const userId = this.#options.userId ?? (await this.request<{ user_id: string }>({ method: "GET", path: ["_matrix", "client", "v3", "account", "whoami"] })).user_id;
    const path = ["_matrix", "client", "v3", "rooms", roomId, "state", "m.room.member", userId];
    const current = await this.request({ method: "GET", path });
    if (current[BOT_MEMBER_KEY] === true) return;
    await this.request({ method: "PUT", path, json: { ...current, membership: "join", [BOT_MEMBER_KEY]: true } });
  }

  /**
   * Registers the appservice user (`m.login.application_service`); one that exists already is fine.
   * Synapse only lets an appservice act as users it has registered.
   */
  async ensureRegistered(localpart: string): Promise<void> {
    try {
      await this.request({
        method: "POST",
        path: ["_matrix", "client", "v3", "register"],
        masquerade: false,
        json: { type: "m.login.application_service", username: localpart, inhibit_login: true },
      });
    } catch (err) {
      if (err instanceof MatrixRequestError && err.errcode === "M_USER_IN_USE") return;
      throw err;
    }
  }
}

async function writeLimited(body: ReadableStream<Uint8Array>, path: string, maxBytes: number): Promise<number> {
  const file = await open(path, "w", 0o600);
  let written = 0;
  try {
    for await (const chunk of Readable.fromWeb(body as NodeReadableStream<Uint8Array>) as AsyncIterable<Uint8Array>) {
      written += chunk.byteLength;
      if (written > maxBytes) {
        throw new MatrixRequestError(`the media is larger than ${maxBytes} bytes, the most the transcription service takes`, 413, "M_TOO_LARGE");
      }
      await file.write(chunk);
    }
  } finally {
    await file.close();
  }
  return written;
}
