// Loaded by .mocharc.yml for every run. Servers start lazily (getTestbed), so a unit-only run
// costs nothing here; whatever was started is torn down once, after the last test.
import { stopSharedTestbed } from "./testbed.ts";

let anyFailure = false;

// Mocha calls global fixtures with the Runner as `this`; its 'fail' event also covers failing hooks.
export function mochaGlobalSetup(this: Mocha.Runner): void {
  this.on("fail", () => {
    anyFailure = true;
  });
}

export async function mochaGlobalTeardown(): Promise<void> {
  const keptLogs = await stopSharedTestbed({ keepRunDir: anyFailure });
  if (keptLogs !== undefined) {
    process.stderr.write(`\nTest bed logs kept in ${keptLogs}\n`);
  }
}
