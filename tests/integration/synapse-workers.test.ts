// A ministry's homeserver scaled out with a Synapse worker: the main process and one
// synapse.app.generic_worker share a PostgreSQL database (Debian's, in A's namespace) and a Redis
// (the replication stream), as Synapse requires for workers. nginx on the server name's federation
// port routes as an admin's reverse proxy does: inbound federation to the worker, except the OpenID
// userinfo check, which only the main process can answer (MAIN_PROCESS_FEDERATION_PATHS); the test
// sends its client reads (/sync) to the worker's port, everything else to the main process, which
// also sends the appservice its transactions. Our parts work through it: the appservice (on the same
// PostgreSQL) learns the joins from the main process's transactions, a user of B joins a meeting over
// federation through the worker, the focus verifies callers and hands out LiveKit tokens, and a /sync
// long-poll on the worker gets the call membership that the main process wrote, woken by replication.
//
// A homeserver of its own beside the test bed's Synapse A, in A's namespace: server name
// ministry-a.test:8458 (nginx), a certificate from the run's CA (so Synapse B federates with it), its
// own appservice; LiveKit is the test bed's LiveKit A.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Knex } from "knex";
import { FOCUS_PATH_PREFIX } from "../../appservice/src/app.ts";
import { openDatabase } from "../../appservice/src/storage/database.ts";
import { createStore, type Store } from "../../appservice/src/storage/store.ts";
import { prepareAppservice, startAppserviceProcess, withFocus, withSettings, type AppserviceProcess } from "../harness/appservice.ts";
import { issueCertificate } from "../harness/ca.ts";
import { MAIN_PROCESS_FEDERATION_PATHS, ROUTED_LINE, startFederationRouter, type FederationRouter } from "../harness/federation-router.ts";
import { matrixRequest } from "../harness/matrix-client.ts";
import { callMembershipPath, createMeeting, joinAlias, publishCallMembership, requestFocusToken, waitForJoins } from "../harness/matrix-users.ts";
import { FEDERATION_WHITELIST, HOSTS, type Host } from "../harness/network.ts";
import { POSTGRES_USER, startPostgres } from "../harness/postgres.ts";
import { ProcessGroup } from "../harness/processes.ts";
import { startRedis } from "../harness/redis.ts";
import { startSynapse, type SynapseServer } from "../harness/synapse.ts";
import { startSynapseWorker, type SynapseWorker } from "../harness/synapse-worker.ts";
import type { RegisteredUser, Testbed } from "../harness/testbed.ts";
import { getTestbed, toolsFromEnvironment, uniqueLocalpart } from "../harness/testbed.ts";

const FEDERATION_PORT = 8458;
// Ports beside the test bed's (8448, 8008, 9000, 443) in A's namespace.
const HOME: Host = {
  serverName: `${HOSTS.a.hostname}:${FEDERATION_PORT}`,
  hostname: HOSTS.a.hostname,
  namespace: HOSTS.a.namespace,
  address: HOSTS.a.address,
  controlAddress: HOSTS.a.controlAddress,
  // The main process's own TLS listener (client and federation): nginx's upstream for what stays on it.
  federationPort: 8468,
  controlPort: 8028,
  appservicePort: 9010,
};
const WORKER_PORT = 8038;
const REPLICATION_PORT = 9093;
const CALL_MEMBER_EVENT = "org.matrix.msc3401.call.member";

interface SyncResponse {
  next_batch: string;
  rooms?: { join?: Record<string, { timeline?: { events: RoomEvent[] } }> };
}
interface RoomEvent {
  type: string;
  state_key?: string;
  sender: string;
  content: Record<string, unknown>;
}
interface Routed {
  method: string;
  path: string;
  status: number;
  upstream: string;
}

