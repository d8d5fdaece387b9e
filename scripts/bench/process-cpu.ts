// CPU time as Linux accounts it: of processes (all their threads) and of the whole machine, read from
// /proc, so that a bench can say who used what while it ran.
import { readFile } from "node:fs/promises";

// USER_HZ on Linux.
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far; 0 for a process that is gone. */
export async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (stat === undefined) return 0;
  // Fields after the command name (which may hold spaces, hence the split on ") "): utime is the 12th.
  const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** The machine's busy CPU seconds so far, all cores and all processes together (idle and iowait left out). */
export async function machineBusySeconds(): Promise<number> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n")[0] ?? "";
  const [, ...ticks] = line.trim().split(/\s+/).map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SECOND;
}

export interface CpuSnapshot<K extends string> {
  /** performance.now() when read. */
  at: number;
  /** CPU seconds so far of each group of processes, and of the machine. */
  seconds: Record<K | "machine", number>;
}

/** The CPU seconds used so far by each named group of processes, and by the machine. */
export async function cpuSnapshot<K extends string>(groups: Record<K, readonly number[]>): Promise<CpuSnapshot<K>> {
  const seconds = {} as Record<K | "machine", number>;
  for (const name of Object.keys(groups) as K[]) {
    seconds[name] = (await Promise.all(groups[name].map(processCpuSeconds))).reduce((a, b) => a + b, 0);
  }
  seconds.machine = await machineBusySeconds();
  return { at: performance.now(), seconds };
}

/** CPU seconds per second of wall time of each group between two snapshots. */
export function cpuRates<K extends string>(before: CpuSnapshot<K>, after: CpuSnapshot<K>): Record<K | "machine", number> {
  const wall = (after.at - before.at) / 1000;
  const rates = {} as Record<K | "machine", number>;
  for (const name of Object.keys(after.seconds) as (K | "machine")[]) rates[name] = (after.seconds[name] - before.seconds[name]) / wall;
  return rates;
}
