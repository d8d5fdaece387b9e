import { spawn } from "node:child_process";
import { appendFileSync, closeSync, openSync } from "node:fs";
import { join } from "node:path";
import type { RestartPolicy } from "./restart-policy.ts";
import { formatDelay, RestartBackoff } from "./restart-policy.ts";
import { sleep } from "./wait.ts";

export type { RestartPolicy } from "./restart-policy.ts";

export interface SpawnOptions {
  // Merged over the runner's environment, minus proxy variables (see cleanEnvironment).
  env?: Record<string, string>;
  cwd?: string;
  // PostgreSQL only shuts down promptly on SIGINT; everything else takes SIGTERM.
  stopSignal?: NodeJS.Signals;
  // Started again, the same way, whenever it exits without stop() having been called. Off unless
  // given: tests kill processes on purpose and expect them to stay down.
  restart?: RestartPolicy;
}

export interface ManagedProcess {
  readonly name: string;
  // The running process's (with a restart policy, the latest one started).
  readonly pid: number;
  // One file for the whole life of the handle: restarts append to it.
  readonly logPath: string;
  // Resolves with the exit code, or the signal name when killed by a signal; with a restart policy,
  // only once it is down for good (after stop()).
  readonly exited: Promise<number | string>;
  // Undefined while it runs or is about to be restarted.
  exitDescription(): string | undefined;
  stop(): Promise<void>;
}

const GRACE_MS = 4000;

// A proxy would send test traffic out of the machine and, for Synapse, bypass its IP filter.
export function cleanEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /_proxy$/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

// One start of a command; a process under a restart policy has one of these per start.
interface Run {
  readonly pid: number;
  readonly startedAt: number;
  // Resolves with the exit code, the signal name, or the error that kept it from starting.
  readonly ended: Promise<{ outcome: number | string; how: string }>;
  description(): string | undefined;
}

function startRun(name: string, command: string, args: readonly string[], options: SpawnOptions, logPath: string): Run {
  const logFd = openSync(logPath, "a");
  let child;
  try {
    child = spawn(command, args, {
      env: cleanEnvironment(options.env),
      cwd: options.cwd,
      stdio: ["ignore", logFd, logFd],
      // Own process group: a wrapper such as runuser is killed together with what it started.
      detached: true,
    });
  } finally {
    closeSync(logFd);
  }
  const pid = child.pid;
  if (pid === undefined) {
    throw new Error(`could not start ${name} (${command}); see ${logPath}`);
  }
  let description: string | undefined;
  const ended = new Promise<{ outcome: number | string; how: string }>((resolve) => {
    child.once("error", (error) => {
      description = `failed to start: ${error.message}`;
      resolve({ outcome: error.message, how: description });
    });
    child.once("exit", (code, signal) => {
      const outcome = code ?? signal ?? "unknown";
      description = `exited (${outcome})`;
      resolve({ outcome, how: code !== null ? `code ${code}` : `signal ${signal ?? "unknown"}` });
    });
  });
  return { pid, startedAt: Date.now(), ended, description: () => description };
}

// Every child the test bed starts goes through here, so teardown (normal, failed, or on Ctrl-C)
// can find and stop all of them.
export class ProcessGroup {
  readonly logsDir: string;
  // Each handle with what kills it at once, for killAllSync.
  readonly #children = new Map<ManagedProcess, () => void>();

  constructor(logsDir: string) {
    this.logsDir = logsDir;
  }

  spawn(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): ManagedProcess {
    const logPath = join(this.logsDir, `${name}.log`);
    const policy = options.restart;
    const backoff = policy === undefined ? undefined : new RestartBackoff(policy);
    let run = startRun(name, command, args, options, logPath);
    let stopping = false;
    let restarts = 0;
    let pendingRestart: NodeJS.Timeout | undefined;
    let resolveExited: (outcome: number | string) => void = () => undefined;
    const exited = new Promise<number | string>((resolve) => (resolveExited = resolve));
    let lastOutcome: number | string = "unknown";

    // In the process's own log too, so that reading it shows where one run ends and the next begins.
    const announce = (line: string): void => {
      try {
        appendFileSync(logPath, `${new Date().toISOString()} [process group] ${line}\n`);
      } catch {
        // The log directory is gone (run dir removed): the callback still tells.
      }
      policy?.log?.(line);
    };
    const scheduleRestart = (why: string, ranForMs: number): void => {
      if (backoff === undefined) return;
      const delay = backoff.delayAfter(ranForMs);
      restarts += 1;
      announce(`${name} ${why}; restarting in ${formatDelay(delay)} (restart ${restarts})`);
      pendingRestart = setTimeout(() => {
        pendingRestart = undefined;
        if (stopping) return;
        try {
          run = startRun(name, command, args, options, logPath);
          follow(run);
        } catch (error) {
          scheduleRestart(`could not be started again (${error instanceof Error ? error.message : String(error)})`, 0);
        }
      }, delay);
    };
    const follow = (current: Run): void => {
      void current.ended.then(({ outcome, how }) => {
        lastOutcome = outcome;
        if (stopping || backoff === undefined) resolveExited(outcome);
        else scheduleRestart(`exited (${how})`, Date.now() - current.startedAt);
      });
    };
    follow(run);

    const stopSignal = options.stopSignal ?? "SIGTERM";
    const managed: ManagedProcess = {
      name,
      get pid() {
        return run.pid;
      },
      logPath,
      exited,
      exitDescription: () => (backoff === undefined || stopping ? run.description() : undefined),
      stop: async () => {
        stopping = true;
        if (pendingRestart !== undefined) {
          clearTimeout(pendingRestart);
          pendingRestart = undefined;
          resolveExited(lastOutcome);
        } else if (run.description() === undefined) {
          const { pid } = run;
          signalGroup(pid, stopSignal);
          const stoppedInTime = await Promise.race([exited.then(() => true), sleep(GRACE_MS).then(() => false)]);
          if (!stoppedInTime) {
            signalGroup(pid, "SIGKILL");
          }
        }
        await exited;
        this.#children.delete(managed);
      },
    };
    this.#children.set(managed, () => {
      stopping = true;
      clearTimeout(pendingRestart);
      if (run.description() === undefined) signalGroup(run.pid, "SIGKILL");
    });
    return managed;
  }

  spawnInNamespace(
    namespace: string,
    name: string,
    command: string,
    args: readonly string[],
    options: SpawnOptions = {},
  ): ManagedProcess {
    // `ip netns exec` execs the command in place, so the pid we track is the server itself.
    return this.spawn(name, "ip", ["netns", "exec", namespace, command, ...args], options);
  }

  // In a namespace, or directly on this machine when `namespace` is null (loopback topology).
  spawnOn(
    namespace: string | null,
    name: string,
    command: string,
    args: readonly string[],
    options: SpawnOptions = {},
  ): ManagedProcess {
    return namespace === null
      ? this.spawn(name, command, args, options)
      : this.spawnInNamespace(namespace, name, command, args, options);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#children.keys()].map((child) => child.stop()));
  }

  // For process 'exit', where nothing asynchronous runs any more.
  killAllSync(): void {
    for (const killNow of this.#children.values()) killNow();
    this.#children.clear();
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