describe("Synapse with a worker process (PostgreSQL, Redis, nginx): the appservice, federation, the focus and /sync through it", function () {
  this.timeout(240_000);
  let testbed: Testbed;
  let processes: ProcessGroup;
  let main: SynapseServer;
  let worker: SynapseWorker;
  let router: FederationRouter;
  let appservice: AppserviceProcess;
  let store: Store;
  let db: Knex | undefined;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let meeting: { roomId: string; alias: string };
  const mainUpstream = `${HOME.address}:${HOME.federationPort}`;
  const workerUpstream = `${HOME.controlAddress}:${WORKER_PORT}`;

  /** What nginx routed so far, from its access log. */
  const routed = async (): Promise<Routed[]> =>
    (await readFile(router.logPath, "utf8")).split("\n").flatMap((line) => {
      const match = ROUTED_LINE.exec(line);
      return match ? [{ method: match[1] ?? "", path: match[2] ?? "", status: Number(match[3]), upstream: match[4] ?? "" }] : [];
    });

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    const tools = toolsFromEnvironment();
    const dir = join(testbed.runDir, "synapse-workers");
    await mkdir(join(dir, "appservice"), { recursive: true });
    processes = new ProcessGroup(testbed.logsDir);
    const [certificate, postgres, redis] = await Promise.all([
      issueCertificate(testbed.caCertPath, join(dir, "tls"), { hostname: HOME.hostname }),
      startPostgres({ binDir: tools.postgresBinDir, dir: join(dir, "postgres"), processes, namespace: HOME.namespace, address: HOME.controlAddress, logName: "postgres-synapse-workers" }),
      startRedis({ namespace: HOME.namespace, dir: join(dir, "redis"), processes }),
    ]);
    const synapseDatabase = "synapse";
    await postgres.createDatabase(synapseDatabase, { locale: "C" });
    const appserviceConnection = await postgres.createDatabase("visio_appservice");

    const prepared = await prepareAppservice(HOME, join(dir, "appservice"), { allowlist: [HOME.serverName, HOSTS.b.serverName] });
    const withCalls = await withFocus(prepared, { livekit: testbed.livekit.a, caCertPath: testbed.caCertPath, sfuSelection: "oldest_membership" });
    const ready = await withSettings(withCalls, { database: { client: "postgres", filename: "", connection: appserviceConnection } });
    const [redisHost = "", redisPort = ""] = redis.address.split(":");
    main = await startSynapse({
      python: tools.synapsePython,
      host: HOME,
      dir: join(dir, "synapse"),
      federationWhitelist: FEDERATION_WHITELIST.netns,
      caCertPath: testbed.caCertPath,
      certPath: certificate.certPath,
      keyPath: certificate.keyPath,
      appserviceConfigFiles: ready.registrationPaths,
      rtcTransportUrl: `http://${HOME.address}:${HOME.appservicePort}${FOCUS_PATH_PREFIX}`,
      postgres: { host: postgres.address, port: postgres.port, user: POSTGRES_USER, database: synapseDatabase },
      replication: { redis: { host: redisHost, port: Number(redisPort) }, port: REPLICATION_PORT, secret: randomBytes(24).toString("hex") },
      processes,
    });
    worker = await startSynapseWorker({
      python: tools.synapsePython,
      main,
      name: "generic1",
      listen: { address: HOME.controlAddress, port: WORKER_PORT },
      dir: join(dir, "synapse"),
      processes,
    });
    router = await startFederationRouter({
      namespace: HOME.namespace,
      listen: { address: HOME.address, port: FEDERATION_PORT },
      certificate,
      worker: worker.url,
      main: `https://${mainUpstream}`,
      dir: join(dir, "nginx"),
      processes,
    });
    appservice = await startAppserviceProcess(
      ready,
      (command, args, options) => processes.spawnOn(HOME.namespace, options.logName, command, args, { cwd: options.cwd }),
      "appservice-synapse-workers",
    );
    db = await openDatabase(appservice.config.database);
    store = createStore(db);
    [alice, bob] = await Promise.all([main.registerUser(uniqueLocalpart("alice")), testbed.ministries.b.registerUser(uniqueLocalpart("bob"))]);
  });

  after(async () => {
    await db?.destroy();
    // Synapse's processes before the PostgreSQL and Redis they use until they are down.
    await Promise.all([appservice, router, worker, main].map((server) => server?.process.stop()));
    await processes?.stopAll();
  });

  it("the appservice gets its transactions from the main process; the focus's OpenID check is routed to the main process", async () => {
    // The meetings API checks alice's OpenID token at ministry-a.test:8458, as the focus does.
    meeting = await createMeeting(appservice, main, alice, "Réunion sur un Synapse à workers");
    await waitForJoins(store, meeting.roomId, [alice]);
    const [transactions] = (await db?.("as_transactions").count<{ count: string }[]>({ count: "*" })) ?? [];
    assert.ok(Number(transactions?.count) > 0, "the appservice recorded the main process's transactions in PostgreSQL");
    const userinfo = (await routed()).filter((r) => MAIN_PROCESS_FEDERATION_PATHS.some((path) => r.path === path));
    assert.ok(userinfo.length > 0, `nginx routed the OpenID check (see ${router.logPath})`);
    assert.ok(userinfo.every((r) => r.upstream === mainUpstream && r.status === 200), JSON.stringify(userinfo));
  });

  it("a user of B joins over federation: B's requests (server keys, make_join, send_join) are served by the worker", async () => {
    await joinAlias(testbed.ministries.b, bob, meeting.alias);
    await waitForJoins(store, meeting.roomId, [alice, bob]);
    const federation = (await routed()).filter((r) => !MAIN_PROCESS_FEDERATION_PATHS.some((path) => r.path === path));
    for (const kind of ["/_matrix/key/v2/server", "/make_join/", "/send_join/"]) {
      const served = federation.filter((r) => r.path.includes(kind));
      assert.ok(served.length > 0 && served.every((r) => r.upstream === workerUpstream && r.status === 200), `${kind}: ${JSON.stringify(served)}`);
    }
  });

  it("a /sync long-poll on the worker gets the call membership that the main process writes (replication over Redis); the focus hands out LiveKit tokens to A's and B's callers", async () => {
    const { roomId } = meeting;
    const initial = await matrixRequest<SyncResponse>(worker.url, alice.accessToken, "GET", "/_matrix/client/v3/sync?timeout=0");
    assert.ok(initial.rooms?.join?.[roomId], "the worker's first /sync lists the meeting");
    const longPoll = matrixRequest<SyncResponse>(worker.url, alice.accessToken, "GET", `/_matrix/client/v3/sync?timeout=20000&since=${encodeURIComponent(initial.next_batch)}`);
    const membershipKey = decodeURIComponent(callMembershipPath(roomId, alice).split("/").pop() ?? "");
    await publishCallMembership(main, alice, roomId);
    const events = (await longPoll).rooms?.join?.[roomId]?.timeline?.events ?? [];
    const member = events.find((event) => event.type === CALL_MEMBER_EVENT && event.state_key === membershipKey);
    assert.ok(member, `the worker's long-poll returned alice's call membership: ${JSON.stringify(events.map((e) => e.type))}`);
    assert.equal(member.sender, alice.userId);
    assert.equal(member.content.device_id, alice.deviceId);

    for (const [user, server] of [[alice, main], [bob, testbed.ministries.b]] as const) {
      const token = await requestFocusToken(appservice.url, roomId, server, user);
      assert.equal(token.status, 200, `${user.userId}: ${JSON.stringify(token.body)}`);
      assert.equal(token.body.url, testbed.livekit.a.url);
      assert.equal(typeof token.body.jwt, "string");
    }
  });
});
