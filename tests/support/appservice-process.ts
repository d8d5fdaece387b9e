// The real appservice, one process per ministry inside its namespace, registered with its Synapse.
// Importing this module registers the appservices with the test bed (before it starts). The work
// itself is in ../harness/appservice.ts, shared with the demo.
import { HOSTS } from "../harness/network.ts";
import type { AppserviceProcess, PreparedAppservice } from "../harness/appservice.ts";
import { prepareAppservice, startAppserviceProcess, withFocus, withSettings, type FocusSettings, type SectionOverrides } from "../harness/appservice.ts";
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
    return ready.registrationPaths;
  },
});

const running = new Map<MinistryName, AppserviceProcess>();
let starts = 0;

export interface StartOptions {
  /** SFU selection of the focus service (A and B have one, with their own LiveKit); default oldest_membership. */
  sfuSelection?: FocusSettings["sfuSelection"];
  /** Transcription settings other than the defaults (e.g. control_power_level). */
  transcription?: SectionOverrides["transcription"];
  /** Rate limits other than the defaults. */
  rateLimits?: SectionOverrides["rate_limits"];
  /** Another LiveKit of the ministry than the test bed's (a node of a multi-node deployment). */
  livekit?: FocusSettings["livekit"];
}

/**
 * (Re)starts a ministry's appservice: a test file that needs other settings than the previous one
 * gets a fresh process on the same database, as an operator's restart would.
 */
export async function startAppservice(ministry: MinistryName, options: StartOptions = {}): Promise<AppserviceProcess> {
  const testbed = await getTestbed();
  const ready = prepared.get(ministry);
  if (ready === undefined) throw new Error(`no appservice config was prepared for ministry ${ministry}`);
  await running.get(ministry)?.process.stop();
  const livekit = ministry === "c" ? undefined : (options.livekit ?? testbed.livekit[ministry]);
  const withSfu = livekit
    ? await withFocus(ready, {
        livekit,
        caCertPath: testbed.caCertPath,
        sfuSelection: options.sfuSelection ?? "oldest_membership",
      })
    : ready;
  // Written afresh from the prepared config each time: a restart without options gets the defaults back.
  const config =
    options.transcription || options.rateLimits ? await withSettings(withSfu, { transcription: options.transcription, rate_limits: options.rateLimits }) : withSfu;
  const namespace = HOSTS[ministry].namespace;
  starts += 1;
  const started = await startAppserviceProcess(
    config,
    (command, args, spawnOptions) => testbed.spawnInNamespace(namespace, command, args, spawnOptions),
    `appservice-${ministry}-${starts}`,
  );
  running.set(ministry, started);
  return started;
}
