// nginx (Debian's) on a homeserver's federation address, routing by path between Synapse's worker
// and its main process, as an admin's reverse proxy does in production: the TLS ends here, the
// processes are reached over plain HTTP. Every request is logged with the upstream that served it.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Certificate } from "./ca.ts";
import type { ManagedProcess, ProcessGroup } from "./processes.ts";
import { waitUntil } from "./wait.ts";

const NGINX = "/usr/sbin/nginx";
const STARTUP_TIMEOUT_MS = 20_000;

/**
 * Federation paths that stay on the main process. Synapse's generic worker has no OpenID token
 * store (`'GenericWorkerStore' object has no attribute 'get_user_id_for_open_id_token'`, Synapse
 * 1.163.2; element-hq/synapse#11814), and the MatrixRTC focus checks every caller's OpenID token there.
 */
export const MAIN_PROCESS_FEDERATION_PATHS = ["/_matrix/federation/v1/openid/userinfo"] as const;

export interface FederationRouterOptions {
  namespace: string | null;
  /** Where other homeservers (and the focus) connect: the address and port of the server name. */
  listen: { address: string; port: number };
  certificate: Certificate;
  /** Plain-HTTP listeners with the federation resource: the worker's, the main process's. */
  worker: string;
  main: string;
  dir: string;
  processes: ProcessGroup;
}

export interface FederationRouter {
  logPath: string;
  process: ManagedProcess;
}

/** nginx's access log line for one request: `routed <method> <path> <status> <upstream address>`. */
export const ROUTED_LINE = /^routed (\S+) (\S+) (\d+) (\S+)$/;

export async function startFederationRouter(options: FederationRouterOptions): Promise<FederationRouter> {
  const { dir, listen } = options;
  await mkdir(join(dir, "temp"), { recursive: true });
  const exact = MAIN_PROCESS_FEDERATION_PATHS.map((path) => `    location = ${path} { proxy_pass ${options.main}; }`);
  const config = [
    "daemon off;",
    "worker_processes 1;",
    // Root, as every process of the test bed: its workers read nothing the master has not opened.
    "user root;",
    `pid ${join(dir, "nginx.pid")};`,
    "error_log stderr notice;",
    "events { worker_connections 256; }",
    "http {",
    "  log_format routed 'routed $request_method $uri $status $upstream_addr';",
    "  access_log /dev/stdout routed;",
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) => `  ${kind}_temp_path ${join(dir, "temp", kind)};`),
    "  server {",
    `    listen ${listen.address}:${listen.port} ssl;`,
    `    ssl_certificate ${options.certificate.certPath};`,
    `    ssl_certificate_key ${options.certificate.keyPath};`,
    "    client_max_body_size 50M;",
    "    proxy_http_version 1.1;",
    "    proxy_set_header Host $host;",
    "    proxy_set_header X-Forwarded-For $remote_addr;",
    ...exact,
    `    location /_matrix/federation/ { proxy_pass ${options.worker}; }`,
    `    location /_matrix/key/ { proxy_pass ${options.worker}; }`,
    `    location / { proxy_pass ${options.main}; }`,
    "  }",
    "}",
    "",
  ].join("\n");
  const configPath = join(dir, "nginx.conf");
  await writeFile(configPath, config);
  const child = options.processes.spawnOn(options.namespace, `nginx-${listen.address}-${listen.port}`, NGINX, ["-c", configPath, "-p", dir], { cwd: dir });
  // Ready once it has written its pid file (after binding its port); a bad config exits at once.
  await waitUntil(
    "nginx",
    async () => (await readFile(join(dir, "nginx.pid"), "utf8")).trim() !== "",
    { timeoutMs: STARTUP_TIMEOUT_MS, intervalMs: 100, abortIf: child.exitDescription, hint: `see ${child.logPath}` },
  );
  return { logPath: child.logPath, process: child };
}
