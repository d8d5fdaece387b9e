// The Client-Server API as the server-side processes call it (the appservice's bot, the transcription
// worker): one token per client (an appservice's as_token, or an account's access token), optionally
// acting as a user of the appservice's namespace (`?user_id=`, the Application Service API's identity
// assertion), JSON or raw bodies, a timeout per try, and the one retry policy (retry-policy.ts).
// Requests are retried as they are: a PUT keeps its transaction ID, so the homeserver applies it once.
import { MatrixHttpError } from "./matrix-http-error.ts";
import { isRetryableStatus, requestedDelayMs, retry, retryPolicy, sleepMs, type RetryPolicy } from "./retry-policy.ts";

/** The part of `fetch` the client uses (tests pass a fake). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string | Uint8Array<ArrayBuffer> | undefined; signal: AbortSignal },
) => Promise<Response>;

export interface MatrixHttpClientOptions {
  homeserverUrl: string;
  /** An appservice's as_token, or a plain account's access token. */
  accessToken: string;
  /** The appservice user every request acts as (unless it says otherwise); absent: the token's own user. */
  userId?: string;
  fetch?: FetchLike;
  sleep?(ms: number): Promise<void>;
  retry?: Partial<RetryPolicy>;
  /** How long one try may take before it counts as no answer; 30 s when absent. */
  requestTimeoutMs?: number;
}

export interface MatrixRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path segments after the homeserver URL, each URL-encoded here (["_matrix", "client", "v3", "rooms", roomId]). */
  path: readonly string[];
  /** A list repeats its key (`server_name=a&server_name=b`). */
  query?: Readonly<Record<string, string | readonly string[] | undefined>>;
  json?: unknown;
  /** A raw body (an upload), with its content type. */
  bytes?: { data: Uint8Array<ArrayBuffer>; contentType: string };
  /** false: as the token's own user, without `user_id` (an appservice registering the user it will act as). */
  masquerade?: boolean;
  /** Tries in all for this request, when not the policy's (1: a request too costly to repeat). */
  attempts?: number;
  /** This request's timeout per try, when not the client's (a large download). */
  timeoutMs?: number;
}

interface MatrixErrorFields {
  errcode?: unknown;
  error?: unknown;
  retry_after_ms?: unknown;
}

export class MatrixHttpClient {
  readonly #options: MatrixHttpClientOptions;
  readonly #policy: RetryPolicy;
  #ownUserId: Promise<string> | null = null;

  constructor(options: MatrixHttpClientOptions) {
    if (!/^https?:\/\//.test(options.homeserverUrl)) throw new TypeError("the homeserver URL must be an http:// or https:// URL");
    if (options.accessToken === "") throw new TypeError("the homeserver access token is empty");
    this.#options = options;
    this.#policy = retryPolicy(options.retry);
  }

  /** The user acted as, when the client acts as one. */
  get userId(): string | undefined {
    return this.#options.userId;
  }

  /** The answer's JSON body (an empty object when it has none). */
  async request<T = Record<string, unknown>>(request: MatrixRequest): Promise<T> {
    const res = await this.#send(request);
    const text = await res.text();
    try {
      return (text === "" ? {} : JSON.parse(text)) as T;
    } catch {
      return {} as T;
    }
  }

  /** The body of a successful answer as it streams in (a media download), tried like request(). */
  async requestStream(request: MatrixRequest): Promise<ReadableStream<Uint8Array>> {
    const res = await this.#send(request);
    if (res.body === null) throw new MatrixHttpError(`${describe(request)}: ${res.status} with no body`, res.status);
    return res.body;
  }

  /** The user the requests act as: the one given, else the token's own, asked once (`whoami`). */
  ownUserId(): Promise<string> {
    if (this.#options.userId !== undefined) return Promise.resolve(this.#options.userId);
    if (this.#ownUserId === null) {
      const asked = this.request<{ user_id?: unknown }>({ method: "GET", path: ["_matrix", "client", "v3", "account", "whoami"] }).then((res) => {
        if (typeof res.user_id !== "string") throw new MatrixHttpError("GET /_matrix/client/v3/account/whoami: the answer has no user_id", 200);
        return res.user_id;
      });
      this.#ownUserId = asked;
      asked.catch(() => {
        if (this.#ownUserId === asked) this.#ownUserId = null;
      });
    }
    return this.#ownUserId;
  }

  async #send(request: MatrixRequest): Promise<Response> {
    const { accessToken, requestTimeoutMs = 30_000 } = this.#options;
    const doFetch = this.#options.fetch ?? fetch;
    const headers: Record<string, string> = { authorization: `Bearer ${accessToken}` };
    let body: string | Uint8Array<ArrayBuffer> | undefined;
    if (request.bytes !== undefined) {
      headers["content-type"] = request.bytes.contentType;
      body = request.bytes.data;
    } else if (request.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(request.json);
    }
    const url = this.#url(request);
    const what = describe(request);
    const policy = request.attempts === undefined ? this.#policy : { ...this.#policy, attempts: request.attempts };
    return retry(
      async (attempt) => {
        const tries = attempt > 1 ? ` (${attempt} tries)` : "";
        let res: Response;
        try {
          res = await doFetch(url, { method: request.method, headers, body, signal: AbortSignal.timeout(request.timeoutMs ?? requestTimeoutMs) });
        } catch (err) {
          throw new MatrixHttpError(`${what}: no answer: ${networkReason(err)}${tries}`, 0);
        }
        if (res.ok) return res;
        const answer = await errorFields(res);
        const errcode = typeof answer.errcode === "string" ? answer.errcode : undefined;
        const reason = typeof answer.error === "string" ? answer.error : res.statusText;
        const wait = isRetryableStatus(res.status) ? requestedDelayMs(answer, res.headers.get("retry-after")) : undefined;
        throw new MatrixHttpError(`${what}: ${res.status} ${errcode ?? "error"}: ${reason}${tries}`, res.status, errcode, wait);
      },
      policy,
      (err) => (err instanceof MatrixHttpError && err.retryable ? { retry: true, requestedMs: err.requestedDelayMs } : { retry: false }),
      this.#options.sleep ?? sleepMs,
    );
  }

  #url(request: MatrixRequest): string {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (typeof value === "string") query.append(key, value);
      else for (const item of value ?? []) query.append(key, item);
    }
    const { userId } = this.#options;
    if (userId !== undefined && request.masquerade !== false) query.set("user_id", userId);
    const search = query.size > 0 ? `?${query.toString()}` : "";
    return `${this.#options.homeserverUrl.replace(/\/+$/, "")}/${request.path.map(encodeURIComponent).join("/")}${search}`;
  }
}

/**
 * The request as errors name it: the method and the API's first path segments, never the query (the
 * user acted as, a file name) nor the IDs that follow.
 */
function describe(request: MatrixRequest): string {
  const shown = request.path.slice(0, 4).join("/");
  return `${request.method} /${shown}${request.path.length > 4 ? "/…" : ""}`;
}

async function errorFields(res: Response): Promise<MatrixErrorFields> {
  try {
    const parsed: unknown = JSON.parse(await res.text());
    return typeof parsed === "object" && parsed !== null ? (parsed as MatrixErrorFields) : {};
  } catch {
    return {};
  }
}

/** Why a fetch got no answer, with the system's code where Node gives one ("fetch failed (ECONNREFUSED)"). */
function networkReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? `${err.message} (${code})` : err.message;
}
