// The real appservice, one process per ministry inside its namespace, registered with its Synapse.
// Importing this module registers the appservices with the test bed (before it starts).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import yaml from "js-yaml";
import { parseConfig } from "../../config/load.ts";
import type { AppserviceConfig } from "../../config/schema.ts";
import { generateToken, registrationYaml } from "../../appservice/src/registration.ts";
import type { ManagedProcess } from "../harness/processes.ts";
import { configureTestbed, getTestbed, type MinistryName } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { HOSTS } from "../harness/network.ts";

// C shares B's namespace, so its appservice needs another port.
const PORTS: Record<MinistryName, number> = { a: 9000, b: 9000, c: 9002 };
const ALLOWLIST = [HOSTS.a.serverName, HOSTS.b.serverName];

interface Prepared {
  config: AppserviceConfig;
  configPath: string;
}
const prepared = new Map<string, Prepared>();

configureTestbed({
  appserviceRegistrations: async (ministry) => {
    const name = (Object.keys(HOSTS) as MinistryName[]).find((n) => HOSTS[n].serverName === ministry.serverName);
    if (name === undefined) return [];
    const port = PORTS[name];
    const config = parseConfig({
      homeserver: { server_name: ministry.serverName, url: `http://${ministry.controlAddress}:${name === "c" ? 8018 : 8008}` },
      appservice: {
        bind_address: "0.0.0.0",
        port,
        url: `http://${ministry.address}:${port}`,
        as_token: generateToken(),
        hs_token: generateToken(),
      },
      database: { client: "sqlite", filename: join(ministry.configDir, "appservice.db") },
      federation: { allowlist: ALLOWLIST },
      logging: { level: "debug" },
    });
    const configPath = join(ministry.configDir, "appservice.yaml");
    const registrationPath = join(ministry.configDir, "registration.yaml");
    await writeFile(configPath, yaml.dump(config));
    await writeFile(registrationPath, registrationYaml(config));
    prepared.set(name, { config, configPath });
    return [registrationPath];
  },
});

export interface AppserviceProcess {
  config: AppserviceConfig;
  /** Where the test runner reaches it (the namespace's control address). */
  url: string;
  process: ManagedProcess;
}

export async function startAppservice(ministry: MinistryName): Promise<AppserviceProcess> {
  const testbed = await getTestbed();
  const ready = prepared.get(ministry);
  if (ready === undefined) throw new Error(`no appservice config was prepared for ministry ${ministry}`);
  const url = `http://${HOSTS[ministry].controlAddress}:${ready.config.appservice.port}`;
  const child = testbed.spawnInNamespace(
    HOSTS[ministry].namespace,
    process.execPath,
    ["appservice/src/main.ts", "start", "-c", ready.configPath],
    { logName: `appservice-${ministry}` },
  );
  await waitUntil(
    `appservice of ministry ${ministry}`,
    async () => {
      const res = await fetch(`${url}/_matrix/app/v1/ping`, {
        method: "POST",
        headers: { authorization: `Bearer ${ready.config.appservice.hs_token}`, "content-type": "application/json" },
        body: "{}",
        signal: AbortSignal.timeout(2000),
      });
      return res.status === 200;
    },
    { timeoutMs: 30_000, intervalMs: 100, abortIf: child.exitDescription, hint: `see ${child.logPath}` },
  );
  return { config: ready.config, url, process: child };
}
