// `npm start` in loopback mode, end to end: scripts/demo.ts --check starts both ministries on
// 127.0.0.1, verifies the logins and the meeting room itself, prints its banner and stops. Loopback
// only: it never touches the namespaces the other integration tests use.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LOOPBACK_HOSTS } from "../harness/network.ts";
import { assertPortsFree, portsOf, PortsInUseError } from "../harness/ports.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LOOPBACK_PORTS = portsOf(Object.values(LOOPBACK_HOSTS));

describe("demo (npm start, loopback)", function () {
  this.timeout(90_000);
  let dir: string;

  before(async function () {
    // A demo left running holds the ports: say so plainly rather than fail somewhere inside it.
    await assertPortsFree(LOOPBACK_PORTS).catch((error: unknown) => {
      if (error instanceof PortsInUseError) throw new Error(`stop the running demo first: ${error.message}`);
      throw error;
    });
    dir = await mkdtemp(join(tmpdir(), "visio-demo-test-"));
  });
  after(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("starts, logs alice and bruno in, shows the meeting on both homeservers, and leaves nothing running", async () => {
    const child = spawn(process.execPath, [join(REPO_ROOT, "scripts", "demo.ts"), "--check", "--dir", dir], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | string>((resolve) => child.once("exit", (c, signal) => resolve(c ?? signal ?? "?")));
    assert.equal(code, 0, `demo --check failed:\n${stderr}\n${stdout}`);

    for (const expected of [
      "homeserver for a Matrix client (e.g. Element):  http://127.0.0.1:8008",
      "homeserver for a Matrix client (e.g. Element):  http://127.0.0.1:8009",
      '@alice:localhost:8448  log in as "alice" on http://127.0.0.1:8008',
      '@bruno:localhost:8449  log in as "bruno" on http://127.0.0.1:8009',
      'Accounts (password "visio-demo")',
      "ws://127.0.0.1:7880",
      "ws://127.0.0.1:7890",
      "Visio web client: http://127.0.0.1:8080/",
      "Transcription: one worker per ministry",
      "Whisper base (multilingual) for French meetings, the default; Whisper tiny.en for English ones.",
      "each ministry's transcription worker is registered with its LiveKit",
    ]) {
      assert.ok(stdout.includes(expected), `banner lacks ${JSON.stringify(expected)}:\n${stdout}`);
    }
    assert.match(stdout, /Meeting: #visio-demonstration-[a-z0-9]{4}:localhost:8448 .*created by alice/, "the demo meeting, created as the client creates one");
    // Every server stopped with it: all its ports are free again.
    await assertPortsFree(LOOPBACK_PORTS);
  });
});
