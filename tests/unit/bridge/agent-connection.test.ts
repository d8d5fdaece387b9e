import { strict as assert } from "node:assert";
import { Job, JobStatus, JobType, Room, ServerMessage, type JobAssignment } from "@livekit/protocol";
import { AgentConnection, agentEndpoint, type AgentConnectionHandlers } from "../../../bridge/src/agent/agent-connection.ts";
import { FakeAgentServer } from "../../../bridge/src/agent/testing/fake-agent-server.ts";

const KEY = "devkey";
const SECRET = "s".repeat(40);

describe("LiveKit agent protocol connection", function () {
  let server: FakeAgentServer;
  let connection: AgentConnection | undefined;

  beforeEach(() => {
    server = new FakeAgentServer(KEY, SECRET);
  });
  afterEach(async () => {
    await connection?.close();
    await server.close();
  });

  const connect = async (handlers: Partial<AgentConnectionHandlers>, options: { apiSecret?: string; pingIntervalMs?: number } = {}): Promise<AgentConnection> => {
    const url = await server.listen();
    connection = new AgentConnection({
      url,
      apiKey: KEY,
      apiSecret: options.apiSecret ?? SECRET,
      agentName: "visio-transcriber",
      permissions: { canSubscribe: true, canPublish: false, canPublishData: true, hidden: true },
      version: "1",
      pingIntervalMs: options.pingIntervalMs,
      minBackoffMs: 20,
      maxBackoffMs: 100,
    });
    connection.start({
      availability: () => ({ available: false, reason: "test" }),
      assignment: () => undefined,
      termination: () => undefined,
      ...handlers,
    });
    return connection;
  };

  const job = (id: string, metadata = "{}"): Job => new Job({ id, type: JobType.JT_ROOM, room: new Room({ name: "lk-room" }), metadata, agentName: "visio-transcriber" });

  it("names the agent endpoint of a LiveKit URL", () => {
    assert.equal(agentEndpoint("ws://lk.test:7880"), "ws://lk.test:7880/agent");
    assert.equal(agentEndpoint("https://lk.test/base/"), "wss://lk.test/base/agent");
  });

  it("registers for room jobs under the agent name, hidden and without media, then reports its load", async () => {
    const registered: string[] = [];
    const c = await connect({ registered: (id) => registered.push(id) });
    const register = await server.waitFor((m) => m.message.case === "register");
    assert.equal(register.message.case, "register");
    const request = register.message.value;
    assert.equal(request.type, JobType.JT_ROOM);
    assert.equal(request.agentName, "visio-transcriber");
    assert.deepEqual(
      { ...request.allowedPermissions, hidden: request.allowedPermissions?.hidden },
      { ...request.allowedPermissions, canSubscribe: true, canPublish: false, canPublishData: true, hidden: true, canUpdateMetadata: false },
    );
    assert.equal(c.registered, false, "not registered before the server says so");
    server.send(new ServerMessage({ message: { case: "register", value: { workerId: "AW_1" } } }));
    const status = await server.waitFor((m) => m.message.case === "updateWorker");
    assert.deepEqual(registered, ["AW_1"]);
    assert.equal(c.registered, true);
    assert.equal(status.message.case === "updateWorker" && status.message.value.jobCount, 0);
  });

  it("answers availability with the handler's decision, passes assignments and terminations on, and reports job status", async () => {
    const assignments: JobAssignment[] = [];
    const terminated: string[] = [];
    const c = await connect({
      availability: (j) => (j.id === "AJ_yes" ? { available: true, identity: "visio-transcriber-AJ_yes", name: "Transcription" } : { available: false, reason: "no" }),
      assignment: (a) => assignments.push(a),
      termination: (id) => terminated.push(id),
    });
    await server.waitFor((m) => m.message.case === "register");
    server.send(new ServerMessage({ message: { case: "register", value: { workerId: "AW_1" } } }));
    server.send(new ServerMessage({ message: { case: "availability", value: { job: job("AJ_yes"), resuming: false } } }));
    server.send(new ServerMessage({ message: { case: "availability", value: { job: job("AJ_no"), resuming: false } } }));
    const yes = await server.waitFor((m) => m.message.case === "availability" && m.message.value.jobId === "AJ_yes");
    const no = await server.waitFor((m) => m.message.case === "availability" && m.message.value.jobId === "AJ_no");
    assert.ok(yes.message.case === "availability" && no.message.case === "availability");
    assert.equal(yes.message.value.available, true);
    assert.equal(yes.message.value.participantIdentity, "visio-transcriber-AJ_yes");
    assert.equal(yes.message.value.participantName, "Transcription");
    assert.equal(no.message.value.available, false);

    server.send(new ServerMessage({ message: { case: "assignment", value: { job: job("AJ_yes"), token: "room-jwt", url: "ws://elsewhere" } } }));
    server.send(new ServerMessage({ message: { case: "termination", value: { jobId: "AJ_yes" } } }));
    const deadline = Date.now() + 3000;
    while (terminated.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    c.updateJob("AJ_yes", JobStatus.JS_RUNNING);
    const update = await server.waitFor((m) => m.message.case === "updateJob");
    assert.ok(update.message.case === "updateJob");
    assert.equal(update.message.value.status, JobStatus.JS_RUNNING);
    assert.deepEqual(assignments.map((a) => [a.job?.id, a.token, a.url]), [["AJ_yes", "room-jwt", "ws://elsewhere"]]);
    assert.deepEqual(terminated, ["AJ_yes"]);
  });

  it("pings while registered and reconnects and registers again when the connection drops", async () => {
    const lost: string[] = [];
    const c = await connect({ disconnected: (reason) => lost.push(reason) }, { pingIntervalMs: 50 });
    await server.waitFor((m) => m.message.case === "register");
    server.send(new ServerMessage({ message: { case: "register", value: { workerId: "AW_1" } } }));
    await server.waitFor((m) => m.message.case === "ping");
    c.updateStatus(0.5, 1, false);
    server.drop();
    const registrations = (): number => server.received.filter((m) => m.message.case === "register").length;
    await server.waitFor(() => registrations() === 2);
    assert.equal(server.connections, 2);
    assert.equal(lost.length, 1);
    server.send(new ServerMessage({ message: { case: "register", value: { workerId: "AW_2" } } }));
    // The load set while connected is reported again to the new registration.
    const status = await server.waitFor((m) => m.message.case === "updateWorker" && m.message.value.jobCount === 1);
    assert.ok(status.message.case === "updateWorker");
    assert.equal(status.message.value.load, 0.5);
  });

  it("keeps retrying, with backoff, while the server refuses its token", async () => {
    const lost: Array<[string, number]> = [];
    await connect({ disconnected: (reason, delay) => lost.push([reason, delay]) }, { apiSecret: "w".repeat(40) });
    const deadline = Date.now() + 3000;
    while (lost.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(lost.length >= 3, `retried ${lost.length} times`);
    assert.match(lost[0]?.[0] ?? "", /401/);
    assert.deepEqual(lost.slice(0, 3).map(([, delay]) => delay), [20, 40, 80]);
    assert.equal(server.connections, 0);
  });
});
