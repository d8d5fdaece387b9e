// The real appservice, one process per ministry inside its namespace, registered with its Synapse.
// Importing this module registers the appservices with the test bed (before it starts). The work
// itself is in ../harness/appservice.ts, shared with the demo.
import { HOSTS } from "../harness/network.ts";
import type { AppserviceProcess, PreparedAppservice } from "../harness/appservice.ts";
import { prepareAppservice, startAppserviceProcess } from "../harness/appservice.ts";
import { configureTestbed, getTestbed, type MinistryName } from "../harness/testbed.ts";

export type { AppserviceProcess } from "../harness/appservice.ts";

const ALLOWLIST = [HOSTS.a.serverName, HOSTS.b.serverName];

const prepared = new Map<MinistryName, PreparedAppservice>();

configureTestbed({
  appserviceRegistrations: async (ministry) => {
    const name = (Object.keys(HOSTS) as MinistryName[]).find((n) => HOSTS[n].serverName === ministry.serverName);
    if (name === undefined) return [];
    const ready = await prepareAppservice(HOSTS[name], ministry.configDir, { allowlist: ALLOWLIST });
    prepared.set(name, ready);
    return [ready.registrationPath];
  },
});

export async function startAppservice(ministry: MinistryName): Promise<AppserviceProcess> {
  const testbed = await getTestbed();
  const ready = prepared.get(ministry);
  if (ready === undefined) throw new Error(`no appservice config was prepared for ministry ${ministry}`);
  const namespace = HOSTS[ministry].namespace;
  return startAppserviceProcess(
    ready,
    (command, args, options) => testbed.spawnInNamespace(namespace, command, args, options),
    `appservice-${ministry}`,
  );
}
