// Ministry A's media on two LiveKit nodes in LiveKit's multi-node mode (one Redis, one key set, two
// nodes with their own ports in A's namespace), with A's appservice and transcription workers as in
// production. Shown here: LiveKit places the meetings' rooms on both nodes; the focus's tokens work
// on whichever node a participant reaches (two participants connected through the two nodes' URLs
// hear each other, in rooms hosted by either node); both nodes' webhooks reach the appservice's call
// state (joins and leaves); and a worker registered on each node gets the transcription jobs of rooms
// hosted on both. The test bed's own single-node LiveKit A is left as it is; the appservice gets it
// back at the end.
import assert from "node:assert/strict";
import { join } from "node:path";
import { RoomServiceClient } from "livekit-server-sdk";
import { createCallStore, type CallStore, type Presence } from "../../appservice/src/calls/call-store.ts";
import { liveKitRoomAlias } from "../../appservice/src/focus/livekit-names.ts";
import { openDatabase } from "../../appservice/src/storage/database.ts";
import type { LiveKitPorts } from "../harness/network.ts";
import { HOSTS } from "../harness/network.ts";
import { newLiveKitKeys, startLiveKit } from "../harness/livekit.ts";
import { ProcessGroup } from "../harness/processes.ts";
import { startRedis, type RedisServer } from "../harness/redis.ts";
import type { LiveKitServer, RegisteredUser, Testbed } from "../harness/testbed.ts";
import { getTestbed, toolsFromEnvironment, uniqueLocalpart } from "../harness/testbed.ts";
import { waitUntil } from "../harness/wait.ts";
import { startAppservice, type AppserviceProcess } from "../support/appservice-process.ts";
import type { JsonLineProcess } from "../harness/json-line-process.ts";
import { createMeeting, joinAlias, publishCallMembership, requestFocusToken } from "../harness/matrix-users.ts";
import { startParticipant, type Participant } from "../support/participants.ts";
import { dispatchTranscription, postThreadRoot, spawnWorker, writeWorkerConfig } from "../support/transcription-worker.ts";

const SLOT = "m.call#ROOM";
const SESSION = { language: "en", engine: "openai" };
// Beside the test bed's LiveKit A (7880-7882) in the same namespace.
const NODE_PORTS: readonly LiveKitPorts[] = [
  { port: 7980, rtcTcpPort: 7981, rtcUdpPort: 7982 },
  { port: 7990, rtcTcpPort: 7991, rtcUdpPort: 7992 },
];
// LiveKit's default selector picks a node at random: this many meetings leave both nodes empty-handed
// with a chance of 2^-23.
const MAX_MEETINGS = 24;
// LiveKit's own Redis keys (pkg/routing/redisrouter.go): the live nodes, and which node hosts a room.
const NODES_KEY = "nodes";
const ROOM_NODE_KEY = "room_node_map";

interface PlacedMeeting {
  roomId: string;
  alias: string;
  livekitRoom: string;
  nodeId: string;
}

