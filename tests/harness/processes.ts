import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { sleep } from "./wait.ts";

export interface SpawnOptions {
  // Merged over the runner's environment, minus proxy variables (see cleanEnvironment).
  env?: Record<string, string>;
  cwd?: string;
  // PostgreSQL only shuts down promptly on SIGINT; everything else takes SIGTERM.
  stopSignal?: NodeJS.Signals;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  // Resolves with the exit code, or the signal name when killed by a signal.
  readonly exited: Promise<number | string>;
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

// Every child the test bed starts goes through here, so teardown (normal, failed, or on Ctrl-C)
// can find and stop all of them.
export class ProcessGroup {
  readonly logsDir: string;
  readonly #children = new Set<ManagedProcess>();

  constructor(logsDir: string) {
    this.logsDir = logsDir;
  }

  spawn(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): ManagedProcess {
    const logPath = join(this.logsDir, `${name}.log`);
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
    let exitDescription: string | undefined;
    const exited = new Promise<number | string>((resolve) => {
      child.once("error", (error) => {
        exitDescription = `failed to start: ${error.message}`;
        resolve(error.message);
      });
      child.once("exit", (code, signal) => {
        const outcome = code ?? signal ?? "unknown";
        exitDescription = `exited (${outcome})`;
        resolve(outcome);
      });
    });
    const stopSignal = options.stopSignal ?? "SIGTERM";
    const managed: ManagedProcess = {
      name,
      pid,
      logPath,
      exited,
      exitDescription: () => exitDescription,
      stop: async () => {
        if (exitDescription === undefined) {
          signalGroup(pid, stopSignal);
          const stoppedInTime = await Promise.race([exited.then(() => true), sleep(GRACE_MS).then(() => false)]);
          if (!stoppedInTime) {
            signalGroup(pid, "SIGKILL");
            await exited;
          }
        }
        this.#children.delete(managed);
      },
    };
    this.#children.add(managed);
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
    await Promise.all([...this.#children].map((child) => child.stop()));
  }

  // For process 'exit', where nothing asynchronous runs any more.
  killAllSync(): void {
    for (const child of this.#children) {
      if (child.exitDescription() === undefined) signalGroup(child.pid, "SIGKILL");
    }
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
