// A static file server for the built client (client/dist), for the demo and the bench: plain
// node:http, GET and HEAD only, no directory listings, nothing outside dist, the client's security
// headers on every answer.
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { clientSecurityHeaders } from "../../config/client-security-headers.ts";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
};

export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path)] ?? "application/octet-stream";
}

/** Resolves a URL path inside `root`, or null for anything that would leave it. */
export function fileInside(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split("?")[0] ?? "/");
  } catch {
    return null;
  }
  const relative = normalize(decoded === "/" ? "/index.html" : decoded);
  const path = join(root, relative);
  return path.startsWith(root.endsWith(sep) ? root : root + sep) ? path : null;
}

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

export async function serveStatic(root: string, host: string, port: number): Promise<StaticServer> {
  const security = clientSecurityHeaders({ plainHttp: true });
  const server: Server = createServer((req, res) => {
    for (const [name, value] of Object.entries(security)) res.setHeader(name, value);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const path = fileInside(root, req.url ?? "/");
    if (path === null) {
      res.writeHead(400).end();
      return;
    }
    readFile(path).then(
      (body) => {
        // Hashed asset names change with their content; index.html must always be fresh.
        const cache = path.endsWith("index.html") ? "no-cache" : "public, max-age=31536000, immutable";
        res.writeHead(200, { "content-type": contentTypeOf(path), "cache-control": cache, "content-length": body.length });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      () => res.writeHead(404, { "content-type": "text/plain" }).end("not found"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const actualPort = typeof address === "object" && address !== null ? address.port : port;
  return {
    url: `http://${host}:${actualPort}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
