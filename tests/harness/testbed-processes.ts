// What startServers runs beside the servers: the namespaces' DNS stubs, and the cleanup that a
// Ctrl-C or a crash of the runner still does.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Topology } from "./network.ts";
import { HOSTS, removeNetwork } from "./network.ts";
import type { ProcessGroup } from "./processes.ts";
import { waitUntil } from "./wait.ts";

const DNS_STUB = fileURLToPath(new URL("./dns-stub.ts", import.meta.url));

// Ctrl-C or an uncaught error must not leave namespaces and servers behind; only synchronous
// work runs in an 'exit' handler, hence the kill-and-delete here rather than the graceful stop.
// Returns the function that uninstalls it.
export function installEmergencyCleanup(
  processes: ProcessGroup,
  { topology, exitOnSignal }: { topology: Topology; exitOnSignal: boolean },
): () => void {
  const cleanup = (): void => {
    processes.killAllSync();
    // Never on loopback: a test run may be using the namespaces at the same time.
    if (topology === "netns") removeNetwork();
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    cleanup();
    process.stderr.write(`\nInterrupted; logs kept in ${processes.logsDir}\n`);
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.on("exit", cleanup);
  if (exitOnSignal) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  return () => {
    process.off("exit", cleanup);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}

export async function startDnsStub(processes: ProcessGroup, namespace: string): Promise<void> {
  const records = Object.values(HOSTS).map((host) => `${host.serverName}=${host.address}`);
  const child = processes.spawnInNamespace(namespace, `dns-${namespace}`, process.execPath, [DNS_STUB, ...records]);
  await waitUntil(
    `DNS stub in ${namespace}`,
    async () => readFileSync(child.logPath, "utf8").includes("dns-stub listening"),
    { timeoutMs: 20_000, intervalMs: 50, abortIf: child.exitDescription, hint: `see ${child.logPath}` },
  );
}
