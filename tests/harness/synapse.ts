import { createHmac, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import yaml from "js-yaml";
import { WELL_KNOWN_APPSERVICE_KEY, type WellKnownAppservice } from "../../config/wire-types.ts";
import type { Host } from "./network.ts";
import type { ManagedProcess, ProcessGroup } from "./processes.ts";
import { httpStatus, waitUntil } from "./wait.ts";

const STARTUP_TIMEOUT_MS = 120_000;

export interface SynapseOptions {
  python: string;
  // Its federationPort (TLS) and controlPort (plain-HTTP client listener, for the runner).
  host: Host;
  dir: string;
  // ip_range_whitelist: the addresses federation may connect to (FEDERATION_WHITELIST).
  federationWhitelist: readonly string[];
  caCertPath: string;
  certPath: string;
  keyPath: string;
  appserviceConfigFiles: readonly string[];
  rtcTransportUrl: string;
  // The ministry's appservice (transcription control), for `.well-known/matrix/client`; default: where
  // the test bed runs it (the host's address and appservice port).
  appserviceUrl?: string;
  // What clients are told to use (login's well_known): the TLS listener unless given.
  publicBaseurl?: string;
  // Single sign-on: `oidc_providers` entries, and the client URLs that a signed-in user is sent back
  // to without Synapse's "continue to your application?" page.
  sso?: { oidcProviders: readonly Record<string, unknown>[]; clientWhitelist: readonly string[] };
  // PostgreSQL instead of SQLite: what a homeserver with workers needs (a database made with the C
  // locale, which Synapse checks at start).
  postgres?: SynapsePostgres;
  // Workers: the processes share a Redis for the replication stream, and the main process serves the
  // workers' replication HTTP calls on the host's loopback (instance_map.main).
  replication?: SynapseReplication;
  processes: ProcessGroup;
}

export interface SynapsePostgres {
  host: string;
  port: number;
  user: string;
  database: string;
}

export interface SynapseReplication {
  redis: { host: string; port: number };
  /** The main process's replication listener, on 127.0.0.1 of the host. */
  port: number;
  /** worker_replication_secret: what workers show the main process's replication listener. */
  secret: string;
}

/** The public_baseurl startSynapse gives a host, with its trailing slash. */
export function synapsePublicBaseurl(host: Host, publicBaseurl?: string): string {
  return publicBaseurl ?? `https://${host.hostname}:${host.federationPort}/`;
}

export interface RegisteredUser {
  userId: string;
  accessToken: string;
  deviceId: string;
}

export interface SynapseServer {
  serverName: string;
  namespace: string | null;
  address: string;
  controlAddress: string;
  // Base URL the test runner uses for the client-server API (plain HTTP, control link).
  clientUrl: string;
  // What other homeservers and in-namespace clients use: TLS, real name, verified by the run's CA.
  federationUrl: string;
  registrationSharedSecret: string;
  configPath: string;
  logPath: string;
  process: ManagedProcess;
  registerUser(localpart: string, options?: { admin?: boolean; password?: string }): Promise<RegisteredUser>;
  /** Stops it (if still running) and starts it again on the same config and database. */
  restart(): Promise<SynapseServer>;
}

// High enough that no test ever meets a limit, without switching the limiter code paths off.
const UNLIMITED = { per_second: 10_000, burst_count: 100_000 };

function rateLimits(): Record<string, unknown> {
  return {
    rc_message: UNLIMITED,
    rc_registration: UNLIMITED,
    rc_registration_token_validity: UNLIMITED,
    rc_login: { address: UNLIMITED, account: UNLIMITED, failed_attempts: UNLIMITED },
    rc_joins: { local: UNLIMITED, remote: UNLIMITED },
    rc_joins_per_room: UNLIMITED,
    rc_invites: { per_room: UNLIMITED, per_user: UNLIMITED, per_issuer: UNLIMITED },
    rc_third_party_invite: UNLIMITED,
    rc_room_creation: UNLIMITED,
    rc_delayed_event_mgmt: UNLIMITED,
    rc_key_requests: UNLIMITED,
    rc_media_create: UNLIMITED,
    rc_presence: { per_user: UNLIMITED },
    rc_profile: UNLIMITED,
    rc_reports: UNLIMITED,
    rc_user_directory: UNLIMITED,
    rc_admin_redaction: UNLIMITED,
    rc_federation: { window_size: 1000, sleep_limit: 100_000, sleep_delay: 1, reject_limit: 100_000, concurrent: 1000 },
    federation_rr_transactions_per_room_per_second: 10_000,
  };
}

// Shared by the main process and its workers (they read the same file): Redis carries the replication
// stream; the main process's replication listener answers the workers' HTTP calls (sending events,
// registering users). Everything not handed to a worker stays on the main process, appservice
// transactions included (notify_appservices_from_worker unset).
function replicationConfig(replication: SynapseReplication): Record<string, unknown> {
  return {
    redis: { enabled: true, host: replication.redis.host, port: replication.redis.port },
    instance_map: { main: { host: "127.0.0.1", port: replication.port } },
    worker_replication_secret: replication.secret,
  };
}

// Synapse's own key file format: "ed25519 <key id> <unpadded base64 seed>". Writing it ourselves
// saves a Python start (`--generate-keys`) per server.
function signingKeyFile(): string {
  const { privateKey } = generateKeyPairSync("ed25519");
  const der = privateKey.export({ format: "der", type: "pkcs8" });
  const seed = der.subarray(der.length - 32).toString("base64").replace(/=+$/, "");
  return `ed25519 a_${randomBytes(3).toString("hex")} ${seed}\n`;
}

export async function startSynapse(options: SynapseOptions): Promise<SynapseServer> {
  const { host, dir } = options;
  await mkdir(join(dir, "media"), { recursive: true });
  const signingKeyPath = join(dir, "signing.key");
  await writeFile(signingKeyPath, signingKeyFile(), { mode: 0o600 });
  const registrationSharedSecret = randomBytes(24).toString("hex");

  const config = {
    server_name: host.serverName,
    public_baseurl: synapsePublicBaseurl(host, options.publicBaseurl),
    pid_file: join(dir, "homeserver.pid"),
    report_stats: false,
    signing_key_path: signingKeyPath,
    tls_certificate_path: options.certPath,
    tls_private_key_path: options.keyPath,
    listeners: [
      {
        port: host.federationPort,
        bind_addresses: [host.address],
        type: "http",
        tls: true,
        x_forwarded: false,
        resources: [{ names: ["client", "federation"], compress: false }],
      },
      // Where real deployments serve the client `.well-known`: https://<server name>/ (port 443),
      // so that a person signs in by typing the server name alone. Only for server names without a
      // port, in the namespaces (on loopback, names carry their port).
      ...(host.namespace !== null && !host.serverName.includes(":")
        ? [{ port: 443, bind_addresses: [host.address], type: "http", tls: true, x_forwarded: false, resources: [{ names: ["client"], compress: false }] }]
        : []),
      {
        port: host.controlPort,
        bind_addresses: [host.controlAddress],
        type: "http",
        tls: false,
        x_forwarded: false,
        resources: [{ names: ["client"], compress: false }],
      },
      ...(options.replication === undefined
        ? []
        : [{ port: options.replication.port, bind_addresses: ["127.0.0.1"], type: "http", tls: false, x_forwarded: false, resources: [{ names: ["replication"], compress: false }] }]),
    ],
    database: options.postgres === undefined
      ? { name: "sqlite3", args: { database: join(dir, "homeserver.db") } }
      : { name: "psycopg2", args: { ...options.postgres, cp_min: 1, cp_max: 5 } },
    ...(options.replication === undefined ? {} : replicationConfig(options.replication)),
    media_store_path: join(dir, "media"),
    macaroon_secret_key: randomBytes(24).toString("hex"),
    form_secret: randomBytes(24).toString("hex"),
    registration_shared_secret: registrationSharedSecret,
    enable_registration: false,
    bcrypt_rounds: 4,
    federation_custom_ca_list: [options.caCertPath],
    federation_verify_certificates: true,
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    // The default blacklist covers private ranges and loopback: the ministries' addresses must be
    // allowed back in.
    ip_range_whitelist: [...options.federationWhitelist],
    // The default backs a failing peer off for 10 minutes: one slow start would poison a whole run.
    federation: { destination_min_retry_interval: "1s" },
    ...rateLimits(),
    app_service_config_files: [...options.appserviceConfigFiles],
    // MSC4143 transports endpoint; MSC4354 sticky events (m.rtc.member of Element Call's matrix_2_0 mode);
    // MSC4222 state_after in sync, which matrix-js-sdk asks for: without it a client applies the state
    // at the start of a forked timeline, and when people of two ministries join a call at once (the end
    // of breakout groups) its view of who is in the call goes wrong while the server's is right.
    experimental_features: { msc4143_enabled: true, msc4354_enabled: true, msc4222_enabled: true },
    // MatrixRTC focus discovery, both ways clients use: MSC4143's transports endpoint and the
    // client .well-known that Element Call reads.
    matrix_rtc: { transports: [{ type: "livekit", livekit_service_url: options.rtcTransportUrl }] },
    serve_client_wellknown: true,
    extra_well_known_client_content: {
      "org.matrix.msc4143.rtc_foci": [{ type: "livekit", livekit_service_url: options.rtcTransportUrl }],
      [WELL_KNOWN_APPSERVICE_KEY]: { url: options.appserviceUrl ?? `http://${host.address}:${host.appservicePort}` } satisfies WellKnownAppservice,
    },
    max_event_delay_duration: "24h",
    ...(options.sso === undefined
      ? {}
      : { oidc_providers: [...options.sso.oidcProviders], sso: { client_whitelist: [...options.sso.clientWhitelist] } }),
  };
  const configPath = join(dir, "homeserver.yaml");
  await writeFile(configPath, yaml.dump(config));
  return launchSynapse(options, configPath, registrationSharedSecret);
}

async function launchSynapse(options: SynapseOptions, configPath: string, registrationSharedSecret: string): Promise<SynapseServer> {
  const { host, dir } = options;
  const name = `synapse-${host.serverName.replaceAll(":", "-")}`;
  const child = options.processes.spawnOn(
    host.namespace,
    name,
    options.python,
    ["-m", "synapse.app.homeserver", "-c", configPath],
    { cwd: dir },
  );
  const clientUrl = `http://${host.controlAddress}:${host.controlPort}`;
  const waitOptions = {
    timeoutMs: STARTUP_TIMEOUT_MS,
    intervalMs: 300,
    abortIf: child.exitDescription,
    hint: `see ${child.logPath}`,
  };
  await waitUntil(
    `Synapse ${host.serverName} /health`,
    async () => (await httpStatus(`${clientUrl}/health`)).body === "OK",
    waitOptions,
  );
  await waitUntil(
    `Synapse ${host.serverName} /_matrix/client/versions`,
    async () => (await httpStatus(`${clientUrl}/_matrix/client/versions`)).status === 200,
    waitOptions,
  );

  return {
    serverName: host.serverName,
    namespace: host.namespace,
    address: host.address,
    controlAddress: host.controlAddress,
    clientUrl,
    federationUrl: `https://${host.hostname}:${host.federationPort}`,
    registrationSharedSecret,
    configPath,
    logPath: child.logPath,
    process: child,
    registerUser: (localpart, registerOptions = {}) =>
      registerWithSharedSecret(clientUrl, registrationSharedSecret, localpart, registerOptions),
    restart: async () => {
      await child.stop();
      return launchSynapse(options, configPath, registrationSharedSecret);
    },
  };
}

interface RegisterResponse {
  user_id: string;
  access_token: string;
  device_id: string;
}

async function registerWithSharedSecret(
  clientUrl: string,
  secret: string,
  localpart: string,
  options: { admin?: boolean; password?: string },
): Promise<RegisteredUser> {
  const url = `${clientUrl}/_synapse/admin/v1/register`;
  const nonceResponse = await fetch(url);
  if (!nonceResponse.ok) throw new Error(`registration nonce: HTTP ${nonceResponse.status}`);
  const { nonce } = (await nonceResponse.json()) as { nonce: string };
  const password = options.password ?? randomBytes(12).toString("hex");
  const admin = options.admin === true;
  const mac = createHmac("sha1", secret)
    .update([nonce, localpart, password, admin ? "admin" : "notadmin"].join("\0"))
    .digest("hex");
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ nonce, username: localpart, password, admin, mac }),
  });
  if (!response.ok) {
    throw new Error(`registering ${localpart}: HTTP ${response.status} ${await response.text()}`);
  }
  const body = (await response.json()) as RegisterResponse;
  return { userId: body.user_id, accessToken: body.access_token, deviceId: body.device_id };
}