describe("LiveKit multi-node with Redis (ministry A: two nodes, its focus, webhooks and transcription workers)", function () {
  this.timeout(240_000);
  let testbed: Testbed;
  let processes: ProcessGroup;
  let redis: RedisServer;
  let nodes: LiveKitServer[];
  let nodeIds: string[];
  let appservice: AppserviceProcess;
  let calls: CallStore;
  let closeDb: () => Promise<void>;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  const placed: PlacedMeeting[] = [];
  const participants: Participant[] = [];
  const workers: JsonLineProcess[] = [];

  /** The meeting hosted by this node (the first one placed there). */
  const meetingOn = (nodeId: string): PlacedMeeting => {
    const meeting = placed.find((m) => m.nodeId === nodeId);
    assert.ok(meeting, `a meeting is hosted by node ${nodeId}`);
    return meeting;
  };
  const tokenFor = async (user: RegisteredUser, roomId: string): Promise<{ url: string; jwt: string }> => {
    const res = await requestFocusToken(appservice.url, roomId, testbed.ministries.a, user, SLOT);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return { url: String(res.body.url), jwt: String(res.body.jwt) };
  };

  before(async function () {
    this.timeout(300_000);
    testbed = await getTestbed();
    processes = new ProcessGroup(testbed.logsDir);
    redis = await startRedis({ namespace: HOSTS.a.namespace, dir: join(testbed.runDir, "redis-a"), processes });
    const keys = newLiveKitKeys();
    const binary = toolsFromEnvironment().livekitBinary;
    nodes = await Promise.all(
      NODE_PORTS.map((ports, i) =>
        startLiveKit({
          binary,
          host: HOSTS.a,
          dir: join(testbed.runDir, `livekit-a-node${i + 1}`),
          processes,
          node: { name: `node${i + 1}`, ports, keys, redisAddress: redis.address },
        }),
      ),
    );
    // Each node registers itself in Redis as it starts.
    await waitUntil("both nodes registered in Redis", async () => (await redis.command("HKEYS", NODES_KEY)).length === 2, {
      timeoutMs: 20_000,
      hint: `see ${nodes.map((n) => n.logPath).join(", ")}`,
    });
    nodeIds = await redis.command("HKEYS", NODES_KEY);

    // The focus and the webhook receiver know one LiveKit URL and key: the first node's.
    const [first] = nodes;
    assert.ok(first);
    appservice = await startAppservice("a", { livekit: first });
    const knex = await openDatabase(appservice.config.database);
    calls = createCallStore(knex);
    closeDb = () => knex.destroy();
    const { a } = testbed.ministries;
    alice = await a.registerUser(uniqueLocalpart("alice"));
    bob = await a.registerUser(uniqueLocalpart("bob"));
  });

  after(async () => {
    await Promise.all([...participants, ...workers].map((p) => p.process.stop()));
    await closeDb?.();
    // The nodes before their Redis, which they use until they are down.
    await Promise.all((nodes ?? []).map((node) => node.process.stop()));
    await processes?.stopAll();
    // The other tests' appservice A, on the test bed's LiveKit A.
    if (appservice !== undefined) await startAppservice("a");
  });

  it("places the meetings' rooms on both nodes, as the focus creates them through the first node", async () => {
    const { a } = testbed.ministries;
    const hosting = new Set<string>();
    for (let n = 1; n <= MAX_MEETINGS && hosting.size < 2; n++) {
      const { roomId, alias } = await createMeeting(appservice, a, alice, `Réunion multi-nœud ${n}`);
      // The focus creates the LiveKit room as it issues the first token.
      await tokenFor(alice, roomId);
      const livekitRoom = liveKitRoomAlias(roomId, SLOT);
      const [nodeId] = await redis.command("HGET", ROOM_NODE_KEY, livekitRoom);
      assert.ok(nodeId !== undefined && nodeIds.includes(nodeId), `room ${livekitRoom} is placed on one of the nodes (got ${nodeId})`);
      placed.push({ roomId, alias, livekitRoom, nodeId });
      hosting.add(nodeId);
    }
    assert.deepEqual([...hosting].sort(), [...nodeIds].sort(), `both nodes host rooms after ${placed.length} meetings`);

    // Either node's server API sees every room of the deployment.
    for (const node of nodes) {
      const listed = (await new RoomServiceClient(node.controlUrl, node.apiKey, node.apiSecret).listRooms()).map((r) => r.name);
      for (const meeting of placed) assert.ok(listed.includes(meeting.livekitRoom), `${node.controlUrl} lists ${meeting.livekitRoom}`);
    }
  });

  it("gives the transcription jobs of rooms on both nodes to the workers registered on the two nodes", async () => {
    const { a } = testbed.ministries;
    const configs = await Promise.all(
      nodes.map((node) =>
        writeWorkerConfig(testbed.runDir, {
          livekit: node,
          homeserver: a,
          whisper: testbed.whisper.a,
          asToken: appservice.transcriber.asToken,
          userId: appservice.transcriber.userId,
          maxJobs: 4,
        }),
      ),
    );
    for (const [i, configPath] of configs.entries()) {
      const worker = spawnWorker(testbed, HOSTS.a.namespace, configPath, `bridge-node${i + 1}-${uniqueLocalpart("w")}`);
      workers.push(worker);
      await worker.waitFor(`worker on node ${i + 1} registered`, (r) => r.event === "registered", 60_000);
    }

    const botToken = appservice.config.appservice.as_token;
    const [first] = nodes;
    assert.ok(first);
    const rooms = new RoomServiceClient(first.controlUrl, first.apiKey, first.apiSecret);
    for (const nodeId of nodeIds) {
      const meeting = meetingOn(nodeId);
      const metadata = await postThreadRoot(a, botToken, meeting.roomId, SESSION);
      await dispatchTranscription(first, meeting.livekitRoom, metadata);
      let job: string | undefined;
      let taker: JsonLineProcess | undefined;
      await waitUntil(
        `a worker took the job of the room on node ${nodeId}`,
        async () => {
          for (const worker of workers) {
            const started = (await worker.reports()).find((r) => r.event === "job-started" && r.room === meeting.livekitRoom);
            if (started !== undefined) [job, taker] = [String(started.job), worker];
          }
          return job !== undefined;
        },
        { timeoutMs: 30_000, hint: `see ${workers.map((w) => w.process.logPath).join(", ")}` },
      );
      await taker?.waitFor(`the worker joined the room on node ${nodeId}`, (r) => r.event === "connected" && r.room === meeting.livekitRoom, 30_000);
      // The agent is in the room, as the node hosting it sees it.
      const identities = (await rooms.listParticipants(meeting.livekitRoom)).map((p) => p.identity);
      assert.ok(identities.includes(`visio-transcriber-${job}`), `the job's agent is listed in ${meeting.livekitRoom}: ${identities.join(", ")}`);
    }
  });

  it("connects participants through different nodes into one room on either node, and both nodes' webhooks reach the call state", async () => {
    const { a } = testbed.ministries;
    const [first, second] = nodes;
    assert.ok(first && second);
    for (const nodeId of nodeIds) {
      const meeting = meetingOn(nodeId);
      await joinAlias(a, bob, meeting.alias);
      await publishCallMembership(a, alice, meeting.roomId);
      await publishCallMembership(a, bob, meeting.roomId);
      const aliceToken = await tokenFor(alice, meeting.roomId);
      const bobToken = await tokenFor(bob, meeting.roomId);
      assert.equal(aliceToken.url, first.url, "the focus hands out the first node's URL");

      // Alice through the first node, Bob through the second: one of them reaches a node that does
      // not host the room, and LiveKit routes its signalling to the one that does.
      const speaker = startParticipant(testbed, HOSTS.a.namespace, "publish", first.url, aliceToken.jwt, 120);
      participants.push(speaker);
      await speaker.waitFor("published", 30_000);
      const listener = startParticipant(testbed, HOSTS.a.namespace, "listen", second.url, bobToken.jwt, 50);
      participants.push(listener);
      const heard = await listener.waitFor("received", 30_000);
      assert.equal(heard.from, (await speaker.waitFor("connected")).identity, "Bob hears Alice's microphone");

      // The listener leaves as soon as it heard enough, so the record is read once it is gone: a
      // presence opened by participant_joined for each, Bob's closed by participant_left.
      await listener.process.exited;
      const livekitPresences = async (): Promise<Presence[]> => {
        const call = await calls.activeCall(meeting.roomId);
        if (call === null) return [];
        return (await calls.presences(call.id)).filter((p) => p.source === "livekit" && p.livekitRoom === meeting.livekitRoom);
      };
      await waitUntil(
        `Alice's join, Bob's join and leave in the room on node ${nodeId} recorded from its webhooks`,
        async () => {
          const presences = await livekitPresences();
          const of = (user: RegisteredUser): Presence[] => presences.filter((p) => p.userId === user.userId);
          return of(alice).some((p) => p.leftAt === null) && of(bob).length > 0 && of(bob).every((p) => p.leftAt !== null);
        },
        { timeoutMs: 20_000, hint: `see ${appservice.process.logPath}` },
      );
      await speaker.process.stop();
    }
  });
});
