// Starts a ministry's identity provider (oidc-provider-server.ts) on its host, registers its
// homeserver as the one client, and gives the `oidc_providers` entry for that homeserver's config.
// Test bed and demo alike: the provider listens on the ministry's address, where both its Synapse
// (token, keys, userinfo) and a browser of the ministry (the login page) reach it.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Host } from "./network.ts";
import type { IdentityProviderAccount, IdentityProviderConfig } from "./oidc-provider-server.ts";
import type { ManagedProcess, ProcessGroup } from "./processes.ts";
import { waitUntil } from "./wait.ts";

export type { IdentityProviderAccount } from "./oidc-provider-server.ts";

const SERVER = fileURLToPath(new URL("./oidc-provider-server.ts", import.meta.url));
/** Synapse names the provider `oidc-<idp_id>` in its login flows and SSO URLs. */
export const SYNAPSE_IDP_ID = "annuaire";

export interface IdentityProvider {
  issuer: string;
  /** What Synapse calls it, and so what the sign-in button says. */
  name: string;
  accounts: readonly IdentityProviderAccount[];
  /** The `oidc_providers` entry of the homeserver it was started for. */
  synapseConfig: Record<string, unknown>;
  process: ManagedProcess;
}

export interface IdentityProviderOptions {
  host: Host & { idpPort: number };
  dir: string;
  processes: ProcessGroup;
  /** The homeserver's public_baseurl, with its trailing slash: where the provider sends users back. */
  homeserverPublicBaseurl: string;
}

// One account per ministry provider; a fresh password each run, printed by the demo and read by tests.
function accountsFor(host: Host): IdentityProviderAccount[] {
  const ministry = host.serverName.split(/[.:]/)[0] ?? "ministère";
  return [{ username: "camille.martin", name: `Camille Martin (${ministry})`, password: randomBytes(9).toString("base64url") }];
}

export async function startIdentityProvider(options: IdentityProviderOptions): Promise<IdentityProvider> {
  const { host, dir, processes } = options;
  await mkdir(dir, { recursive: true });
  // Plain HTTP, as the demo's homeservers are on loopback: a browser there trusts no test CA.
  const issuer = `http://${host.namespace === null ? host.address : host.hostname}:${host.idpPort}`;
  const name = `Annuaire ${host.serverName}`;
  const clientId = `synapse-${host.hostname}`;
  const clientSecret = randomBytes(24).toString("hex");
  const accounts = accountsFor(host);
  const config: IdentityProviderConfig = {
    issuer,
    listenAddress: host.address,
    port: host.idpPort,
    title: name,
    clients: [{ clientId, clientSecret, redirectUris: [`${options.homeserverPublicBaseurl}_synapse/client/oidc/callback`] }],
    accounts,
  };
  const configPath = join(dir, "oidc-provider.json");
  await writeFile(configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
  const child = processes.spawnOn(host.namespace, `oidc-provider-${host.hostname}-${host.idpPort}`, process.execPath, [SERVER, configPath], { cwd: dir });
  // The runner cannot reach the ministries' shared network: the process says when it listens.
  await waitUntil(`identity provider ${issuer}`, async () => readFileSync(child.logPath, "utf8").includes("oidc-provider listening"), {
    timeoutMs: 30_000,
    intervalMs: 100,
    abortIf: child.exitDescription,
    hint: `see ${child.logPath}`,
  });

  const synapseConfig = {
    idp_id: SYNAPSE_IDP_ID,
    idp_name: name,
    issuer,
    client_id: clientId,
    client_secret: clientSecret,
    client_auth_method: "client_secret_post",
    pkce_method: "always",
    scopes: ["openid", "profile"],
    // The provider keeps profile claims out of the ID token of a code flow (as the spec says):
    // they come from userinfo.
    user_profile_method: "userinfo_endpoint",
    // Only because the issuer is plain HTTP (see above); a real provider is HTTPS and verified.
    skip_verification: true,
    user_mapping_provider: {
      config: { localpart_template: "{{ user.preferred_username }}", display_name_template: "{{ user.name }}" },
    },
  };
  return { issuer, name, accounts, synapseConfig, process: child };
}
