// The main job, in the configuration users run: `npm start -- --netns --postgres --check` starts the
// demo (Synapse, LiveKit with its webhooks, appservice on its own PostgreSQL, Whisper server and
// transcription worker per ministry, the web client) in the namespaces and proves, through the
// protocols clients speak, that a caller of A speaking becomes live subtitles at B, final messages in
// the thread under A's user, the transcript files at stop, and that a kicked member stays out; that a
// meeting of A whose call runs on B's SFU is transcribed by B's worker; and that each appservice's
// store is in its PostgreSQL database, A's holding the meeting and its members' joins. It runs before
// the integration tests (.mocharc.yml), since the demo creates the same namespaces as the shared test bed.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { HOSTS } from "../harness/network.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { sharedTestbedStarted } from "../harness/testbed.ts";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

describe("the main job: npm start -- --netns --postgres --check", function () {
  this.timeout(600_000);
  let dir: string | undefined;
  let failed = false;

  before(async function () {
    if (sharedTestbedStarted()) throw new Error("the shared test bed is running: this file must run before the integration tests (see .mocharc.yml)");
    dir = await mkdtemp(join(tmpdir(), "visio-demo-netns-test-"));
  });
  afterEach(function () {
    failed ||= this.currentTest?.state === "failed";
  });
  after(async () => {
    // A failed run keeps the demo's logs for reading.
    if (dir !== undefined && !failed) await rm(dir, { recursive: true, force: true });
  });

  it("French spoken at A becomes French live subtitles at B and lines in the thread; a kicked member stays out; stop posts the files; a call on B's SFU is transcribed in English by B", async () => {
    const child = spawn(process.execPath, [join(REPO_ROOT, "scripts", "demo.ts"), "--netns", "--postgres", "--check", "--dir", dir ?? ""], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | string>((resolve) => child.once("exit", (c, signal) => resolve(c ?? signal ?? "?")));
    assert.equal(code, 0, `demo --netns --postgres --check failed (logs in ${dir ?? "?"}/logs):\n${stderr.slice(-6000)}\n${stdout.slice(-3000)}`);
    assert.match(stdout, /check: main job OK/);
    // The French call on A's SFU and the English one on B's SFU: each with its WER within its bound, and its files.
    const wers = [...stdout.matchAll(/WER (\d+\.\d+) against the script \(bound (\d+\.\d+)\)/g)].map((m) => ({ wer: Number(m[1]), bound: Number(m[2]) }));
    assert.equal(wers.length, 2, stdout);
    assert.ok(wers.every(({ wer, bound }) => wer <= bound && bound <= 0.3), `WER reported: ${JSON.stringify(wers)}`);
    assert.match(stdout, /call on A's SFU, transcribed by A's worker, @alice:ministry-a\.test speaking recorded French/);
    assert.match(stdout, /call on B's SFU, transcribed by B's worker, @bruno:ministry-b\.test speaking Festival English/);
    assert.match(stdout, /files posted at stop: transcription-[\dTZ-]+\.vtt, transcription-[\dTZ-]+\.md\n/, "a French meeting's files are named in French");
    assert.match(stdout, /files posted at stop: transcript-[\dTZ-]+\.vtt, transcript-[\dTZ-]+\.md\n/);
    const literally = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    // Each appservice on its ministry's PostgreSQL server (in its namespace, on its control address),
    // the same migrations applied; A's store has the meeting, its members and the calls of the main job,
    // B's the call on B's SFU.
    assert.match(stdout, /check: the appservices' stores are in PostgreSQL \(A's holds the meeting and alice's and bruno's joins\)/);
    for (const host of [HOSTS.a, HOSTS.b]) {
      assert.match(stdout, new RegExp(`its store: +PostgreSQL postgres://postgres@${literally(host.controlAddress)}:\\d+/visio_appservice\n`), stdout);
    }
    const [a, b] = [storeRows(stdout, "A"), storeRows(stdout, "B")];
    assert.ok((a.knex_migrations ?? 0) > 0 && a.knex_migrations === b.knex_migrations, `the same migrations in both stores: ${stdout}`);
    for (const table of ["meeting_rooms", "room_members", "as_transactions", "calls"]) assert.ok((a[table] ?? 0) > 0, `A's ${table}: ${stdout}`);
    assert.ok((b.calls ?? 0) > 0, `B's appservice recorded the call on B's SFU: ${stdout}`);
    // The banner says exactly how a person opens the client inside each ministry's network and signs in.
    for (const host of [HOSTS.a, HOSTS.b]) {
      assert.match(stdout, new RegExp(`sudo ip netns exec ${host.namespace} chromium .* http://${literally(host.address)}:8080/\n`), stdout);
      assert.match(stdout, new RegExp(`then sign in: server "${literally(host.serverName)}"`), stdout);
    }
    process.stdout.write(`${stdout.split("\n").filter((line) => line.startsWith("  ")).slice(-12).join("\n")}\n`);
  });
});

// The rows of each table of a ministry's store, from the check's line "  A: postgres://…: N tables: t1 n1, t2 n2, …".
function storeRows(stdout: string, ministry: "A" | "B"): Record<string, number> {
  const line = new RegExp(`^ {2}${ministry}: postgres://\\S+: \\d+ tables: (.*)$`, "m").exec(stdout)?.[1];
  assert.ok(line !== undefined, `no store line for ${ministry}: ${stdout}`);
  return Object.fromEntries(line.split(", ").map((entry) => {
    const [table = "", rows = ""] = entry.split(" ");
    return [table, Number(rows)];
  }));
}
