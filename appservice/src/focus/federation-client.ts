// Just enough of Matrix server discovery and federation HTTPS to ask a homeserver about an OpenID token.
// No SRV lookups and no redirects: the ministries' homeservers publish either an explicit port or a
// `.well-known/matrix/server` delegation, and anything else fails closed.
import { request, Agent } from "node:https";
import { isIP } from "node:net";

/** Where to send federation requests for a server name, and which names TLS and Host must carry. */
export interface FederationTarget {
  /** Host to connect to; its certificate must be valid for this name. */
  host: string;
  port: number;
  /** Host header: the server name, or the delegated name from `.well-known` (Matrix spec §3.1). */
  hostHeader: string;
}

export interface JsonResponse {
  status: number;
  body: unknown;
}

/** One HTTPS GET returning JSON; the one network primitive of the verifier, so tests can fake it. */
export type FederationGet = (target: FederationTarget, path: string) => Promise<JsonResponse>;

/** Thrown for anything that kept us from getting an answer; `code` is a short, loggable cause. */
export class FederationRequestError extends Error {
  readonly code: string;
  readonly tls: boolean;
  constructor(message: string, code: string, tls: boolean) {
    super(message);
    this.name = "FederationRequestError";
    this.code = code;
    this.tls = tls;
  }
}

const DEFAULT_FEDERATION_PORT = 8448;
const MAX_RESPONSE_BYTES = 64 * 1024;
const SERVER_NAME = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(?::(\d{1,5}))?$/;

export interface ParsedServerName {
  host: string;
  port: number | null;
}

/** Splits a Matrix server name into host (IPv6 without brackets) and port; null when it is not one. */
export function parseServerName(serverName: string): ParsedServerName | null {
  const match = SERVER_NAME.exec(serverName);
  if (!match?.[1]) return null;
  const host = match[1].startsWith("[") ? match[1].slice(1, -1) : match[1];
  if (match[1].startsWith("[") && isIP(host) !== 6) return null;
  const port = match[2] === undefined ? null : Number(match[2]);
  if (port !== null && (port < 1 || port > 65535)) return null;
  return { host, port };
}

/**
 * Resolves a server name: explicit port → that; IP literal → 8448; otherwise the `m.server` of
 * `https://<host>/.well-known/matrix/server` (same rules for what it names), else <host>:8448.
 */
export async function resolveFederationTarget(serverName: string, get: FederationGet): Promise<FederationTarget> {
  const parsed = parseServerName(serverName);
  if (!parsed) throw new FederationRequestError("Not a server name", "BAD_SERVER_NAME", false);
  if (parsed.port !== null) return { host: parsed.host, port: parsed.port, hostHeader: serverName };
  if (isIP(parsed.host) !== 0) return { host: parsed.host, port: DEFAULT_FEDERATION_PORT, hostHeader: serverName };

  const delegated = await wellKnownServer(parsed.host, get);
  const target = delegated === null ? null : parseServerName(delegated);
  if (delegated === null || target === null) {
    return { host: parsed.host, port: DEFAULT_FEDERATION_PORT, hostHeader: serverName };
  }
  return { host: target.host, port: target.port ?? DEFAULT_FEDERATION_PORT, hostHeader: delegated };
}

async function wellKnownServer(host: string, get: FederationGet): Promise<string | null> {
  try {
    const res = await get({ host, port: 443, hostHeader: host }, "/.well-known/matrix/server");
    if (res.status !== 200 || typeof res.body !== "object" || res.body === null) return null;
    const server = (res.body as Record<string, unknown>)["m.server"];
    return typeof server === "string" ? server : null;
  } catch {
    // The spec treats a missing or broken well-known as "no delegation".
    return null;
  }
}

const TLS_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS|ERR_SSL|EPROTO/;

/**
 * HTTPS GET with certificate checks against `ca` (PEM; Node's built-in CAs when absent), one
 * timeout for the whole exchange and a response size limit. Keep-alive, since a handful of
 * homeservers answer all our requests.
 */
export function createFederationGet(options: { ca?: string | Buffer; timeoutMs: number }): FederationGet {
  const agent = new Agent({ keepAlive: true, maxSockets: 64, ...(options.ca ? { ca: options.ca } : {}) });
  const get = (target: FederationTarget, path: string, firstTry: boolean): Promise<JsonResponse> =>
    new Promise<JsonResponse>((resolve, reject) => {
      const fail = (err: unknown): void => {
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).name;
        // A kept-alive connection the server closed just as it was reused: the request never
        // reached it, and a GET may be sent again, once, on a new connection.
        if (firstTry && req.reusedSocket && (code === "ECONNRESET" || code === "EPIPE")) {
          resolve(get(target, path, false));
          return;
        }
        reject(new FederationRequestError("Federation request failed", code, TLS_ERROR.test(code)));
      };
      const req = request(
        {
          agent,
          host: target.host,
          port: target.port,
          path,
          method: "GET",
          // SNI must be a DNS name; for IP literals Node checks the certificate's IP SANs instead.
          ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
          headers: { host: target.hostHeader, accept: "application/json" },
          signal: AbortSignal.timeout(options.timeoutMs),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy();
              reject(new FederationRequestError("Federation response too large", "TOO_LARGE", false));
              return;
            }
            chunks.push(chunk);
          });
          res.on("error", fail);
          res.on("end", () => {
            let body: unknown = null;
            try {
              body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
            } catch {
              // A non-JSON answer is still an answer: the status says what happened.
            }
            resolve({ status: res.statusCode ?? 0, body });
          });
        },
      );
      req.on("error", fail);
      req.end();
    });
  return (target, path) => get(target, path, true);
}
