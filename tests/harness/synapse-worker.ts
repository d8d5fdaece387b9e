// A Synapse worker process (synapse.app.generic_worker) beside a homeserver's main process: it reads
// the main process's config file (database, Redis, instance_map, keys, TLS) plus its own, which names
// it and its listeners. Which requests it serves is up to whoever routes them (a reverse proxy in
// production; here, whoever sends a request to its port).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import yaml from "js-yaml";
import type { ManagedProcess, ProcessGroup } from "./processes.ts";
import type { SynapseServer } from "./synapse.ts";
import { httpStatus, waitUntil } from "./wait.ts";

const STARTUP_TIMEOUT_MS = 120_000;

export interface ListenAddress {
  address: string;
  port: number;
}

export interface SynapseWorkerOptions {
  python: string;
  /** The homeserver's main process, started with `postgres` and `replication` (startSynapse). */
  main: Pick<SynapseServer, "configPath" | "namespace" | "serverName">;
  /** worker_name: unique among the homeserver's processes. */
  name: string;
  /**
   * Its one listener, plain HTTP, with the client-server API and federation (with the server keys):
   * the upstream of the homeserver's reverse proxy, and where the runner sends client requests.
   */
  listen: ListenAddress;
  dir: string;
  processes: ProcessGroup;
}

export interface SynapseWorker {
  name: string;
  /** Its listener (client-server API and federation), plain HTTP. */
  url: string;
  configPath: string;
  logPath: string;
  process: ManagedProcess;
}

export async function startSynapseWorker(options: SynapseWorkerOptions): Promise<SynapseWorker> {
  const { main, name, listen } = options;
  const config = {
    worker_app: "synapse.app.generic_worker",
    worker_name: name,
    worker_listeners: [
      { type: "http", port: listen.port, bind_addresses: [listen.address], tls: false, x_forwarded: true, resources: [{ names: ["client", "federation"], compress: false }] },
    ],
  };
  const configPath = join(options.dir, `${name}.yaml`);
  await writeFile(configPath, yaml.dump(config));
  const child = options.processes.spawnOn(
    main.namespace,
    `synapse-${main.serverName.replaceAll(":", "-")}-${name}`,
    options.python,
    ["-m", "synapse.app.generic_worker", "-c", main.configPath, "-c", configPath],
    { cwd: options.dir },
  );
  const url = `http://${listen.address}:${listen.port}`;
  const waitOptions = { timeoutMs: STARTUP_TIMEOUT_MS, intervalMs: 300, abortIf: child.exitDescription, hint: `see ${child.logPath}` };
  await waitUntil(`Synapse worker ${name} /health`, async () => (await httpStatus(`${url}/health`)).body === "OK", waitOptions);
  await waitUntil(`Synapse worker ${name} /_matrix/client/versions`, async () => (await httpStatus(`${url}/_matrix/client/versions`)).status === 200, waitOptions);
  return { name, url, configPath, logPath: child.logPath, process: child };
}
