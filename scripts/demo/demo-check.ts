// What `npm start -- --check` verifies before the main job, with nothing but HTTP: what a user of a
// Matrix client would do (log in, find the meeting, get a call token, load the web client), and
// that each ministry's transcription worker is registered with its LiveKit.
import { readFile } from "node:fs/promises";
import { matrixRequest, waitUntil, type Host, type ManagedProcess, type Servers } from "@visio/testbed";
import { FOCUS_PATH_PREFIX } from "../../appservice/src/app.ts";
import { clientSecurityHeaders } from "../../config/client-security-headers.ts";
import { ACCOUNTS, MINISTRIES, PASSWORD, type Ministry } from "./accounts.ts";

export interface DemoCheckContext {
  bed: Servers<Ministry>;
  hosts: Record<Ministry, Host>;
  alias: string;
  roomId: string;
  /** The web client on the runner's loopback. */
  clientUrl: string;
}

export async function checkDemo(ctx: DemoCheckContext): Promise<void> {
  const { bed, hosts, alias, roomId } = ctx;
  for (const m of MINISTRIES) {
    const { clientUrl } = bed.ministries[m];
    const response = await fetch(`${clientUrl}/_matrix/client/v3/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user: ACCOUNTS[m].localpart }, password: PASSWORD }),
    });
    if (!response.ok) throw new Error(`login of ${ACCOUNTS[m].localpart} on ${clientUrl}: HTTP ${response.status} ${await response.text()}`);
    const { access_token: token } = (await response.json()) as { access_token: string };
    const resolved = await matrixRequest<{ room_id: string }>(clientUrl, token, "GET", `/_matrix/client/v3/directory/room/${encodeURIComponent(alias)}`);
    if (resolved.room_id !== roomId) throw new Error(`${alias} resolves to ${resolved.room_id} on ${clientUrl}, expected ${roomId}`);
    const joined = await matrixRequest<{ joined_rooms: string[] }>(clientUrl, token, "GET", "/_matrix/client/v3/joined_rooms");
    if (!joined.joined_rooms.includes(roomId)) throw new Error(`${ACCOUNTS[m].localpart} is not in ${roomId}`);
  }
  await checkCallToken(bed, hosts.a, roomId);
  await checkClientServed(ctx.clientUrl);
  const bruno = `@${ACCOUNTS.b.localpart}:${hosts.b.serverName}`;
  const a = bed.ministries.a;
  const admin = await a.registerUser(`check-${Date.now()}`, { admin: true });
  await waitUntil(
    `${bruno} joined on ${a.serverName}`,
    async () => {
      const members = await matrixRequest<{ members: string[] }>(a.clientUrl, admin.accessToken, "GET", `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/members`);
      return members.members.includes(bruno);
    },
    { timeoutMs: 30_000 },
  );
}

// Each worker reports `registered` (one JSON line in its log) once LiveKit accepted it.
export async function checkWorkersRegistered(workers: readonly ManagedProcess[]): Promise<void> {
  for (const worker of workers) {
    await waitUntil(
      `transcription worker registered (${worker.logPath})`,
      async () => (await readFile(worker.logPath, "utf8")).split("\n").some((line) => line.includes('"event":"registered"')),
      { timeoutMs: 60_000, abortIf: worker.exitDescription },
    );
  }
}

// The web client is served, with its security headers: its page and the script it loads.
async function checkClientServed(url: string): Promise<void> {
  const page = await fetch(url);
  const html = await page.text();
  const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
  if (!page.ok || script === undefined) throw new Error(`the web client at ${url}: HTTP ${page.status}, no script in its page`);
  for (const [name, value] of Object.entries(clientSecurityHeaders({ plainHttp: true }))) {
    if (page.headers.get(name) !== value) throw new Error(`the web client at ${url} is served without ${name}: ${value}`);
  }
  const js = await fetch(new URL(script, url));
  if (!js.ok) throw new Error(`the web client's ${script}: HTTP ${js.status}`);
}

// A call can start: alice gets a LiveKit token from A's focus with an OpenID token from A.
async function checkCallToken(bed: Servers<Ministry>, hostA: Host, roomId: string): Promise<void> {
  const { clientUrl } = bed.ministries.a;
  const login = await matrixRequest<{ access_token: string; user_id: string; device_id: string }>(clientUrl, "", "POST", "/_matrix/client/v3/login", {
    type: "m.login.password",
    identifier: { type: "m.id.user", user: ACCOUNTS.a.localpart },
    password: PASSWORD,
  });
  const openid = await matrixRequest(clientUrl, login.access_token, "POST", `/_matrix/client/v3/user/${encodeURIComponent(login.user_id)}/openid/request_token`, {});
  const focusUrl = `http://${hostA.controlAddress}:${hostA.appservicePort}${FOCUS_PATH_PREFIX}/get_token`;
  await waitUntil(
    "a LiveKit token for alice from A's focus",
    async () => {
      const response = await fetch(focusUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          room_id: roomId,
          slot_id: "m.call#ROOM",
          openid_token: openid,
          member: { id: "demo-check", claimed_user_id: login.user_id, claimed_device_id: login.device_id },
        }),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status} ${await response.text()}`);
      return typeof ((await response.json()) as { jwt?: unknown }).jwt === "string";
    },
    { timeoutMs: 30_000 },
  );
}
